/**
 * The cost of a password hash and of a login, here: `npx tsx bench/password-hash.ts [iterations]`.
 *
 * 1. scrypt alone at the configured defaults (SCRYPT_COST, SCRYPT_BLOCK_SIZE), one at a time,
 *    and 2 at once (the thread pool has 4 threads; the machine 2 cores).
 * 2. Logins through a real server (createApp on a fresh database, default parameters): one at
 *    a time over HTTP, with the right password, a wrong one and an unknown name.
 */
import { Client } from 'pg';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { openDatabase } from '../src/models/database';
import { Passwords } from '../src/passwords';

const ADMIN_URL = process.env['TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.argv[2] ?? 40);

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const summary = (xs: number[]) => ({ n: xs.length, p50: percentile(xs, 50).toFixed(1), p95: percentile(xs, 95).toFixed(1), max: Math.max(...xs).toFixed(1) });

async function timed(n: number, once: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await once();
    ms.push(performance.now() - started);
  }
  return ms;
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(sql);
  await client.end();
}

async function main(): Promise<void> {
  const config = loadConfig({ JWT_SECRET: 'bench-secret-0123456789-0123456789', LOG_LEVEL: 'warn', SEED_DEMO: 'false' });
  const passwords = new Passwords({ cost: config.scryptCost, blockSize: config.scryptBlockSize });
  await passwords.hash('warm up');
  const rows: Record<string, ReturnType<typeof summary>> = {};
  rows[`hash N=${config.scryptCost} r=${config.scryptBlockSize}, 1 at a time (ms)`] = summary(await timed(N, () => passwords.hash('a password of some length')));
  rows['hash, 2 at once (ms per pair)'] = summary(await timed(N / 2, () => Promise.all([passwords.hash('one password'), passwords.hash('another password')])));

  const db = `tix_bench_login_${Date.now()}`;
  await admin(`CREATE DATABASE ${db}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${db}`;
  const database = await openDatabase(url.toString());
  const app = createApp({ config, log: createLogger('warn'), db: database, jwtSecret: config.jwtSecret ?? '' });
  try {
    const base = `http://127.0.0.1:${await app.listen(0, '127.0.0.1')}`;
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
        await r.text();
        return r.status;
      });
    if ((await post('/users', { name: 'bench', password: 'the right password' })) !== 201) throw new Error('signup failed');
    rows['login over HTTP, right password (ms)'] = summary(await timed(N, () => post('/sessions', { name: 'bench', password: 'the right password' })));
    rows['login over HTTP, wrong password (ms)'] = summary(await timed(N, () => post('/sessions', { name: 'bench', password: 'a wrong password' })));
    rows['login over HTTP, unknown name (ms)'] = summary(await timed(N, () => post('/sessions', { name: 'nobody', password: 'a wrong password' })));
  } finally {
    await app.close();
    await database.close();
    await admin(`DROP DATABASE ${db} WITH (FORCE)`);
  }
  console.table(rows);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
