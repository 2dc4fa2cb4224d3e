/**
 * Queue joins at a sale-opening burst, on the store alone (no sockets, no
 * HTTP): the durable store of the single-instance default (memory + group
 * commit to PostgreSQL) against the in-process store it wraps.
 *
 *   npx tsx bench/queue-durable-joins.ts [burst=20000] [paced rate=2000] [paced seconds=5] [draw=20000]
 *
 * Burst: every join issued at once, as when a sale opens; joins/s is joins
 * over the time until the last is acknowledged (its row committed). Paced:
 * joins issued at a steady rate, each one's time to acknowledgement. Draw:
 * the opening's draw of that many pre-queued entries, until its record is
 * committed and it may be told (the entries' rows move to their tickets
 * afterwards, in the background; in the row, "joins/s" is entries drawn per
 * second). Runs on
 * a scratch database of the local PostgreSQL (TEST_PG_ADMIN_URL's server),
 * dropped afterwards.
 */
import { QueryTypes } from 'sequelize';
import { createLogger } from '../src/logger';
import { openDatabase, type Database } from '../src/models/database';
import { QueueEntryRepository } from '../src/models/queue-entry-repository';
import { DurableQueueStore } from '../src/rooms/queue/durable-queue-store';
import { MemoryQueueStore } from '../src/rooms/queue/memory-queue-store';
import type { QueueStore } from '../src/rooms/queue/queue-store';
import { systemClock } from '../src/timers/clock';
import { createDatabase } from './lib/server-process';

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const ms = (v: number) => Math.round(v * 100) / 100;

async function concertWithUsers(db: Database, n: number): Promise<{ concertId: number; users: number[] }> {
  const [row] = await db.sequelize.query<{ id: number }>(`INSERT INTO concerts (title, venue) VALUES ('bench', 'hall') RETURNING id`, { type: QueryTypes.SELECT });
  const users = await db.sequelize.query<{ id: number }>(`INSERT INTO users (name) SELECT 'bench-' || g || '-' || $1::text FROM generate_series(1, $2::int) g RETURNING id`, {
    type: QueryTypes.SELECT,
    bind: [Math.random().toString(36).slice(2), n],
  });
  return { concertId: (row as { id: number }).id, users: users.map((u) => u.id) };
}

interface Row {
  store: string;
  run: string;
  joins: number;
  'joins/s': number;
  'ack p50 ms': number;
  'ack p99 ms': number;
  'ack max ms': number;
  writes: number | string;
  'write p50 ms': number | string;
  'write p99 ms': number | string;
  'write max ms': number | string;
}

/** Each group commit's size and time, from the store's onBatch hook. */
const batches: { entries: number; ms: number }[] = [];
function writeStats(name: string, from: number): Pick<Row, 'writes' | 'write p50 ms' | 'write p99 ms' | 'write max ms'> {
  if (name === 'in-process') return { writes: '-', 'write p50 ms': '-', 'write p99 ms': '-', 'write max ms': '-' };
  const times = batches.slice(from).map((b) => b.ms).sort((a, b) => a - b);
  return { writes: times.length, 'write p50 ms': ms(quantile(times, 0.5)), 'write p99 ms': ms(quantile(times, 0.99)), 'write max ms': ms(times.at(-1) ?? 0) };
}

async function burst(name: string, store: QueueStore, concertId: number, users: number[]): Promise<Row> {
  const acks: number[] = [];
  const before = batches.length;
  const started = performance.now();
  await Promise.all(
    users.map(async (u) => {
      await store.join(concertId, u, Date.now(), users.length + 1);
      acks.push(performance.now() - started);
    }),
  );
  const elapsed = performance.now() - started;
  acks.sort((a, b) => a - b);
  return { store: name, run: 'burst', joins: users.length, 'joins/s': Math.round((users.length * 1000) / elapsed), 'ack p50 ms': ms(quantile(acks, 0.5)), 'ack p99 ms': ms(quantile(acks, 0.99)), 'ack max ms': ms(acks.at(-1) ?? 0), ...writeStats(name, before) };
}

