import { createConcert, http, signup, sleep, type TestServer, type TestUser } from '../support/server';
import { testRedisPrefix } from '../support/env';
import { queueExpirySuite } from './queue-expiry-suite';
import { eventually, joinHttp, queueServer, statusHttp } from './queue-helpers';
import { queueSuite } from './queue-suite';

/** The waiting room on the Redis store, and two instances sharing one room. */
describe('waiting room (Redis store)', () => {
  queueSuite(true);
  queueExpirySuite(true);

  describe('two instances', () => {
    let a: TestServer;
    let b: TestServer;
    beforeAll(async () => {
      const env = { QUEUE_ADMIT_BATCH: '2', QUEUE_MAX_ACTIVE: '2', REDIS_PREFIX: testRedisPrefix('shared-room') };
      [a, b] = [await queueServer(true, env), await queueServer(true, env)];
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    it('share one line: one order, one active cap, positions exact whichever instance answers', async () => {
      const concert = await createConcert(a);
      const users: { user: TestUser; token: string; ticket: number }[] = [];
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
        await sleep(150);
        most = Math.max(most, (await statuses()).filter((s) => s.status === 'ACTIVE').length);
      }
      await eventually(async () => expect((await statuses()).map((s) => s.status)).toEqual([...Array(4).fill('EXPIRED'), 'ACTIVE', 'ACTIVE', 'WAITING', 'WAITING']));
      expect(most).toBeLessThanOrEqual(2);
      expect((await statuses()).slice(6).map((s) => s.position)).toEqual([1, 2]);
    });
  });
});
