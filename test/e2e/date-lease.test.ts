import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger';
import { DateFenceRepository } from '../../src/models/date-fence-repository';
import { DateOwnership } from '../../src/rooms/cluster/date-ownership';
import { REDIS_URL, testRedisPrefix } from '../support/env';
import { createConcert, startServer, type TestServer } from '../support/server';
import { sleep, waitFor } from '../support/wait';

/** Blocks this thread (the event loop) the way a sale's backlog does. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe('date leases (Redis + PostgreSQL)', () => {
  let server: TestServer;
  let dateIds: number[];
  const open: { ownership: DateOwnership; redis: Redis }[] = [];

  beforeAll(async () => {
    server = await startServer();
    dateIds = (await createConcert(server, { dates: 3 })).dates.map((d) => d.id);
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map(async ({ ownership, redis }) => {
      await ownership.close();
      await redis.quit();
    }));
  });

  afterAll(() => server.close());

  function instance(id: string, prefix: string, options: { leaseMs: number; stallMs?: number }) {
    const redis = new Redis(REDIS_URL);
    const lost: number[] = [];
    const ownership = new DateOwnership({
      redis,
      fences: new DateFenceRepository(server.db.sequelize),
      prefix,
      instanceId: id,
      log: createLogger('silent'),
      onLost: (dateId) => lost.push(dateId),
      ...options,
    });
    open.push({ ownership, redis });
    return { ownership, lost };
  }

  it('keeps every lease while the event loop is blocked for five lease periods', async () => {
    const prefix = testRedisPrefix(`lease${Math.random().toString(36).slice(2, 8)}`);
    const a = instance('a', prefix, { leaseMs: 300 });
    const b = instance('b', prefix, { leaseMs: 300 });
    for (const dateId of dateIds) expect((await a.ownership.acquire(dateId)).self).toBe(true);
    await sleep(50);

    blockEventLoop(1500);

    for (const dateId of dateIds) expect(await b.ownership.acquire(dateId)).toEqual({ self: false, owner: 'a' });
    // More than a lease period for the renewer thread to report a refused renewal, had there been one
    // (it reports on a worker channel: there is no round trip to use as a barrier).
    await sleep(400);
    expect(a.lost).toEqual([]);
    for (const dateId of dateIds) expect(a.ownership.fence(dateId)).toBeDefined();
  });

  it('lets the leases lapse when the main thread is stalled past the limit, and reports them lost', async () => {
    const prefix = testRedisPrefix(`lease${Math.random().toString(36).slice(2, 8)}`);
    const a = instance('a', prefix, { leaseMs: 300, stallMs: 600 });
    const b = instance('b', prefix, { leaseMs: 300 });
    const dateId = dateIds[0]!;
    const first = await a.ownership.acquire(dateId);
    await sleep(50);

    blockEventLoop(1500);

    const taken = await b.ownership.acquire(dateId);
    expect(taken.self).toBe(true);
    // The new owner's fence is higher: the stalled one's commits are refused from now on.
    expect(b.ownership.fence(dateId)!).toBeGreaterThan(first.self ? first.fence : Infinity);
    await waitFor(() => a.lost.length > 0, 'the stalled owner to report its lease lost', 2500);
    expect(a.lost).toEqual([dateId]);
    expect(a.ownership.fence(dateId)).toBeUndefined();
  });
});