/** Joins at `rate`/s, issued every millisecond in small groups so the pace is even. */
async function paced(name: string, store: QueueStore, concertId: number, users: number[], rate: number): Promise<Row> {
  const acks: number[] = [];
  const pending: Promise<void>[] = [];
  const before = batches.length;
  const started = performance.now();
  let issued = 0;
  while (issued < users.length) {
    const due = Math.min(users.length, Math.floor(((performance.now() - started) * rate) / 1000));
    for (; issued < due; issued++) {
      const u = users[issued] ?? 0;
      const at = performance.now();
      pending.push(store.join(concertId, u, Date.now(), users.length + 1).then(() => void acks.push(performance.now() - at)));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const elapsed = performance.now() - started;
  acks.sort((a, b) => a - b);
  return { store: name, run: `paced ${rate}/s`, joins: users.length, 'joins/s': Math.round((users.length * 1000) / elapsed), 'ack p50 ms': ms(quantile(acks, 0.5)), 'ack p99 ms': ms(quantile(acks, 0.99)), 'ack max ms': ms(acks.at(-1) ?? 0), ...writeStats(name, before) };
}

/** The opening's draw of `users` pre-queued entries: the draw waits for its record before anyone is told. */
async function draw(name: string, store: QueueStore, concertId: number, users: number[]): Promise<Row> {
  const opensAt = Date.now() + 60_000;
  for (let i = 0; i < users.length; i += 1000) await Promise.all(users.slice(i, i + 1000).map((u) => store.join(concertId, u, Date.now(), users.length + 1, opensAt)));
  const before = batches.length;
  const started = performance.now();
  await store.draw(concertId, (n) => Uint32Array.from({ length: n }, (_, i) => i), { now: opensAt, leaseMs: 5000 });
  const elapsed = performance.now() - started;
  return { store: name, run: 'opening draw', joins: users.length, 'joins/s': Math.round((users.length * 1000) / elapsed), 'ack p50 ms': ms(elapsed), 'ack p99 ms': ms(elapsed), 'ack max ms': ms(elapsed), ...writeStats(name, before) };
}

/**
 * What a process does at its start, not during the burst: a new store takes over the rooms
 * whose owner is gone (here: the bench's earlier stores, of this same process) and reads
 * back the concert's room.
 */
async function started(store: QueueStore, concertId: number): Promise<QueueStore> {
  await store.liveConcerts();
  await store.counts(concertId, Date.now());
  return store;
}

async function main(): Promise<void> {
  const [burstSize = 20_000, rate = 2000, seconds = 5, drawSize = 20_000] = process.argv.slice(2).map(Number);
  const scratch = await createDatabase();
  const db = await openDatabase(scratch.url, 10);
  const rows: Row[] = [];
  try {
    const log = createLogger('warn');
    const repository = new QueueEntryRepository(db);
    const durable = () => new DurableQueueStore({ repository, priorRate: 50, log, clock: systemClock, onBatch: (b) => void batches.push(b) });
    for (const [name, make] of [
      ['in-process', () => new MemoryQueueStore(50)],
      ['durable', durable],
    ] as const) {
      const a = await concertWithUsers(db, burstSize);
      const s1 = await started(make(), a.concertId);
      rows.push(await burst(name, s1, a.concertId, a.users));
      await s1.close();
      const b = await concertWithUsers(db, rate * seconds);
      const s2 = await started(make(), b.concertId);
      rows.push(await paced(name, s2, b.concertId, b.users, rate));
      await s2.close();
      const d = await concertWithUsers(db, drawSize);
      const s3 = await started(make(), d.concertId);
      rows.push(await draw(name, s3, d.concertId, d.users));
      await s3.close();
    }
  } finally {
    await db.close();
    await scratch.drop();
  }
  console.table(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
