import { QueryTypes } from 'sequelize';
import { openDatabase, type Database } from '../../src/models/database';
import { QueueEntryRepository } from '../../src/models/queue-entry-repository';
import { createLogger } from '../../src/logger';
import { DurableQueueStore } from '../../src/rooms/queue/durable-queue-store';
import type { TickParams } from '../../src/rooms/queue/queue-store';
import type { Clock } from '../../src/timers/clock';
import { testDatabaseUrl } from '../support/env';

// The durable store against the run's real PostgreSQL: group commit of joins, and a rebuild
// (a second store on the same rows, as a restarted process) that keeps tickets, order and deadlines.
// Each incarnation has a database handle of its own, so its own owner id: closing the handle is
// how the process "dies" (its owner lock goes, as when a process is killed).
let db: Database;
const T0 = 1_700_000_000_000;
let now = T0;
const clock: Clock = { now: () => now, setTimeout: () => undefined, clearTimeout: () => undefined };
const log = createLogger('silent');

beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 4);
});
afterAll(() => db.close());

const handles: Database[] = [];
afterAll(() => Promise.all(handles.map((h) => h.close().catch(() => undefined))));

/** A store on a database handle of its own; `die()` ends that process's owner id (its rooms become adoptable). */
async function incarnation(batches?: number[]): Promise<{ store: DurableQueueStore; die: () => Promise<void> }> {
  const own = await openDatabase(testDatabaseUrl(), 2);
  handles.push(own);
  const repository = new QueueEntryRepository(own);
  const store = new DurableQueueStore({ repository, priorRate: 3, log, clock, onBatch: (b) => batches?.push(b.entries) });
  return { store, die: () => own.owner.close() };
}

async function concert(): Promise<number> {
  const [row] = await db.sequelize.query<{ id: number }>(`INSERT INTO concerts (title, venue) VALUES ('durable queue', 'hall') RETURNING id`, { type: QueryTypes.SELECT });
  return (row as { id: number }).id;
}

async function users(n: number): Promise<number[]> {
  const rows = await db.sequelize.query<{ id: number }>(`INSERT INTO users (name) SELECT 'dq-' || g || '-' || $1::text FROM generate_series(1, $2::int) g RETURNING id`, {
    type: QueryTypes.SELECT,
    bind: [Math.random().toString(36).slice(2), n],
  });
  return rows.map((r) => r.id);
}

const rowsOf = (concertId: number) =>
  db.sequelize.query<{ key: number; user_id: number; status: string; in_line: boolean; pre_key: number | null }>(
    'SELECT key, user_id, status, in_line, pre_key FROM queue_entries WHERE concert_id = $1 ORDER BY key',
    { type: QueryTypes.SELECT, bind: [concertId] },
  );

const params = (over: Partial<TickParams> = {}): TickParams => ({
  now,
  paused: false,
  intervalMs: 1000,
  batch: 3,
  maxActive: 3,
  activeTtlMs: 60_000,
  idleMs: 600_000,
  leaseMs: 5000,
  limit: 1000,
  ...over,
});


