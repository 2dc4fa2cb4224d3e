import { Redis } from 'ioredis';
import { MemoryQueueStore } from '../../src/rooms/queue/memory-queue-store';
import { RedisQueueStore } from '../../src/rooms/queue/redis-queue-store';
import type { QueueStore, TickParams } from '../../src/rooms/queue/queue-store';
import { REDIS_URL, testRedisPrefix } from '../support/env';

/** One contract, two stores: the in-process one and the Redis one (real Redis, a prefix per store). */
let redis: Redis;
beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await redis.quit();
});

const PRIOR = 50;
let counter = 0;
const stores: [string, () => QueueStore][] = [
  ['in-process', () => new MemoryQueueStore(PRIOR)],
  ['redis', () => new RedisQueueStore(redis, testRedisPrefix(`store${++counter}`), PRIOR)],
];

const T0 = 1_700_000_000_000;
const params = (over: Partial<TickParams> = {}): TickParams => ({
  now: T0,
  paused: false,
  intervalMs: 1000,
  batch: 2,
  maxActive: 3,
  activeTtlMs: 60_000,
  idleMs: 30_000,
  leaseMs: 5000,
  limit: 1000,
  ...over,
});

describe.each(stores)('queue store contract: %s', (_name, make) => {
  let store: QueueStore;
  const C = 7;
  beforeEach(() => {
    store = make();
  });

  async function joinAll(users: number[], concertId = C) {
    const tickets: number[] = [];
    for (const u of users) {
      const r = await store.join(concertId, u, T0, 1000);
      if (r.full) throw new Error('full');
      tickets.push(r.entry.ticket);
    }
    return tickets;
  }

  it('gives each new user the next ticket at the back, and the same entry when they join again', async () => {
    const first = await store.join(C, 1, T0, 10);
    const second = await store.join(C, 2, T0, 10);
    const again = await store.join(C, 1, T0, 10);
    expect(first).toEqual({ full: false, created: true, entry: expect.objectContaining({ ticket: 1, userId: 1, status: 'WAITING', position: 1, tick: 0, waiting: 1 }) });
    expect(second).toMatchObject({ created: true, entry: { ticket: 2, position: 2, waiting: 2 } });
    expect(again).toMatchObject({ created: false, entry: { ticket: 1, position: 1, waiting: 2 } });
  });

  it('when one user joins twenty times at once, exactly one entry exists', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.join(C, 9, T0, 100)));
    const tickets = new Set(results.map((r) => (r.full ? -1 : r.entry.ticket)));
    expect(tickets).toEqual(new Set([1]));
    expect(results.filter((r) => !r.full && r.created)).toHaveLength(1);
  });

  it('keeps the first token stored for an entry', async () => {
    await store.join(C, 1, T0, 10);
    expect(await store.setToken(C, 1, 'a')).toBe('a');
    expect(await store.setToken(C, 1, 'b')).toBe('a');
    expect(await store.view(C, 1, T0)).toMatchObject({ token: 'a' });
  });

  it('refuses a join past the waiting cap, but not a repeated join', async () => {
    await joinAll([1, 2]);
    expect(await store.join(C, 3, T0, 2)).toEqual({ full: true, waiting: 2, secondsPerPosition: 1 / PRIOR });
    expect(await store.join(C, 1, T0, 2)).toMatchObject({ full: false, created: false });
  });

  it('reports the k-th waiter at position k', async () => {
    const tickets = await joinAll([11, 12, 13, 14, 15]);
    for (const [i, t] of tickets.entries()) expect((await store.view(C, t, T0))?.position).toBe(i + 1);
  });

  it('admits from the front in join order, at most a batch per tick and never past the active cap', async () => {
    await joinAll([1, 2, 3, 4, 5, 6]);
    const t1 = await store.tick(C, params());
    expect(t1).toMatchObject({ leader: true, tick: 1, changed: true, left: [], expired: [], waiting: 4, empty: false });
    expect(t1.admitted).toEqual([
      { ticket: 1, userId: 1, expiresAt: T0 + 60_000 },
      { ticket: 2, userId: 2, expiresAt: T0 + 60_000 },
    ]);
    const t2 = await store.tick(C, params({ now: T0 + 1000 }));
    expect(t2.admitted.map((a) => a.ticket)).toEqual([3]);
    const t3 = await store.tick(C, params({ now: T0 + 2000 }));
    expect(t3).toMatchObject({ tick: 2, changed: false, admitted: [] });
    expect(await store.view(C, 1, T0)).toMatchObject({ status: 'ACTIVE', position: 0, expiresAt: T0 + 60_000 });
    expect(await store.view(C, 4, T0)).toMatchObject({ status: 'WAITING', position: 1, tick: 2, waiting: 3 });
  });

  it('shows a leaver in positions until the tick that announces it in `left`', async () => {
    await joinAll([1, 2, 3, 4, 5]);
    const blocked = params({ maxActive: 0 });
    expect(await store.end(C, 2, 'LEFT', T0, false)).toMatchObject({ ticket: 2, userId: 2, status: 'WAITING' });
    expect(await store.view(C, 2, T0)).toMatchObject({ status: 'EXPIRED', reason: 'LEFT', position: 0 });
    expect(await store.view(C, 4, T0)).toMatchObject({ position: 4, tick: 0 });
    const t = await store.tick(C, blocked);
    expect(t).toMatchObject({ tick: 1, changed: true, left: [2], admitted: [], waiting: 4 });
    expect(await store.view(C, 4, T0)).toMatchObject({ position: 3, tick: 1 });
    expect(await store.end(C, 2, 'LEFT', T0, false)).toBeUndefined();
  });

  it('frees an active slot at once on leave or payment; the next tick admits the next waiter', async () => {
    await joinAll([1, 2, 3, 4]);
    await store.tick(C, params({ maxActive: 2 }));
    expect(await store.end(C, 3, 'PAID', T0, true)).toBeUndefined();
    expect(await store.end(C, 1, 'PAID', T0, true)).toMatchObject({ ticket: 1, status: 'ACTIVE' });
    const t = await store.tick(C, params({ maxActive: 2, now: T0 + 1000 }));
    expect(t).toMatchObject({ left: [], admitted: [{ ticket: 3, userId: 3 }] });
    expect(await store.view(C, 1, T0)).toMatchObject({ status: 'EXPIRED', reason: 'PAID' });
  });

  it('expires active users after their TTL, and their slot goes to the next waiter', async () => {
    await joinAll([1, 2]);
    await store.tick(C, params({ maxActive: 1, activeTtlMs: 5000 }));
    const before = await store.tick(C, params({ maxActive: 1, activeTtlMs: 5000, now: T0 + 4999 }));
    expect(before.expired).toEqual([]);
    const after = await store.tick(C, params({ maxActive: 1, activeTtlMs: 5000, now: T0 + 5000 }));
    expect(after.expired).toEqual([{ ticket: 1, userId: 1, reason: 'TIMEOUT' }]);
    expect(after.admitted).toEqual([{ ticket: 2, userId: 2, expiresAt: T0 + 10_000 }]);
    expect(after.left).toEqual([]);
  });

  it('expires users with no socket after the idle time, counted from their last command', async () => {
    await joinAll([1, 2, 3]);
    await store.presence(3, 1, T0);
    await store.view(C, 2, T0 + 20_000);
    const p = params({ maxActive: 0, idleMs: 30_000 });
    const t1 = await store.tick(C, { ...p, now: T0 + 30_000 });
    expect(t1).toMatchObject({ left: [1], expired: [{ ticket: 1, userId: 1, reason: 'IDLE' }] });
    const t2 = await store.tick(C, { ...p, now: T0 + 50_000 });
    expect(t2).toMatchObject({ left: [2], expired: [{ ticket: 2, userId: 2, reason: 'IDLE' }] });
    expect((await store.tick(C, { ...p, now: T0 + 500_000 })).expired).toEqual([]);
    await store.presence(3, -1, T0 + 500_000);
    await store.presence(3, 1, T0 + 510_000);
    await store.presence(3, -1, T0 + 520_000);
    expect((await store.tick(C, { ...p, now: T0 + 549_999 })).expired).toEqual([]);
    expect((await store.tick(C, { ...p, now: T0 + 550_000 })).expired).toEqual([{ ticket: 3, userId: 3, reason: 'IDLE' }]);
  });

  it('gives a user a new entry (a new ticket) after the old one expired', async () => {
    await joinAll([1]);
    await store.end(C, 1, 'LEFT', T0, false);
    const again = await store.join(C, 1, T0, 10);
    expect(again).toMatchObject({ created: true, entry: { ticket: 2, status: 'WAITING', position: 2 } });
    expect(await store.currentTicket(C, 1)).toBe(2);
  });

  it('lists concerts with live entries and reports a room empty once nobody waits or is active', async () => {
    await joinAll([1], 8);
    expect(await store.liveConcerts()).toContain(8);
    await store.end(8, 1, 'LEFT', T0, false);
    expect(await store.tick(8, params())).toMatchObject({ left: [1], empty: true });
    expect(await store.liveConcerts()).not.toContain(8);
  });

  it('reports sold-out transitions once each', async () => {
    expect(await store.setSoldOut(C, false)).toBe(false);
    expect(await store.setSoldOut(C, true)).toBe(true);
    expect(await store.setSoldOut(C, true)).toBe(false);
    expect(await store.setSoldOut(C, false)).toBe(true);
  });

  it('measures seconds per position from the admissions of ticks with someone waiting', async () => {
    await joinAll(Array.from({ length: 40 }, (_, i) => i + 1));
    let spp = 0;
    for (let i = 0; i < 30; i++) spp = (await store.tick(C, params({ now: T0 + i * 1000, batch: 1, maxActive: 100 }))).secondsPerPosition;
    // The prior is 50/s; one per second measured over 30 s pulls it most of the way to 1 s per position.
    expect(spp).toBeGreaterThan(0.1);
    expect(spp).toBeLessThan(1.1);
    expect((await store.view(C, 40, T0))?.secondsPerPosition).toBe(spp);
  });

  it('keeps every tracked position equal to the stored one through random leaves and ticks', async () => {
    const users = Array.from({ length: 60 }, (_, i) => i + 1);
    const tickets = await joinAll(users);
    const tracked = new Map(tickets.map((t, i) => [t, i + 1]));
    let tick = 0;
    let random = 42;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 12; round++) {
      for (const t of [...tracked.keys()]) {
        if (next() < 0.1) {
          await store.end(C, t, 'LEFT', T0, false);
          tracked.delete(t);
        }
      }
      const r = await store.tick(C, params({ now: T0 + round * 1000, batch: 3, maxActive: 3 + round * 3 }));
      if (r.changed) expect(r.tick).toBe(++tick);
      for (const a of r.admitted) tracked.delete(a.ticket);
      for (const [t, position] of tracked) {
        const moved = position - (r.changed ? r.admitted.length + r.left.filter((x) => x < t).length : 0);
        expect(moved).toBeLessThanOrEqual(position);
        tracked.set(t, moved);
        expect(await store.view(C, t, T0)).toMatchObject({ position: moved, tick });
      }
    }
  });
});

