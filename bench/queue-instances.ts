/**
 * The waiting room past one instance: `instances` server processes on the
 * Redis store (one line, one admission lease, pushes through the sharded
 * Redis adapter) and `waiters` clients spread over them, because one process
 * holds at most ~19,900 sockets here. Run through bench/queue-tick.ts:
 *
 *   npx tsx bench/queue-tick.ts --instances 3 --waiters 50000 [--per-child 5000] [--ticks 15]
 *
 * The servers run in their own processes, so there is no server timestamp per
 * tick: it reports how many clients each tick reached, the spread from the
 * first to the last client receiving it, the leader's mean tick cost (from
 * /metrics), and the sampled exactness of the tracked positions.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { CatalogRepository } from '../src/models/catalog-repository';
import { openDatabase } from '../src/models/database';
import { createDatabase } from './lib/server-process';
import type { ClientsInit, FromClients } from './queue-clients';

export interface InstancesOptions {
  secret: string;
  instances: number;
  waiters: number;
  perChild: number;
  ticks: number;
  interval: string;
  batch: string;
  leavers: number;
  engine: 'uws' | 'node';
  message<T extends FromClients['type']>(child: ChildProcess, type: T): Promise<Extract<FromClients, { type: T }>>;
}

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const q = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))] ?? NaN;
const ms = (v: number) => Math.round(v * 10) / 10;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function healthy(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) return;
    await sleep(200);
  }
  throw new Error(`${url} did not become healthy`);
}

async function leaderTickMs(urls: string[]): Promise<number> {
  let sum = 0;
  let count = 0;
  for (const url of urls) {
    const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text(), () => '');
    sum += Number(/tix_queue_tick_duration_seconds_sum (\S+)/.exec(text)?.[1] ?? 0);
    count += Number(/tix_queue_tick_duration_seconds_count (\S+)/.exec(text)?.[1] ?? 0);
  }
  return count ? (sum / count) * 1000 : NaN;
}

export async function instancesRun(o: InstancesOptions) {
  const database = await createDatabase();
  const prefix = `tix-bench-${process.pid}-${Date.now()}:`;
  const servers: ChildProcess[] = [];
  const children: ChildProcess[] = [];
  try {
    const db = await openDatabase(database.url, 2);
    const { concert } = await new CatalogRepository(db).createConcert({
      title: 'Bench',
      venue: 'Hall',
      dates: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: 50, price: 1000 } }],
    });
    await db.close();
    const urls: string[] = [];
    for (let i = 0; i < o.instances; i++) {
      const port = 21_000 + Math.floor(Math.random() * 20_000);
      const env = {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_PREFIX: prefix,
        JWT_SECRET: o.secret,
        ALLOW_PASSWORDLESS_SIGNUP: 'true',
        SEED_DEMO: 'false',
        LOG_LEVEL: 'warn',
        WS_ENGINE: o.engine,
        QUEUE_ADMIT_INTERVAL_MS: o.interval,
        QUEUE_ADMIT_BATCH: o.batch,
        QUEUE_MAX_ACTIVE: o.batch,
        QUEUE_MAX_WAITING: '1000000',
        QUEUE_IDLE_TIMEOUT_SECONDS: '3600',
        QUEUE_ACTIVE_TTL_SECONDS: '3600',
        RATE_LIMIT_PER_USER: '1000',
      };
      servers.push(fork(path.join(__dirname, '..', 'src', 'index.ts'), [], { execArgv: ['--import', 'tsx'], env, stdio: 'inherit' }));
      urls.push(`http://127.0.0.1:${port}`);
    }
    await Promise.all(urls.map(healthy));

    const count = Math.ceil(o.waiters / o.perChild);
    for (let i = 0; i < count; i++) {
      const execArgv = ['--import', 'tsx', '--experimental-websocket', '--no-warnings'];
      const child = fork(path.join(__dirname, 'queue-clients.ts'), [], { execArgv, serialization: 'advanced' });
      children.push(child);
      const init: ClientsInit = {
        url: urls[i % urls.length] ?? '',
        secret: o.secret,
        concertId: concert.id,
        firstUserId: 1 + i * o.perChild,
        count: Math.min(o.perChild, o.waiters - i * o.perChild),
        concurrency: 25,
        client: 'raw',
      };
      child.send(init);
    }
    const ready = await Promise.all(children.map((c) => o.message(c, 'ready')));
    children.forEach((c, i) => c.send({ type: 'churn', leavers: i === 0 ? o.leavers : 0 }));
    await sleep((o.ticks + 2) * Number(o.interval));
    children.forEach((c) => c.send({ type: 'calm' }));
    await sleep(1500);
    children.forEach((c) => c.send({ type: 'report' }));
    const reports = await Promise.all(children.map((c) => o.message(c, 'report')));
    const ticks = [...new Set(reports.flatMap((r) => Object.keys(r.received).map(Number)))].sort((a, b) => a - b).slice(2, 2 + o.ticks);
    const spread: number[] = [];
    const fromFirst: number[] = [];
    const receivers: number[] = [];
    for (const k of ticks) {
      const arrivals = reports.flatMap((r) => r.received[k] ?? []);
      const first = Math.min(...arrivals);
      receivers.push(arrivals.length);
      spread.push(Math.max(...arrivals) - first);
      for (const t of arrivals) fromFirst.push(t - first);
    }
    children.forEach((c) => c.send({ type: 'verify', sample: 50 }));
    const verified = await Promise.all(children.map((c) => o.message(c, 'verified')));
    return {
      engine: o.engine,
      instances: o.instances,
      waiters: ready.reduce((n, r) => n + r.joined, 0),
      'receivers/tick': Math.round(receivers.reduce((a, b) => a + b, 0) / Math.max(1, receivers.length)),
      ticks: ticks.length,
      'leader tick mean ms': ms(await leaderTickMs(urls)),
      'first→each p50/p99 ms': `${ms(q(fromFirst, 0.5))}/${ms(q(fromFirst, 0.99))}`,
      'first→last p50/p99 ms': `${ms(q(spread, 0.5))}/${ms(q(spread, 0.99))}`,
      exact: `${verified.reduce((n, v) => n + v.exact, 0)}/${verified.reduce((n, v) => n + v.checked, 0)}`,
      gaps: reports.reduce((n, r) => n + r.gaps, 0),
      'join s': Math.round(Math.max(...ready.map((r) => r.ms)) / 100) / 10,
    };
  } finally {
    children.forEach((c) => c.connected && c.send({ type: 'close' }));
    await sleep(500);
    for (const s of servers) s.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((r) => (s.exitCode === null ? s.once('exit', r) : r(null)))));
    await database.drop();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}