describe('durable queue store', () => {
  test('a burst of concurrent joins is written in a few group commits, each acknowledged after its row, tickets unique and dense', async () => {
    const c = await concert();
    const ids = await users(500);
    const batches: number[] = [];
    const { store: s } = await incarnation(batches);
    const results = await Promise.all(ids.map((u) => s.join(c, u, now, 10_000)));
    const tickets = results.map((r) => (r.full ? -1 : r.entry.ticket)).sort((a, b) => a - b);
    expect(tickets).toEqual(ids.map((_, i) => i + 1));
    const rows = await rowsOf(c);
    expect(rows.map((r) => r.key)).toEqual(tickets);
    expect(new Set(rows.map((r) => r.user_id))).toEqual(new Set(ids));
    expect(rows.every((r) => r.status === 'WAITING' && r.in_line)).toBe(true);
    // Group commit: far fewer writes than joins, and every join's row is in one of them.
    expect(batches.reduce((a, b) => a + b, 0)).toBe(500);
    expect(batches.length).toBeLessThan(50);
    await s.close();
  });

  test('a rebuild keeps tickets, positions, ACTIVE deadlines and unannounced leavers; deadlines that passed meanwhile expire at the first tick', async () => {
    const c = await concert();
    const ids = await users(10);
    const { store: a, die } = await incarnation();
    for (const u of ids) await a.join(c, u, now, 100);
    now += 1000;
    const first = await a.tick(c, params({ activeTtlMs: 5_000 })); // admits tickets 1..3 until T0+6s
    expect(first.admitted.map((x) => x.ticket)).toEqual([1, 2, 3]);
    now += 1000;
    await a.tick(c, params({ batch: 0, activeTtlMs: 60_000 }));
    await a.end(c, 5, 'LEFT', now, false); // in the line until the next tick announces it
    const before = await Promise.all(ids.map((_, i) => a.view(c, i + 1, now)));
    // No close: the process is gone as if killed; a new one adopts the room at its start.
    await die();
    const { store: b, die: dieB } = await incarnation();
    expect(await b.liveConcerts()).toContain(c);
    const after = await Promise.all(ids.map((_, i) => b.view(c, i + 1, now)));
    expect(after.map((v) => [v?.ticket, v?.userId, v?.status, v?.position, v?.expiresAt, v?.tick])).toEqual(
      before.map((v) => [v?.ticket, v?.userId, v?.status, v?.position, v?.expiresAt, v?.tick]),
    );
    // Downtime past the first three's deadline: the first tick ends them as TIMEOUT, announces the
    // leaver, and admits the next three (ticket 5 left, so 4, 6, 7).
    now = T0 + 7_000;
    const t = await b.tick(c, params({ batch: 3, activeTtlMs: 60_000 }));
    expect(t.expired.map((e) => [e.ticket, e.reason])).toEqual([
      [1, 'TIMEOUT'],
      [2, 'TIMEOUT'],
      [3, 'TIMEOUT'],
    ]);
    expect(t.left).toEqual([5]);
    expect(t.admitted.map((x) => x.ticket)).toEqual([4, 6, 7]);
    expect(t.tick).toBe((before[0]?.tick ?? 0) + 1);
    const rows = await rowsOf(c);
    expect(rows.filter((r) => r.status === 'ACTIVE').map((r) => r.key)).toEqual([4, 6, 7]);
    expect(rows.find((r) => r.key === 5)).toMatchObject({ status: 'EXPIRED', in_line: false });
    // A third incarnation continues the tickets after the last one issued.
    const fresh = await users(1);
    await dieB();
    const { store: d } = await incarnation();
    const joined = await d.join(c, fresh[0] ?? 0, now, 100);
    expect(joined.full ? 0 : joined.entry.ticket).toBe(11);
    await d.close();
  });

  test('pre-queued entries and the draw survive a rebuild: a token naming the pre-queue key still finds the drawn ticket', async () => {
    const c = await concert();
    const ids = await users(4);
    const opensAt = now + 10_000;
    const { store: a, die } = await incarnation();
    for (const u of ids.slice(0, 3)) await a.join(c, u, now, 100, opensAt);
    await die();
    const { store: b, die: dieB } = await incarnation();
    expect(await b.liveConcerts()).toContain(c);
    const pre = await b.view(c, -2, now);
    expect(pre).toMatchObject({ status: 'WAITING', preQueued: true, userId: ids[1] });
    now = opensAt;
    await b.tick(c, params({ batch: 0 }));
    const drawn = await b.draw(c, (n) => Uint32Array.from({ length: n }, (_, i) => n - 1 - i));
    expect(drawn?.drawn.map((d) => d.userId)).toEqual([ids[2], ids[1], ids[0]]);
    await b.join(c, ids[3] ?? 0, now, 100, opensAt);
    now += 1000;
    expect((await b.tick(c, params({ batch: 1 }))).admitted.map((x) => x.userId)).toEqual([ids[2]]);
    await dieB();
    const { store: e } = await incarnation();
    expect(await e.view(c, -3, now)).toMatchObject({ userId: ids[2], ticket: 1, status: 'ACTIVE' });
    expect(await e.view(c, -1, now)).toMatchObject({ userId: ids[0], ticket: 3, position: 2, status: 'WAITING' });
    expect(await e.view(c, 4, now)).toMatchObject({ userId: ids[3], position: 3 });
    expect((await rowsOf(c)).map((r) => [r.key, r.pre_key])).toEqual([
      [1, -3],
      [2, -2],
      [3, -1],
      [4, null],
    ]);
    await e.close();
  });

  test('a start drops entries that ended longer ago than the retention (a room that stopped ticking never purged them)', async () => {
    const c = await concert();
    const ids = await users(2);
    const { store: a, die } = await incarnation();
    for (const u of ids) await a.join(c, u, now, 100);
    await a.end(c, 1, 'LEFT', now, false);
    await die();
    now += 2 * 3_600_000;
    const { store: b } = await incarnation();
    expect(await b.liveConcerts()).toContain(c);
    expect((await rowsOf(c)).map((r) => [r.key, r.status])).toEqual([[2, 'WAITING']]);
    expect(await b.view(c, 2, now)).toMatchObject({ status: 'WAITING', position: 1 });
    await b.close();
  });
});

