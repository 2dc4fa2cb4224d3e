import { Redis } from 'ioredis';
import { MemoryQueueStore } from '../../src/rooms/queue/memory-queue-store';
import { RedisQueueStore } from '../../src/rooms/queue/redis-queue-store';
import type { QueueStore, TickParams } from '../../src/rooms/queue/queue-store';
import { REDIS_URL, testRedisPrefix } from '../support/env';

/** The pre-queue and the opening draw, one contract over both queue stores. */
let redis: Redis;
beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await redis.quit();
});

let counter = 0;
const stores: [string, () => QueueStore][] = [
  ['in-process', () => new MemoryQueueStore(50)],
  ['redis', () => new RedisQueueStore(redis, testRedisPrefix(`pre${++counter}`), 50)],
];
const T0 = 1_700_000_000_000;
const OPENS = T0 + 10_000;
const params = (over: Partial<TickParams> = {}): TickParams => ({
  now: T0,
  paused: false,
  intervalMs: 1000,
  batch: 2,
  maxActive: 100,
  activeTtlMs: 600_000,
  idleMs: 600_000,
  leaseMs: 5000,
  limit: 1000,
  ...over,
});
const reverse = (n: number) => Uint32Array.from({ length: n }, (_, i) => n - 1 - i);

describe.each(stores)('pre-queue and draw: %s', (_name, make) => {
  let store: QueueStore;
  const C = 3;
  beforeEach(() => {
    store = make();
  });

  async function join(userId: number, now: number) {
    const r = await store.join(C, userId, now, 1000, OPENS);
    if (r.full) throw new Error('full');
    return r.entry;
  }

  it('keeps joins before the opening without a ticket or position, admits none of them, and keeps the ticker alive', async () => {
    const a = await join(1, T0);
    expect(a).toMatchObject({ status: 'WAITING', preQueued: true, position: 0 });
    expect(a.ticket).toBeLessThan(0);
    expect((await join(1, T0 + 1)).ticket).toBe(a.ticket);
    const t = await store.tick(C, params({ now: T0 + 1000 }));
    expect(t).toMatchObject({ admitted: [], preQueued: 1, empty: false, changed: false });
    expect(await store.counts(C, T0 + 1000)).toEqual({ waiting: 0, preQueued: 1, active: 0, admittedLastMinute: 0 });
  });

  it('draws the early joiners in the given order, then those who came after the opening in arrival order, then tickets as usual', async () => {
    const early = [];
    for (let u = 1; u <= 5; u++) early.push(await join(u, T0 + u));
    await store.tick(C, params({ now: T0 + 1000 }));
    // After the opening but before the draw: pre-queued too, behind every early joiner.
    const late = [await join(11, OPENS + 1), await join(12, OPENS + 2)];
    expect(late.every((e) => e.preQueued)).toBe(true);
    let seen = -1;
    const r = await store.draw(C, (n) => ((seen = n), reverse(n)), { now: OPENS + 10, leaseMs: 5000 });
    expect(seen).toBe(5);
    expect(r?.drawn).toEqual([
      { userId: 5, ticket: 1, position: 1 },
      { userId: 4, ticket: 2, position: 2 },
      { userId: 3, ticket: 3, position: 3 },
      { userId: 2, ticket: 4, position: 4 },
      { userId: 1, ticket: 5, position: 5 },
      { userId: 11, ticket: 6, position: 6 },
      { userId: 12, ticket: 7, position: 7 },
    ]);
    expect(r?.waiting).toBe(7);
    // The pre-queue key in a token still names the entry, now with its ticket and exact position.
    expect(await store.view(C, early[0]!.ticket, OPENS + 20)).toMatchObject({ ticket: 5, userId: 1, position: 5, status: 'WAITING' });
    expect((await store.view(C, early[0]!.ticket, OPENS + 20))?.preQueued).toBeUndefined();
    expect((await join(20, OPENS + 30)).ticket).toBe(8);
    const t = await store.tick(C, params({ now: OPENS + 1000 }));
    expect(t.admitted.map((a) => a.userId)).toEqual([5, 4]);
    expect(await store.counts(C, OPENS + 1000)).toEqual({ waiting: 6, preQueued: 0, active: 2, admittedLastMinute: 2 });
    expect((await store.counts(C, OPENS + 61_000)).admittedLastMinute).toBe(0);
    expect(await store.view(C, early[0]!.ticket, OPENS + 1000)).toMatchObject({ position: 3 });
    expect(await store.draw(C, reverse, { now: OPENS + 1000, leaseMs: 5000 })).toMatchObject({ drawn: [] });
  });

  it('after the draw, an entry is the same by its ticket or its pre-queue key: token, position, and tickets (never keys) in admitted, left and expired', async () => {
    const entries = [];
    for (let u = 1; u <= 4; u++) entries.push(await join(u, T0 + u));
    const token = await store.setToken(C, entries[0]!.ticket, 'token-of-1');
    await store.tick(C, params({ now: T0 + 1000 }));
    const r = await store.draw(C, (n) => Uint32Array.from({ length: n }, (_, i) => i), { now: OPENS, leaseMs: 5000 });
    expect(r?.drawn.map((d) => d.ticket)).toEqual([1, 2, 3, 4]);
    const byKey = await store.view(C, entries[0]!.ticket, OPENS + 1);
    const byTicket = await store.view(C, 1, OPENS + 1);
    expect(byKey).toMatchObject({ ticket: 1, userId: 1, position: 1, token });
    expect(byTicket).toEqual(byKey);
    expect(await store.setToken(C, 1, 'another')).toBe(token);
    // The user's entry, as a join finds it again: the same ticket and token.
    expect((await store.join(C, 1, OPENS + 2, 1000, OPENS)) as { entry: unknown }).toMatchObject({ created: false, entry: { ticket: 1, token } });
    // Ticket 3 leaves (named by its ticket), ticket 2 is admitted; the tick names tickets.
    expect(await store.end(C, 3, 'LEFT', OPENS + 3, false)).toMatchObject({ userId: 3, status: 'WAITING' });
    const t = await store.tick(C, params({ now: OPENS + 1000, batch: 2, activeTtlMs: 100_000 }));
    expect(t.left).toEqual([3]);
    expect(t.admitted.map((a) => [a.ticket, a.userId])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(await store.view(C, entries[3]!.ticket, OPENS + 1000)).toMatchObject({ ticket: 4, position: 1 });
    // Ended by its key (a payment): the active entry of ticket 2.
    expect(await store.end(C, entries[1]!.ticket, 'PAID', OPENS + 1001, true)).toMatchObject({ userId: 2, status: 'ACTIVE' });
    const timedOut = await store.tick(C, params({ now: OPENS + 200_000, batch: 0 }));
    expect(timedOut.expired.map((e) => [e.ticket, e.reason])).toEqual([[1, 'TIMEOUT']]);
  });

  it('leaves the pre-queue without a tick (no ticket to announce); the draw skips the leaver', async () => {
    const a = await join(1, T0);
    await join(2, T0 + 1);
    expect(await store.end(C, a.ticket, 'LEFT', T0 + 2, false)).toMatchObject({ userId: 1, status: 'WAITING' });
    const t = await store.tick(C, params({ now: T0 + 1000 }));
    expect(t).toMatchObject({ left: [], changed: false, preQueued: 1 });
    expect((await store.draw(C, reverse, { now: OPENS, leaseMs: 5000 }))?.drawn).toEqual([{ userId: 2, ticket: 1, position: 1 }]);
    expect((await join(1, OPENS + 1)).ticket).toBe(2);
  });
});

describe('the draw on Redis with several instances', () => {
  it('is done by the lease holder only', async () => {
    const prefix = testRedisPrefix(`pre-lease${++counter}`);
    const [a, b] = [new RedisQueueStore(redis, prefix, 50), new RedisQueueStore(redis, prefix, 50)];
    await a.join(1, 1, T0, 100, OPENS);
    await a.tick(1, params({ now: T0 }));
    expect(await b.draw(1, reverse, { now: OPENS, leaseMs: 5000 })).toBeUndefined();
    expect((await a.draw(1, reverse, { now: OPENS, leaseMs: 5000 }))?.drawn).toEqual([{ userId: 1, ticket: 1, position: 1 }]);
  });
});
