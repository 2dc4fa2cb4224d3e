/**
 * The cost of a password hash and of a login, here: `npx tsx bench/password-hash.ts [iterations]`.
 *
 * 1. scrypt alone at the configured defaults (SCRYPT_COST, SCRYPT_BLOCK_SIZE), one at a time,
 *    and 2 at once (the thread pool has 4 threads; the machine 2 cores).
 * 2. Logins through a real server (createApp on a fresh database, default parameters): one at
 *    a time over HTTP, with the right password, a wrong one and an unknown name. The per-IP
 *    budget is lifted and the wrong passwords are spread over accounts (under 10 failures each),
 *    and every answer's status is checked: a budget's 429 is not a login.
 */
import os from 'node:os';
import { loadConfig } from '../src/config';
import { Passwords } from '../src/passwords';
import { scratchApp } from './lib/scratch-app';

const N = Number(process.argv[2] ?? 40);

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
/** Wall times, and this process's CPU (every thread: scrypt runs on libuv's pool) per call. */
const summary = ({ ms, cpuMs }: { ms: number[]; cpuMs: number }) => ({
  n: ms.length,
  p50: percentile(ms, 50).toFixed(1),
  p95: percentile(ms, 95).toFixed(1),
  max: Math.max(...ms).toFixed(1),
  'CPU ms/call': (cpuMs / ms.length).toFixed(1),
});

async function timed(n: number, once: () => Promise<unknown>): Promise<{ ms: number[]; cpuMs: number }> {
  const ms: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await once();
    ms.push(performance.now() - started);
  }
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  const config = loadConfig({ JWT_SECRET: 'bench-secret-0123456789-0123456789', LOG_LEVEL: 'warn', SEED_DEMO: 'false', RATE_LIMIT_PER_IP: '1000000' });
  const passwords = new Passwords({ cost: config.scryptCost, blockSize: config.scryptBlockSize });
  await passwords.hash('warm up');
  const rows: Record<string, ReturnType<typeof summary>> = {};
  rows[`hash N=${config.scryptCost} r=${config.scryptBlockSize}, 1 at a time (ms)`] = summary(await timed(N, () => passwords.hash('a password of some length')));
  rows['hash, 2 at once (ms and CPU per pair)'] = summary(await timed(N / 2, () => Promise.all([passwords.hash('one password'), passwords.hash('another password')])));

  const { base, close } = await scratchApp(config);
  try {
    const post = (path: string, body: unknown, expected: number) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
        const text = await r.text();
        if (r.status !== expected) throw new Error(`${path} answered ${r.status}, not ${expected}: ${text}`);
      });
    // Failed logins are limited to 10 per name: the wrong passwords go to 8 per account.
    const accounts = Array.from({ length: Math.ceil(N / 8) }, (_, i) => `bench-${i}`);
    for (const name of accounts) await post('/users', { name, password: 'the right password' }, 201);
    let i = 0;
    rows['login over HTTP, right password (ms)'] = summary(await timed(N, () => post('/sessions', { name: 'bench-0', password: 'the right password' }, 200)));
    rows['login over HTTP, wrong password (ms)'] = summary(await timed(N, () => post('/sessions', { name: accounts[i++ % accounts.length], password: 'a wrong password' }, 401)));
    rows['login over HTTP, unknown name (ms)'] = summary(await timed(N, () => post('/sessions', { name: `nobody-${i++}`, password: 'a wrong password' }, 401)));
  } finally {
    await close();
  }
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  console.table(rows);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
