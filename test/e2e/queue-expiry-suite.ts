import { connectClient, createConcert, signup, type TestServer } from '../support/server';
import { closeAll, joinHttp, leave, queueServer, statusHttp, waiter } from '../support/queue';
import { eventually, sleep } from '../support/wait';

/** Expiry (TTL, idle) and the waiting cap, each on a server with short settings. */
export function queueExpirySuite(redis: boolean): void {
  describe('active TTL', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await queueServer(redis, { QUEUE_ADMIT_BATCH: '1', QUEUE_MAX_ACTIVE: '1', QUEUE_ACTIVE_TTL_SECONDS: '1' });
    });
    afterAll(() => server.close());

    it('expires an active user after the TTL (TIMEOUT) and admits the next waiter', async () => {
      const concert = await createConcert(server);
      const a = await waiter(server, concert.id);
      const b = await waiter(server, concert.id);
      await eventually(() => expect(a.admitted).toHaveLength(1));
      const expiresAt = Date.parse(a.admitted[0]!.expiresAt);
      expect(await a.status()).toMatchObject({ status: 'ACTIVE', position: 0, etaSeconds: 0, expiresAt: a.admitted[0]!.expiresAt });
      await eventually(() => expect(a.expired).toEqual([{ concertId: concert.id, reason: 'TIMEOUT' }]));
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
      await eventually(() => expect(b.admitted).toHaveLength(1));
      expect(b.positions.slice(-2)).toEqual([1, 0]);
      expect(await a.status()).toMatchObject({ status: 'EXPIRED' });
      closeAll([a, b]);
    });
  });

  describe('idle timeout', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await queueServer(redis, { QUEUE_ADMIT_BATCH: '1', QUEUE_MAX_ACTIVE: '1', QUEUE_IDLE_TIMEOUT_SECONDS: '1' });
    });
    afterAll(() => server.close());

    it('expires users with no socket and no command (IDLE), keeps connected and reconnected ones in place', async () => {
      const concert = await createConcert(server);
      const holder = await waiter(server, concert.id);
      await eventually(() => expect(holder.admitted).toHaveLength(1));
      const gone = await waiter(server, concert.id);
      const httpOnly = await signup(server);
      const httpToken = (await joinHttp(server, httpOnly, concert.id)).body.token;
      const stays = await waiter(server, concert.id);
      const flaky = await waiter(server, concert.id);
      gone.socket.close();
      flaky.socket.close();
      await sleep(300);
      const back = await connectClient(server, flaky.user.token);
      await sleep(2500);
      expect(await statusHttp(server, httpOnly, httpToken)).toMatchObject({ status: 200, body: { status: 'EXPIRED' } });
      expect(await statusHttp(server, gone.user, gone.token)).toMatchObject({ body: { status: 'EXPIRED' } });
      expect(await stays.status()).toMatchObject({ status: 'WAITING', position: 1 });
      expect(stays.tracker.entry).toMatchObject({ position: 1 });
      const reconnected = await back.emitWithAck('queue:status', { queueToken: flaky.token });
      expect(reconnected.data).toMatchObject({ status: 'WAITING', position: 2 });
      expect(holder.expired).toEqual([]);

      holder.socket.close();
      await eventually(() => expect(stays.admitted).toHaveLength(1), 5000);
      expect(await statusHttp(server, holder.user, holder.token)).toMatchObject({ body: { status: 'EXPIRED' } });
      back.close();
      closeAll([stays]);
    });
  });

  describe('waiting cap', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await queueServer(redis, { QUEUE_ADMIT_BATCH: '1', QUEUE_MAX_ACTIVE: '1', QUEUE_MAX_WAITING: '2' });
    });
    afterAll(() => server.close());

    it('refuses joins past QUEUE_MAX_WAITING with 503 QUEUE_FULL and Retry-After, and takes them once there is room', async () => {
      const concert = await createConcert(server);
      const first = await waiter(server, concert.id);
      await eventually(() => expect(first.admitted).toHaveLength(1));
      const [second, third] = [await waiter(server, concert.id), await waiter(server, concert.id)];
      const fourth = await signup(server);
      const refused = await joinHttp(server, fourth, concert.id);
      expect(refused).toMatchObject({ status: 503, body: { error: { code: 'QUEUE_FULL' } } });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const socket = await connectClient(server, fourth.token);
      expect(await socket.emitWithAck('queue:join', { concertId: concert.id })).toMatchObject({ ok: false, error: { code: 'QUEUE_FULL' } });
      expect(await second.status()).toMatchObject({ position: 1, waiting: 2 });
      await leave(first);
      await eventually(() => expect(second.admitted).toHaveLength(1));
      expect((await joinHttp(server, fourth, concert.id)).status).toBe(201);
      socket.close();
      closeAll([first, second, third]);
    });
  });
}
