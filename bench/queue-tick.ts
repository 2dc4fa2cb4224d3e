/**
 * Waiting-room benchmark: admission-tick cost and tick-to-client latency.
 *
 *   npx tsx bench/queue-tick.ts [--waiters 10000] [--ticks 15] [--engines uws,node]
 *                               [--per-child 2500] [--interval 1000] [--batch 50] [--leavers 5]
 *                               [--store-sizes 10000,50000,100000] [--client raw|socket.io-client]
 *                               [--no-sockets] [--no-stores]
 *   npx tsx bench/queue-tick.ts --instances 3 --waiters 50000 --per-child 5000 [--engines uws]
 *
 * 1. The stores alone (in-process and Redis): tick p50/p99 by line length,
 *    with leavers in the middle before every tick — the part that must stay
 *    flat in the number of waiters.
 * 2. Per engine: the real app in this process (in-process store, fresh
 *    PostgreSQL database), `waiters` socket.io clients in child processes,
 *    each joined and tracking its position with public/queue-position.js.
 *    For `ticks` admission ticks it reports the tick's cost (store work + the
 *    one broadcast), the delay from the broadcast to each client (p50/p99),
 *    and from the tick's start to the last client receiving it (p50/p99 over
 *    ticks). Then a sample of clients compares its tracked position with
 *    queue:status.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { CatalogRepository } from '../src/models/catalog-repository';
import { scratchApp } from './lib/scratch-app';
import type { ClientsInit, FromClients } from './queue-clients';
import { instancesRun } from './queue-instances';
import { storeTickCost, type StoreTickRow } from './queue-store-tick';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
const WAITERS = Number(arg('waiters', '10000'));
const TICKS = Number(arg('ticks', '15'));
const ENGINES = arg('engines', 'uws,node').split(',') as ('uws' | 'node')[];
const PER_CHILD = Number(arg('per-child', '2500'));
const INTERVAL = arg('interval', '1000');
const BATCH = arg('batch', '50');
const LEAVERS = Number(arg('leavers', '5'));
const CLIENT = arg('client', 'raw') as 'raw' | 'socket.io-client';
const STORE_SIZES = arg('store-sizes', '10000,50000,100000').split(',').map(Number);
const SECRET = 'bench-queue-secret-0123456789abcdef';

const now = () => performance.timeOrigin + performance.now();
const q = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const ms = (v: number) => Math.round(v * 10) / 10;

function message<T extends FromClients['type']>(child: ChildProcess, type: T): Promise<Extract<FromClients, { type: T }>> {
  return new Promise((resolve) => {
    const on = (m: FromClients) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m as Extract<FromClients, { type: T }>);
    };
    child.on('message', on);
  });
}

async function socketRun(engine: 'uws' | 'node') {
  const config = loadConfig({
    JWT_SECRET: SECRET,
    ALLOW_PASSWORDLESS_SIGNUP: 'true',
    WS_ENGINE: engine,
    LOG_LEVEL: 'warn',
    QUEUE_ADMIT_INTERVAL_MS: INTERVAL,
    QUEUE_ADMIT_BATCH: BATCH,
    // One batch is admitted while clients join; then admitted clients leave at once, so
    // each tick admits a batch again (and a few waiters leave from the middle).
    QUEUE_MAX_ACTIVE: BATCH,
    QUEUE_MAX_WAITING: '1000000',
    QUEUE_IDLE_TIMEOUT_SECONDS: '3600',
    QUEUE_ACTIVE_TTL_SECONDS: '3600',
    RATE_LIMIT_PER_USER: '1000',
  });
  const { app, db, port, close } = await scratchApp(config, { pool: 4 });
  const children: ChildProcess[] = [];
  try {
    const { concert } = await new CatalogRepository(db).createConcert({
      title: 'Bench',
      venue: 'Hall',
      dates: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: 50, price: 1000 } }],
    });

    // Instrumentation only: when each queue:tick broadcast starts, and each tick's duration.
    const sentAt = new Map<number, number>();
    const ticks: { end: number; seconds: number }[] = [];
    const io = app.io as any;
    const to = io.to.bind(io);
    io.to = (room: string) => {
      const op = to(room);
      if (!room.startsWith('queue:')) return op;
      const emit = op.emit.bind(op);
      op.emit = (event: string, payload: any, ...rest: unknown[]) => {
        if (event === 'queue:tick') sentAt.set(payload.tick, now());
        return emit(event, payload, ...rest);
      };
      return op;
    };
    const histogram = app.services.metrics.queueTickDuration as any;
    const observe = histogram.observe.bind(histogram);
    histogram.observe = (seconds: number) => {
      ticks.push({ end: now(), seconds });
      observe(seconds);
    };

    const count = Math.ceil(WAITERS / PER_CHILD);
    for (let i = 0; i < count; i++) {
      const execArgv = ['--import', 'tsx', '--experimental-websocket', '--no-warnings'];
      const child = fork(path.join(__dirname, 'queue-clients.ts'), [], { execArgv, serialization: 'advanced' });
      children.push(child);
      const init: ClientsInit = {
        url: `http://127.0.0.1:${port}`,
        secret: SECRET,
        concertId: concert.id,
        firstUserId: 1 + i * PER_CHILD,
        count: Math.min(PER_CHILD, WAITERS - i * PER_CHILD),
        concurrency: 50,
        client: CLIENT,
      };
      child.send(init);
    }
    const ready = await Promise.all(children.map((c) => message(c, 'ready')));
    const joined = ready.reduce((n, r) => n + r.joined, 0);
    children.forEach((c, i) => c.send({ type: 'churn', leavers: i === 0 ? LEAVERS : 0 }));
    const firstTick = Math.max(0, ...sentAt.keys()) + 2;
    while (!sentAt.has(firstTick + TICKS - 1)) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));

    // The same sockets, a bare broadcast with no waiting-room work: what the machine itself costs.
    children.forEach((c) => c.send({ type: 'calm' }));
    await new Promise((r) => setTimeout(r, 2 * Number(INTERVAL)));
    const pingAt = new Map<number, number>();
    for (let i = 1; i <= TICKS; i++) {
      pingAt.set(i, now());
      io.to(`queue:${concert.id}`).emit('bench:ping', { i });
      await new Promise((r) => setTimeout(r, Number(INTERVAL)));
    }
    await new Promise((r) => setTimeout(r, 1000));
    children.forEach((c) => c.send({ type: 'report' }));
    const reports = await Promise.all(children.map((c) => message(c, 'report')));
    const perClient: number[] = [];
    const lastFromStart: number[] = [];
    const tickCost: number[] = [];
    const receivers: number[] = [];
    for (let k = firstTick; k < firstTick + TICKS; k++) {
      const sent = sentAt.get(k) ?? NaN;
      const tick = ticks.find((t) => t.end >= sent);
      const start = tick ? tick.end - tick.seconds * 1000 : sent;
      if (tick) tickCost.push(tick.seconds * 1000);
      const arrivals = reports.flatMap((r) => r.received[k] ?? []);
      receivers.push(arrivals.length);
      for (const at of arrivals) perClient.push(at - sent);
      lastFromStart.push(Math.max(...arrivals) - start);
    }
    const bareEach: number[] = [];
    const bareLast: number[] = [];
    for (const [i, at] of pingAt) {
      const arrivals = reports.flatMap((r) => r.pings[i] ?? []);
      for (const t of arrivals) bareEach.push(t - at);
      bareLast.push(Math.max(...arrivals) - at);
    }
    children.forEach((c) => c.send({ type: 'verify', sample: 100 }));
    const verified = await Promise.all(children.map((c) => message(c, 'verified')));
    children.forEach((c) => c.send({ type: 'close' }));
    await app.close();
    return {
      engine: app.engine.description,
      waiters: joined,
      'receivers/tick': Math.round(receivers.reduce((a, b) => a + b, 0) / receivers.length),
      'tick p50 ms': ms(q(tickCost, 0.5)),
      'tick p99 ms': ms(q(tickCost, 0.99)),
      'to client p50 ms': ms(q(perClient, 0.5)),
      'to client p99 ms': ms(q(perClient, 0.99)),
      'tick→last p50 ms': ms(q(lastFromStart, 0.5)),
      'tick→last p99 ms': ms(q(lastFromStart, 0.99)),
      'bare p50/p99 ms': `${ms(q(bareEach, 0.5))}/${ms(q(bareEach, 0.99))}`,
      'bare last p50/p99 ms': `${ms(q(bareLast, 0.5))}/${ms(q(bareLast, 0.99))}`,
      exact: `${verified.reduce((n, v) => n + v.exact, 0)}/${verified.reduce((n, v) => n + v.checked, 0)}`,
      gaps: reports.reduce((n, r) => n + r.gaps, 0),
      'join s': Math.round(Math.max(...ready.map((r) => r.ms)) / 100) / 10,
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    await close();
  }
}

async function main() {
  const instances = Number(arg('instances', '0'));
  if (instances > 0) {
    console.log(`node ${process.version}, ${WAITERS} waiters over ${instances} instances (Redis store), ${TICKS} ticks, interval ${INTERVAL} ms, batch ${BATCH}`);
    const rows = [];
    for (const engine of ENGINES) {
      const o = { secret: SECRET, instances, waiters: WAITERS, perChild: PER_CHILD, ticks: TICKS, interval: INTERVAL, batch: BATCH };
      rows.push(await instancesRun({ ...o, leavers: LEAVERS, engine, message }));
    }
    console.table(rows);
    return;
  }
  console.log(`node ${process.version}, ${WAITERS} waiters (${CLIENT} clients), ${TICKS} ticks, interval ${INTERVAL} ms, batch ${BATCH}`);
  if (!argv.includes('--no-stores')) {
    const rows: StoreTickRow[] = [];
    for (const size of STORE_SIZES) for (const kind of ['memory', 'redis'] as const) rows.push(await storeTickCost(kind, size));
    console.table(rows);
  }
  if (!argv.includes('--no-sockets')) {
    const rows = [];
    for (const engine of ENGINES) rows.push(await socketRun(engine));
    console.table(rows);
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