describe('redis queue store: several instances', () => {
  it('lets only the lease holder tick a concert, and another take over once the lease lapses', async () => {
    const prefix = testRedisPrefix(`lease${++counter}`);
    const a = new RedisQueueStore(redis, prefix, PRIOR);
    const b = new RedisQueueStore(redis, prefix, PRIOR);
    for (const u of [1, 2, 3, 4]) await (u % 2 ? a : b).join(1, u, T0, 100);
    const [ra, rb] = await Promise.all([a.tick(1, params({ batch: 1 })), b.tick(1, params({ batch: 1 }))]);
    expect([ra.leader, rb.leader].sort()).toEqual([false, true]);
    expect([...ra.admitted, ...rb.admitted].map((x) => x.ticket)).toEqual([1]);
    const [leader, follower] = ra.leader ? [a, b] : [b, a];
    expect((await follower.tick(1, params({ batch: 1 }))).leader).toBe(false);
    expect((await leader.tick(1, params({ batch: 1, leaseMs: 50 }))).admitted.map((x) => x.ticket)).toEqual([2]);
    await new Promise((r) => setTimeout(r, 80));
    const takeover = await follower.tick(1, params({ batch: 1 }));
    expect(takeover).toMatchObject({ leader: true, tick: 3, admitted: [{ ticket: 3 }] });
  });

  it('keeps a user present while any instance has a socket of theirs', async () => {
    const prefix = testRedisPrefix(`presence${++counter}`);
    const a = new RedisQueueStore(redis, prefix, PRIOR);
    const b = new RedisQueueStore(redis, prefix, PRIOR);
    await a.join(1, 5, T0, 100);
    await a.presence(5, 1, T0);
    await b.presence(5, 1, T0);
    await a.presence(5, -1, T0);
    const p = params({ maxActive: 0, idleMs: 1000 });
    expect((await a.tick(1, { ...p, now: T0 + 5000 })).expired).toEqual([]);
    await b.presence(5, -1, T0 + 5000);
    expect((await a.tick(1, { ...p, now: T0 + 6000 })).expired).toEqual([{ ticket: 1, userId: 5, reason: 'IDLE' }]);
  });
});
