// `npm start`'s prestart: compile only when something the build reads is newer than its last
// build. Loading the TypeScript compiler just to learn that dist/ is current costs about a
// second; a walk of src/ costs milliseconds. When stale, `tsc -b` rebuilds incrementally.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.tsbuildinfo');

function newest(file) {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(file).reduce((max, name) => Math.max(max, newest(path.join(file, name))), stat.mtimeMs);
}

function builtAt() {
  try {
    return statSync(stamp).mtimeMs;
  } catch {
    return -1;
  }
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.client.json', 'package-lock.json'].map((f) => path.join(root, f));
if (builtAt() < Math.max(...inputs.map(newest))) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json', 'tsconfig.client.json', '--verbose'], { cwd: root, stdio: 'inherit' });
}
