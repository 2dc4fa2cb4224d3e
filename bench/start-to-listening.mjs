// Times `npm start` (or the command given) from spawn to the server's "listening on" log line,
// prints the milliseconds, then stops the server with SIGTERM and waits for it to exit.
// Run from the repository root:
//   DATABASE_URL=postgres://... PORT=3999 node bench/start-to-listening.mjs [command ...]
import { spawn } from 'node:child_process';

const command = process.argv.length > 2 ? process.argv.slice(2) : ['npm', 'start'];
const started = process.hrtime.bigint();
// Its own process group, so SIGTERM reaches npm, its shell and the server together.
const child = spawn(command[0], command.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
let seen = '';
let listening = false;
const timeout = setTimeout(() => {
  console.error('no "listening on" line within 60 s');
  process.exitCode = 1;
  signal('SIGKILL');
}, 60_000);

// Read to the end: a server whose stdout pipe is closed under it cannot log its shutdown.
child.stdout.on('data', (chunk) => {
  if (listening) return;
  seen = (seen + chunk.toString()).slice(-4096);
  if (!seen.includes('listening on')) return;
  listening = true;
  console.log(`listening after ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms`);
  clearTimeout(timeout);
  signal('SIGTERM');
});
// Done when every process holding the pipe (npm, its shell, the server) has exited, so the next
// run does not find the port still held by a server that is shutting down.
child.stdout.on('close', () => {
  clearTimeout(timeout);
  if (!listening) {
    console.error(`exited with ${child.exitCode} before listening`);
    process.exitCode = 1;
  }
});

function signal(name) {
  try {
    process.kill(-child.pid, name);
  } catch {
    // already gone
  }
}
