import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A relative import that reaches `name` (a folder or a top-level file of src/) from anywhere below src/. */
const up = (name) => `^(\\.\\./)+${name}(/|$)`;

/** A neighbouring folder inside the same parent (rooms/date → rooms/cluster). */
const sibling = (name) => `^\\.\\./${name}(/|$)`;
const roomsForbid = [up('handlers'), up('modules'), up('server'), up('app'), up('index')];

function layers(rules) {
  return rules.map(({ files, forbid, why }) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { patterns: forbid.map((regex) => ({ regex, message: `wrong-way import: ${why}` })) }] },
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'data/**', 'node_modules/**', 'coverage/**', 'public/**', '*.config.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // Imports run one way: index → app → modules → handlers → rooms → models → timers, config, errors,
  // logger; protocol/ is the wire vocabulary every layer speaks and imports nothing of ours.
  ...layers([
    { files: ['src/protocol/**'], forbid: ['\\.\\./'], why: 'protocol/ imports nothing of ours' },
    // The client ships to other programs: it may know the wire contract and the browser's position function, nothing of the server.
    { files: ['src/client/**'], forbid: ['^\\.\\./(?!protocol/|\\.\\./public/queue-position\\.js$)'], why: 'client/ speaks only the wire contract (protocol/)' },
    { files: ['src/handlers/**'], forbid: [up('modules'), up('app'), up('index')], why: 'handlers/ are called by modules/, never the reverse' },
    { files: ['src/rooms/*.ts', 'src/rooms/cluster/**'], forbid: roomsForbid, why: 'rooms/ know no transport: handlers/ and modules/ call them' },
    // Inside rooms/: cluster/ routes to the date rooms; the date actor and the waiting room know neither cluster/ nor each other.
    { files: ['src/rooms/date/**'], forbid: [...roomsForbid, sibling('cluster'), sibling('queue')], why: 'rooms/date knows no transport, cluster or queue (it defines the ports they fill)' },
    { files: ['src/rooms/queue/**'], forbid: [...roomsForbid, sibling('cluster'), sibling('date')], why: 'rooms/queue knows no transport, cluster or date room' },
    { files: ['src/models/**'], forbid: [up('rooms'), up('handlers'), up('modules'), up('server'), up('app'), up('index')], why: 'models/ are called by rooms/ and handlers/, never the reverse' },
    { files: ['src/timers/**'], forbid: [up('models'), up('rooms'), up('handlers'), up('modules'), up('server'), up('app'), up('index')], why: 'timers/ are mechanisms that everything above uses' },
  ]),
  {
    // Worker threads are plain CommonJS (started without a loader); `// @ts-check` types them, so undefined names fail tsc.
    files: ['src/**/*.js'],
    rules: { 'no-undef': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests read loosely-typed JSON replies; `any` there is the reply, not our code.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
