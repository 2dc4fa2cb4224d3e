import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * .env.example lists every variable src/config.ts reads, so a setting added
 * there without a line here fails. Read from the source: loadConfig() takes
 * each variable by name through int/bool/str(env, 'NAME', …).
 */
const root = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

describe('.env.example', () => {
  it('names every setting of src/config.ts with its default', () => {
    const names = [...read('src/config.ts').matchAll(/\b(?:int|bool|str)\(env, '([A-Z0-9_]+)'(?:, ([^,)]+))?/g)];
    expect(names.length).toBeGreaterThan(25);
    const example = read('.env.example');
    const lines = new Map([...example.matchAll(/^# ([A-Z0-9_]+)=(\S*)/gm)].map((m) => [m[1]!, m[2]!]));
    for (const [, name, fallback] of names) {
      expect({ name, listed: lines.has(name!) }).toEqual({ name, listed: true });
      const numeric = fallback?.replace(/_/g, '');
      if (numeric && /^\d+$/.test(numeric)) expect({ name, default: lines.get(name!) }).toEqual({ name, default: numeric });
    }
  });
});
