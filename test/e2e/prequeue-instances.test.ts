import { http, type TestServer } from '../support/server';
import { testRedisPrefix } from '../support/env';
import { queueServer } from '../support/queue';
import { openingRun } from '../support/prequeue';

/**
 * The opening's draw with three instances sharing one waiting room through
 * Redis: the waiters spread over all three, and exactly one instance (the
 * tick lease holder) shuffles. On node:http, in a file of their own (see
 * queue-instances.test.ts).
 */
describe('a sale opening with a pre-queue on three instances (Redis store)', () => {
  let servers: TestServer[] = [];
  beforeAll(async () => {
    const env = { REDIS_PREFIX: testRedisPrefix('prequeue-room'), WS_ENGINE: 'node', QUEUE_ADMIT_INTERVAL_MS: '100' };
    servers = [await queueServer(true, env), await queueServer(true, env), await queueServer(true, env)];
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  const draws = async () => {
    const counts = await Promise.all(
      servers.map(async (s) => Number(/^tix_queue_draws_total (\d+)$/m.exec((await http<string>(s, 'GET', '/metrics')).body)?.[1] ?? 'NaN')),
    );
    return counts.reduce((a, b) => a + b, 0);
  };

  it('every early joiner, on whichever instance, gets one distinct drawn ticket ahead of every later one, from exactly one shuffle', async () => {
    expect(await draws()).toBe(0);
    const run = await openingRun(servers, 200, 50);
    expect(run.drawnOrder).not.toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(await draws()).toBe(1);
    // 250 sign-ups and sockets on three instances: about 15 s here, far more on a shared, loaded machine.
  }, 180_000);
});
