import { QueryTypes } from 'sequelize';
import { openDatabase, type Database } from '../../src/models/database';
import { QueueEntryRepository, type QueueRows } from '../../src/models/queue-entry-repository';
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
async function incarnation(
  batches?: number[],
  opts: { drawChunk?: number; freezeAt?: (rows: QueueRows) => boolean } = {},
): Promise<{ store: DurableQueueStore; repository: QueueEntryRepository; frozen: Promise<void>; die: () => Promise<void> }> {
  const own = await openDatabase(testDatabaseUrl(), 2);
  handles.push(own);
  const repository = new QueueEntryRepository(own);
  // A write `freezeAt` picks never reaches PostgreSQL, nor does any after it: the process froze there (then `die`).
  let froze!: () => void;
  const frozen = new Promise<void>((resolve) => (froze = resolve));
  let stopped = false;
  const write = (rows: QueueRows): Promise<void> => {
    if (stopped || opts.freezeAt?.(rows)) {
      stopped = true;
      froze();
      return new Promise<void>(() => undefined);
    }
    return repository.write(rows);
  };
  const store = new DurableQueueStore({
    repository: { write, adoptAbandoned: (t) => repository.adoptAbandoned(t), take: (c) => repository.take(c) },
    priorRate: 3,
    log,
    clock,
    drawChunk: opts.drawChunk,
    onBatch: (b) => batches?.push(b.entries),
  });
  return { store, repository, frozen, die: () => own.owner.close() };
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

const drawRecords = (concertId: number) =>
  db.sequelize.query<{ first_ticket: number; n: number }>('SELECT first_ticket, length(keys) / 4 AS n FROM queue_draws WHERE concert_id = $1', { type: QueryTypes.SELECT, bind: [concertId] });

/** A write that moves drawn rows (the background rewrite's chunk): it drops pre-queue keys' rows. */
const movesDrawnRows = (rows: QueueRows) => rows.dropped.some((d) => d.key < 0);

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

  test('a process killed after the draw is recorded and told, with its rows half moved, comes back with every drawn ticket and position exact, then moves the rest', async () => {
    const c = await concert();
    const ids = await users(7);
    const opensAt = now + 10_000;
    // Chunks of 2: the first chunk is written, the process freezes at the second.
    let chunks = 0;
    const { store: a, frozen, die } = await incarnation(undefined, { drawChunk: 2, freezeAt: (rows) => movesDrawnRows(rows) && ++chunks === 2 });
    for (const u of ids) await a.join(c, u, now, 100, opensAt);
    now = opensAt;
    const drawn = await a.draw(c, (n) => Uint32Array.from({ length: n }, (_, i) => n - 1 - i));
    expect(drawn?.drawn.map((d) => d.userId)).toEqual([...ids].reverse());
    // Told: the draw's record is committed, in one row, while most rows are still under their pre-queue keys.
    expect(await drawRecords(c)).toEqual([{ first_ticket: 1, n: 7 }]);
    await frozen;
    const half = await rowsOf(c);
    expect(half.filter((r) => r.key > 0).map((r) => [r.key, r.pre_key])).toEqual([
      [1, -7],
      [2, -6],
    ]);
    expect(half.filter((r) => r.key < 0)).toHaveLength(5);
    await die();

    const { store: b, die: dieB } = await incarnation();
    expect(await b.liveConcerts()).toContain(c);
    for (const d of drawn?.drawn ?? []) {
      const byTicket = await b.view(c, d.ticket, now);
      expect(byTicket).toMatchObject({ userId: d.userId, ticket: d.ticket, position: d.position, status: 'WAITING' });
      // A queue token issued before the draw names the pre-queue key; it finds the drawn ticket.
      expect(await b.view(c, -(ids.indexOf(d.userId) + 1), now)).toMatchObject({ ticket: d.ticket, position: d.position });
      expect(await b.currentTicket(c, d.userId)).toBe(d.ticket);
    }
    await b.drawsWritten();
    expect((await rowsOf(c)).map((r) => [r.key, r.pre_key, r.status, r.in_line])).toEqual(
      (drawn?.drawn ?? []).map((d) => [d.ticket, -(ids.indexOf(d.userId) + 1), 'WAITING', true]),
    );
    expect(await drawRecords(c)).toEqual([]);
    now += 1000;
    expect((await b.tick(c, params({ batch: 2 }))).admitted.map((x) => x.userId)).toEqual([ids[6], ids[5]]);
    // A later joiner continues after the drawn tickets.
    const late = await users(1);
    const joined = await b.join(c, late[0] ?? 0, now, 100, opensAt);
    expect(joined.full ? 0 : joined.entry.ticket).toBe(8);
    await dieB();
  });

  test('a rebuild from a half-applied draw prefers the rows already under tickets (changed after the draw) and applies the draw again idempotently', async () => {
    const c = await concert();
    const [u1, u2, u3, u4] = await users(4);
    const own = await openDatabase(testDatabaseUrl(), 2);
    handles.push(own);
    const repository = new QueueEntryRepository(own);
    const pre = (key: number, userId = 0) => ({ concertId: c, entry: { key, userId, status: 'WAITING' as const, early: true, inLine: false } });
    const none = { entries: [], dropped: [], rooms: [], draws: [], drawsDone: [] };
    const room = (seq: number, tick: number) => [{ concertId: c, room: { seq, preSeq: 4, tick, rate: 3, paused: false } }];
    await repository.write({ ...none, rooms: room(0, 0), entries: [pre(-1, u1), pre(-2, u2), pre(-3, u3), pre(-4, u4)] });
    // The draw: -3 → 1, -1 → 2, -4 → 3, -2 → 4.
    await repository.write({ ...none, rooms: room(4, 0), draws: [{ concertId: c, draw: { first: 1, keys: Int32Array.from([-3, -1, -4, -2]) } }] });
    // A tick admitted ticket 1 and the holder of ticket 2 left (not yet announced): both written under their
    // tickets, without the pre-queue key; the rewrite had moved -3's row away, not yet -1's.
    await repository.write({
      ...none,
      rooms: room(4, 1),
      dropped: [{ concertId: c, key: -3 }],
      entries: [
        { concertId: c, entry: { key: 1, userId: u3 ?? 0, status: 'ACTIVE', early: false, inLine: false, expiresAt: now + 60_000 } },
        { concertId: c, entry: { key: 2, userId: u1 ?? 0, status: 'EXPIRED', early: false, inLine: true, reason: 'LEFT', endedAt: now } },
      ],
    });
    await own.owner.close();

    for (const round of [1, 2]) {
      // Round 1 dies before moving anything; round 2 applies the same draw again and moves the rows.
      const { store: s, die } = await incarnation(undefined, round === 1 ? { freezeAt: movesDrawnRows } : {});
      expect(await s.liveConcerts()).toContain(c);
      expect(await s.view(c, -3, now)).toMatchObject({ ticket: 1, userId: u3, status: 'ACTIVE', expiresAt: now + 60_000 });
      expect(await s.view(c, -1, now)).toMatchObject({ ticket: 2, userId: u1, status: 'EXPIRED', reason: 'LEFT' });
      // The leaver still counts until the tick that announces it.
      expect(await s.view(c, -4, now)).toMatchObject({ ticket: 3, userId: u4, status: 'WAITING', position: 2, tick: 1 });
      expect(await s.view(c, 4, now)).toMatchObject({ userId: u2, status: 'WAITING', position: 3 });
      expect(await s.counts(c, now)).toMatchObject({ waiting: 2, preQueued: 0, active: 1 });
      if (round === 2) {
        await s.drawsWritten();
        expect((await rowsOf(c)).map((r) => [r.key, r.pre_key, r.user_id, r.status])).toEqual([
          [1, -3, u3, 'ACTIVE'],
          [2, -1, u1, 'EXPIRED'],
          [3, -4, u4, 'WAITING'],
          [4, -2, u2, 'WAITING'],
        ]);
        expect(await drawRecords(c)).toEqual([]);
        const t = await s.tick(c, params({ batch: 0 }));
        expect(t.left).toEqual([2]);
        await s.close();
      }
      await die();
    }
  });
});
