import { ADMIN_TOKEN, createConcert, http, type TestServer } from '../support/server';
import { testRedisPrefix } from '../support/env';
import type { QueueTick } from '../../src/protocol/events';
import { closeAll, queueServer, waiter, type Waiter } from '../support/queue';
import { waitFor } from '../support/wait';

/**
 * Sale settings changed on one instance rule the admissions of a concert
 * whose ticks another instance may run (Redis store, two instances on
 * node:http in a file of their own: see queue-instances.test.ts).
 */
describe('sale settings on two instances (Redis)', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = { REDIS_PREFIX: testRedisPrefix('sale-room'), WS_ENGINE: 'node' };
    [a, b] = [await queueServer(true, env), await queueServer(true, env)];
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it.each([
    ['the other instance', () => b],
    ['the instance the waiters are on', () => a],
  ])('a resume with a new pace made on %s takes effect at the next tick', async (_via, via) => {
    const concert = await createConcert(a, { sale: { admitPerTick: 1, maxActive: 100, paused: true } });
    const waiters: Waiter[] = [];
    for (let i = 0; i < 7; i++) waiters.push(await waiter(i % 2 ? b : a, concert.id));
    const last = waiters[6]!;
    const ticks: QueueTick[] = [];
    last.socket.on('queue:tick', (t: QueueTick) => ticks.push(t));
    // A leave makes a tick while paused: the clock runs, and admits no one.
    const leaving = waiters[5]!;
    await leaving.socket.emitWithAck('queue:leave', { queueToken: leaving.token });
    const paused = await waitFor(() => ticks.find((t) => t.left.length > 0), 'a tick while paused', 10_000);
    expect(paused).toMatchObject({ admitted: 0, paused: true, etaSecondsPerPosition: null });

    const res = await http(via(), 'PATCH', `/admin/concerts/${concert.id}/sale`, { token: ADMIN_TOKEN, body: { paused: false, admitPerTick: 3 } });
    expect(res.status).toBe(200);
    const next = await waitFor(() => ticks.find((t) => t.tick > paused.tick), 'the next tick', 10_000);
    expect(next).toMatchObject({ tick: paused.tick + 1, admitted: 3, paused: false, etaSecondsPerPosition: expect.any(Number) });
    await waitFor(() => last.admitted.length === 1, 'the last waiter admitted', 10_000);
    expect(waiters.slice(0, 5).every((w) => w.admitted.length === 1)).toBe(true);
    closeAll(waiters);
  });
});
