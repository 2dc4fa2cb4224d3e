import { connectClient, createConcert, http, nextEvent, signup, type TestServer, type TestUser } from '../support/server';
import { roundTrip } from '../support/clients';
import { testRedisPrefix } from '../support/env';
import type { QueueTick } from '../../src/protocol/events';
import { joinHttp, queueServer, statusHttp } from '../support/queue';
import { eventually, waitFor } from '../support/wait';

/**
 * Two instances sharing one waiting room through Redis. Both on node:http, in a file of
 * their own: socket.io's uWS fast path patches the adapter prototype for the whole process,
 * so two uWS apps in one process would publish every broadcast on the last one's app.
 */
describe('waiting room on two instances (Redis store)', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = { QUEUE_ADMIT_BATCH: '2', QUEUE_MAX_ACTIVE: '2', REDIS_PREFIX: testRedisPrefix('shared-room'), WS_ENGINE: 'node' };
    [a, b] = [await queueServer(true, env), await queueServer(true, env)];
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('share one line: one order, one active cap, positions exact whichever instance answers', async () => {
    const concert = await createConcert(a);
    const users: { user: TestUser; token: string; ticket: number | null }[] = [];
    for (let k = 1; k <= 8; k++) {
      const via = k % 2 ? a : b;
      const user = await signup(via);
      const joined = await joinHttp(via, user, concert.id);
      expect(joined.status).toBe(201);
      users.push({ user, token: joined.body.token, ticket: joined.body.ticket });
    }
    expect(users.map((u) => u.ticket)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const statuses = () => Promise.all(users.map((u, i) => statusHttp(i % 2 ? a : b, u.user, u.token).then((r) => r.body)));
    await eventually(async () => expect((await statuses()).map((s) => s.position)).toEqual([0, 0, 1, 2, 3, 4, 5, 6]));
    let most = 0;
    for (const [i, u] of users.slice(0, 4).entries()) {
      await http(i % 2 ? b : a, 'POST', '/queue/leave', { token: u.user.token, headers: { 'queue-token': u.token } });
      // The freed slot goes to the user two places behind the leaver, at the next tick.
      await eventually(async () => expect((await statuses())[i + 2]!.status).toBe('ACTIVE'));
      most = Math.max(most, (await statuses()).filter((s) => s.status === 'ACTIVE').length);
    }
    await eventually(async () => expect((await statuses()).map((s) => s.status)).toEqual([...Array(4).fill('EXPIRED'), 'ACTIVE', 'ACTIVE', 'WAITING', 'WAITING']));
    expect(most).toBeLessThanOrEqual(2);
    expect((await statuses()).slice(6).map((s) => s.position)).toEqual([1, 2]);
  });

  it('pushes admission and ticks to a socket on the other instance', async () => {
    const concert = await createConcert(a);
    const [first, second] = [await signup(a), await signup(a)];
    const firstToken = (await joinHttp(a, first, concert.id)).body.token;
    const other = await signup(a);
    const otherToken = (await joinHttp(a, other, concert.id)).body.token;
    await eventually(async () => expect((await statusHttp(b, other, otherToken)).body.status).toBe('ACTIVE'));
    const socket = await connectClient(b, second.token);
    const ticks: QueueTick[] = [];
    socket.on('queue:tick', (t: QueueTick) => ticks.push(t));
    const joined = await joinHttp(a, second, concert.id);
    expect(joined.body).toMatchObject({ status: 'WAITING', position: 1 });
    const admitted = nextEvent(socket, 'queue:admitted', undefined, 10_000);
    await http(a, 'POST', '/queue/leave', { token: first.token, headers: { 'queue-token': firstToken } });
    expect(await admitted).toEqual({ concertId: concert.id, expiresAt: expect.any(String) });
    await waitFor(() => ticks.length > 0, 'the tick that admitted the user');
    await roundTrip(socket);
    expect(ticks).toEqual([{ concertId: concert.id, tick: joined.body.tick + 1, admitted: 1, left: [], waiting: 0, etaSecondsPerPosition: expect.any(Number), paused: false }]);
    socket.close();
  });
});
