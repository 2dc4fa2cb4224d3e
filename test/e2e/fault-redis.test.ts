/**
 * Redis stops and comes back (PROTOCOL.md "Durability and shutdown"): the
 * process never exits, commands that need Redis answer 503 UNAVAILABLE with
 * Retry-After within a second, the rest keep working, and everything resumes
 * without a restart, sockets included.
 */
import { buyer, hold } from '../support/buyers';
import { ask, client, closeClients } from '../support/clients';
import { startInstance, stopCluster, type Instance } from '../support/cluster';
import { testRedisPrefix } from '../support/env';
import { FAST_QUEUE, activeToken } from '../support/queue';
import { ownRedis, type OwnRedis } from '../support/redis-server';
import { createConcert, http, nextEvent, signup } from '../support/server';
import { waitFor } from '../support/wait';

afterEach(closeClients);

describe('a server process whose Redis stops', () => {
  let redis: OwnRedis;
  let instance: Instance;
  beforeAll(async () => {
    redis = await ownRedis();
    instance = await startInstance('redis-fault', testRedisPrefix('rf'), { REDIS_URL: redis.url, ...FAST_QUEUE });
  }, 60_000);
  afterAll(async () => {
    if (process.env['FAULT_DEBUG']) process.stdout.write(instance.output().slice(-4000));
    await stopCluster([instance]);
    await redis.stop();
  });

  it('keeps running, answers fast 503s for what needs Redis, serves the rest, and resumes when Redis returns', async () => {
    const concert = await createConcert(instance, { seats: 20 });
    const dateId = concert.dates[0]!.id;
    const b = await buyer(instance, concert.id, { balance: 10_000 });
    expect(await hold(b, dateId, [1])).toMatchObject({ ok: true });

    await redis.stop();
    // A socket that connects now (its room subscription fails) must not take the process down.
    const lateUser = await signup(instance);
    const late = await client(instance, lateUser.token);
    const timed = async <T>(f: () => Promise<T>) => {
      const t = Date.now();
      const r = await f();
      return { r, ms: Date.now() - t };
    };
    const held = await timed(() => hold(b, dateId, [2]));
    const joined = await timed(() => ask(late, 'queue:join', { concertId: concert.id }));
    const wallet = await timed(() => ask(b.socket, 'wallet:get', {}));
    const httpHold = await timed(() =>
      http(instance, 'POST', '/reservations', { token: b.token, body: { dateId, seatNumbers: [3] }, headers: { 'queue-token': b.queueToken } }),
    );
    const unavailable = { ok: false, error: { code: 'UNAVAILABLE', message: expect.any(String), details: { retryAfterMs: 1000 } } };
    expect(held.r).toEqual(unavailable);
    expect(joined.r).toEqual(unavailable);
    expect(httpHold.r).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    expect(httpHold.r.headers.get('retry-after')).toBe('1');
    for (const t of [held, joined, httpHold]) expect(t.ms).toBeLessThan(1000);
    // The wallet needs only PostgreSQL: it keeps working.
    expect(wallet.r).toMatchObject({ ok: true, data: { balance: 10_000 } });
    expect(await http(instance, 'GET', '/ready')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    expect(await http(instance, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });

    await redis.start();
    const restartedAt = Date.now();
    await waitFor(async () => (await http(instance, 'GET', '/ready')).status === 200, '/ready after Redis returned', 20_000);
    const readyMs = Date.now() - restartedAt;

    // This Redis kept nothing (no AOF): the old queue token is refused plainly, and joining again works.
    expect(await ask(b.socket, 'queue:status', { queueToken: b.queueToken })).toMatchObject({ ok: false, error: { code: 'QUEUE_TOKEN_INVALID' } });
    const again = await activeToken(instance, b, concert.id);
    // The socket that connected during the outage is whole again: its user's and its date's pushes arrive.
    const lateQueueToken = await activeToken(instance, lateUser, concert.id);
    expect(await ask(late, 'seats:watch', { dateId, queueToken: lateQueueToken })).toMatchObject({ ok: true });
    const changed = nextEvent(late, 'seats:changed', (e: { seats: { number: number }[] }) => e.seats.some((x) => x.number === 4));
    expect(await ask(b.socket, 'seats:hold', { dateId, seatNumbers: [4], queueToken: again })).toMatchObject({ ok: true });
    await changed;
    const updated = nextEvent(late, 'reservation:updated');
    const own = await http(instance, 'POST', '/reservations', { token: lateUser.token, body: { dateId, seatNumbers: [5] }, headers: { 'queue-token': lateQueueToken } });
    expect(own.status).toBe(201);
    expect(await updated).toMatchObject({ status: 'HELD', seats: [{ number: 5 }] });
    const servedMs = Date.now() - restartedAt;
    process.stdout.write(`fault-redis: 503s in ${held.ms}/${joined.ms}/${httpHold.ms} ms while down; ready ${readyMs} ms and a hold served and pushed ${servedMs} ms after Redis restarted\n`);
    expect(instance.child.exitCode).toBeNull();
    expect(instance.output()).not.toMatch(/unhandled|uncaught/i);
  }, 120_000);
});

describe('a server process started while its Redis is down', () => {
  let redis: OwnRedis;
  let instance: Instance;
  beforeAll(async () => {
    redis = await ownRedis();
    await redis.stop();
    instance = await startInstance('redis-late', testRedisPrefix('rl'), { REDIS_URL: redis.url, ...FAST_QUEUE });
  }, 60_000);
  afterAll(async () => {
    if (process.env['FAULT_DEBUG']) process.stdout.write(instance.output().slice(-4000));
    await stopCluster([instance]);
    await redis.stop();
  });

  it('starts, serves what needs PostgreSQL only, answers 503 for the rest, and joins in once Redis answers', async () => {
    expect(await http(instance, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await http(instance, 'GET', '/ready')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    const concert = await createConcert(instance, { seats: 10 });
    const user = await signup(instance);
    const socket = await client(instance, user.token);
    expect(await ask(socket, 'wallet:charge', { amount: 5000 })).toMatchObject({ ok: true, data: { balance: 5000 } });
    const started = Date.now();
    const refused = await http(instance, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    expect(refused.headers.get('retry-after')).toBe('1');

    await redis.start();
    const back = Date.now();
    await waitFor(async () => (await http(instance, 'GET', '/ready')).status === 200, '/ready once Redis answers', 20_000);
    const queueToken = await activeToken(instance, user, concert.id);
    const changed = nextEvent(socket, 'reservation:updated');
    expect(await ask(socket, 'seats:hold', { dateId: concert.dates[0]!.id, seatNumbers: [1], queueToken })).toMatchObject({ ok: true });
    expect(await changed).toMatchObject({ status: 'HELD' });
    process.stdout.write(`fault-redis (start while down): served seats ${Date.now() - back} ms after Redis started\n`);
    expect(instance.child.exitCode).toBeNull();
    expect(instance.output()).not.toMatch(/unhandled|uncaught/i);
  }, 120_000);
});
