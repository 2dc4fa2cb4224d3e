import jwt from 'jsonwebtoken';
import { JWT_SECRET, connectClient, createConcert, http, nextEvent, signup, type TestServer, type TestUser } from '../support/server';
import { roundTrip } from '../support/clients';
import { closeAll, joinHttp, leave, queueServer, statusHttp, waiter, type Waiter } from '../support/queue';
import { eventually, sleep, waitFor } from '../support/wait';

/**
 * The waiting room end to end, on the in-process store or on Redis: the same
 * scenarios, the real server, real sockets, the shipped position function.
 */
export function queueSuite(redis: boolean): void {
  let server: TestServer;
  beforeAll(async () => {
    server = await queueServer(redis, { QUEUE_ADMIT_BATCH: '2', QUEUE_MAX_ACTIVE: '2' });
  });
  afterAll(async () => {
    await server.close();
  });

  describe('joining', () => {
    it('answers a first HTTP join with 201 and the whole QueueStatus, a repeat with 200 and the same entry', async () => {
      const concert = await createConcert(server);
      const user = await signup(server);
      const first = await joinHttp(server, user, concert.id);
      expect(first.status).toBe(201);
      expect(first.body).toEqual({ token: expect.any(String), concertId: concert.id, status: 'WAITING', ticket: 1, opensAt: expect.any(String), paused: false, tick: 0, position: 1, waiting: 1, etaSeconds: 1 });
      const again = await joinHttp(server, user, concert.id);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ token: first.body.token, ticket: 1 });
    });

    it('keeps one entry per user when several tabs and both transports join at once', async () => {
      const concert = await createConcert(server);
      const user = await signup(server);
      const [a, b] = [await connectClient(server, user.token), await connectClient(server, user.token)];
      try {
        const join = { concertId: concert.id };
        const [acks, posts] = await Promise.all([
          Promise.all([a, b, a, b].map((s) => s.emitWithAck('queue:join', join))),
          Promise.all([1, 2, 3].map(() => joinHttp(server, user, concert.id))),
        ]);
        const tokens = new Set([...acks.map((r) => r.data.token), ...posts.map((r) => r.body.token)]);
        const tickets = new Set([...acks.map((r) => r.data.ticket), ...posts.map((r) => r.body.ticket)]);
        expect(tokens.size).toBe(1);
        expect(tickets).toEqual(new Set([1]));
        expect(acks.every((r) => r.ok && !('created' in r.data))).toBe(true);
        expect(posts.filter((r) => r.status === 201).length).toBeLessThanOrEqual(1);
        expect(posts.every((r) => r.status === 200 || r.status === 201)).toBe(true);
      } finally {
        a.close();
        b.close();
      }
    });

    it('sends ticks to every socket of a waiting user, also when they joined over HTTP', async () => {
      const concert = await createConcert(server);
      const [a, b] = [await waiter(server, concert.id), await waiter(server, concert.id)];
      await eventually(() => expect([a, b].map((w) => w.admitted.length)).toEqual([1, 1]));
      const user = await signup(server);
      const socket = await connectClient(server, user.token);
      const ticks: unknown[] = [];
      socket.on('queue:tick', (t) => ticks.push(t));
      const joined = await joinHttp(server, user, concert.id);
      const admitted = nextEvent(socket, 'queue:admitted');
      await leave(a);
      expect(await admitted).toEqual({ concertId: concert.id, expiresAt: expect.any(String) });
      await waitFor(() => ticks.length > 0, 'the tick that admitted the user');
      await roundTrip(socket);
      expect(ticks).toEqual([{ concertId: concert.id, tick: joined.body.tick + 1, admitted: 1, left: [], waiting: 0, etaSecondsPerPosition: expect.any(Number), paused: false }]);
      socket.close();
      closeAll([a, b]);
    });

    it('refuses an unknown concert with NOT_FOUND and a malformed one with VALIDATION_FAILED', async () => {
      const user = await signup(server);
      expect(await joinHttp(server, user, 987_654_321)).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
      const socket = await connectClient(server, user.token);
      expect(await socket.emitWithAck('queue:join', { concertId: 987_654_321 })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      expect(await socket.emitWithAck('queue:join', { concertId: 'x' })).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      socket.close();
    });

    it('refuses a missing, forged, expired or foreign queue token with QUEUE_TOKEN_INVALID', async () => {
      const concert = await createConcert(server);
      const [me, other] = [await signup(server), await signup(server)];
      const theirs = (await joinHttp(server, other, concert.id)).body.token;
      const claims = { typ: 'queue', cid: concert.id, tkt: 1 };
      const forged = jwt.sign(claims, 'another-secret', { subject: String(me.id), algorithm: 'HS256' });
      const expired = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, JWT_SECRET, { subject: String(me.id), algorithm: 'HS256' });
      for (const token of [undefined, 'nope', forged, expired, theirs, me.token]) {
        expect(await statusHttp(server, me, token)).toMatchObject({ status: 401, body: { error: { code: 'QUEUE_TOKEN_INVALID' } } });
        const left = await http(server, 'POST', '/queue/leave', { token: me.token, headers: token ? { 'queue-token': token } : {} });
        expect(left).toMatchObject({ status: 401, body: { error: { code: 'QUEUE_TOKEN_INVALID' } } });
      }
      const socket = await connectClient(server, me.token);
      expect(await socket.emitWithAck('queue:status', {})).toMatchObject({ ok: false, error: { code: 'QUEUE_TOKEN_INVALID' } });
      socket.close();
      expect((await statusHttp(server, other, theirs)).status).toBe(200);
    });
  });

  describe('admission', () => {
    it('reports the k-th waiter at position k, admits in join order and never more than the active cap', async () => {
      const concert = await createConcert(server);
      const blockers = [await waiter(server, concert.id), await waiter(server, concert.id)];
      await eventually(() => expect(blockers.map((b) => b.admitted.length)).toEqual([1, 1]));
      const users: { user: TestUser; token: string }[] = [];
      for (let k = 1; k <= 8; k++) {
        const user = await signup(server);
        const joined = await joinHttp(server, user, concert.id);
        expect(joined.body).toMatchObject({ status: 'WAITING', position: k, waiting: k });
        users.push({ user, token: joined.body.token });
      }
      const statuses = async () => Promise.all(users.map((u) => statusHttp(server, u.user, u.token).then((r) => r.body)));
      let sampling = true;
      let mostActive = 0;
      const sampler = (async () => {
        while (sampling) {
          const active = (await statuses()).filter((s) => s.status === 'ACTIVE').length;
          mostActive = Math.max(mostActive, active);
          await sleep(20);
        }
      })();
      for (const b of blockers) await leave(b);
      await eventually(async () => expect((await statuses()).map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE', ...Array(6).fill('WAITING')]));
      await http(server, 'POST', '/queue/leave', { token: users[1]!.user.token, headers: { 'queue-token': users[1]!.token } });
      await eventually(async () => expect((await statuses()).map((s) => s.position)).toEqual([0, 0, 0, 1, 2, 3, 4, 5]));
      sampling = false;
      await sampler;
      expect(mostActive).toBeLessThanOrEqual(2);
      expect((await statuses()).map((s) => s.status)).toEqual(['ACTIVE', 'EXPIRED', 'ACTIVE', ...Array(5).fill('WAITING')]);
      closeAll(blockers);
    });

    it('keeps every pushed position exact and never rising through admissions and leavers in the middle', async () => {
      const concert = await createConcert(server);
      let active = [await waiter(server, concert.id), await waiter(server, concert.id)];
      await eventually(() => expect(active.map((b) => b.admitted.length)).toEqual([1, 1]));
      let waiting: Waiter[] = [];
      for (let i = 0; i < 30; i++) waiting.push(await waiter(server, concert.id));
      const everyone = [...active, ...waiting];
      for (let round = 0; round < 5; round++) {
        const leavers = [waiting[3 + round], waiting[waiting.length - 4 - round]].filter((w): w is Waiter => w !== undefined);
        await Promise.all([...leavers, ...active].map(leave));
        waiting = waiting.filter((w) => !leavers.includes(w));
        const next = waiting.slice(0, 2);
        await eventually(() => expect(next.map((w) => w.admitted.length)).toEqual([1, 1]));
        active = next;
        waiting = waiting.slice(2);
        await eventually(async () => {
          for (const w of waiting) {
            const status = await w.status();
            expect(w.tracker.entry).toMatchObject({ tick: status.tick, position: status.position });
            expect(status.position).toBe(1 + waiting.filter((x) => (x.ticket ?? 0) < (w.ticket ?? 0)).length);
          }
        });
      }
      for (const w of everyone) expect(w.positions).toEqual([...w.positions].sort((a, b) => b - a));
      expect(waiting.every((w) => w.positions.length >= 6)).toBe(true);
      closeAll(everyone);
    });

    it('ends an entry at once on leave, waiting or active, and a new join after that gets a new ticket', async () => {
      const concert = await createConcert(server);
      const [a, b] = [await waiter(server, concert.id), await waiter(server, concert.id)];
      const [c, d] = [await waiter(server, concert.id), await waiter(server, concert.id)];
      await eventually(() => expect([a, b].map((w) => w.admitted.length)).toEqual([1, 1]));
      await leave(c);
      await eventually(() => expect(c.expired).toEqual([{ concertId: concert.id, reason: 'LEFT' }]));
      expect(await c.status()).toMatchObject({ status: 'EXPIRED', position: 0, ticket: c.ticket });
      await leave(a);
      await eventually(() => expect(a.expired).toEqual([{ concertId: concert.id, reason: 'LEFT' }]));
      await eventually(() => expect(d.admitted).toHaveLength(1));
      const again = await joinHttp(server, c.user, concert.id);
      expect(again).toMatchObject({ status: 201, body: { status: 'WAITING', ticket: 5, position: 1 } });
      expect(again.body.token).not.toBe(c.token);
      closeAll([a, b, c, d]);
    });
  });

  describe('the gate (seat map) and payment', () => {
    it('lets only an ACTIVE entry of that concert see the seat map', async () => {
      const [concert, otherConcert] = [await createConcert(server), await createConcert(server)];
      const dateId = concert.dates[0]!.id;
      const seats = (user: { token: string }, queueToken?: string) =>
        http(server, 'GET', `/dates/${dateId}/seats`, { token: user.token, headers: queueToken ? { 'queue-token': queueToken } : {} });
      const [a, b] = [await waiter(server, concert.id), await waiter(server, concert.id)];
      const c = await waiter(server, concert.id);
      await eventually(() => expect([a, b].map((w) => w.admitted.length)).toEqual([1, 1]));
      const elsewhere = (await joinHttp(server, a.user, otherConcert.id)).body.token;
      expect((await seats(a.user, a.token)).status).toBe(200);
      expect(await seats(c.user, c.token)).toMatchObject({ status: 403, body: { error: { code: 'QUEUE_NOT_ACTIVE' } } });
      for (const [user, token] of [[a.user, undefined], [a.user, elsewhere], [c.user, a.token]] as const) {
        expect(await seats(user, token)).toMatchObject({ status: 401, body: { error: { code: 'QUEUE_TOKEN_INVALID' } } });
      }
      await leave(a);
      expect(await seats(a.user, a.token)).toMatchObject({ status: 401, body: { error: { code: 'QUEUE_TOKEN_INVALID' } } });
      closeAll([a, b, c]);
    });

    it('ends the entry when the user pays (PAID) and gives the slot to the next waiter', async () => {
      const concert = await createConcert(server, { price: 1000 });
      const [a, b, c] = [await waiter(server, concert.id), await waiter(server, concert.id), await waiter(server, concert.id)];
      await eventually(() => expect([a, b].map((w) => w.admitted.length)).toEqual([1, 1]));
      const headers = { 'queue-token': a.token };
      expect((await http(server, 'POST', '/wallets/charge', { token: a.user.token, body: { amount: 5000 } })).status).toBe(200);
      const held = await http(server, 'POST', '/reservations', { token: a.user.token, headers, body: { dateId: concert.dates[0]!.id, seatNumbers: [1] } });
      expect(held.status).toBe(201);
      const paid = await http(server, 'POST', '/payments', { token: a.user.token, headers, body: { reservationId: held.body.id } });
      expect(paid.status).toBe(201);
      await eventually(() => expect(a.expired).toEqual([{ concertId: concert.id, reason: 'PAID' }]));
      await eventually(() => expect(c.admitted).toHaveLength(1));
      expect(await statusHttp(server, a.user, a.token)).toMatchObject({ status: 200, body: { status: 'EXPIRED' } });
      closeAll([a, b, c]);
    });

    it('tells waiters once per transition to sold out: once when the last seat is paid, again after a refund frees it and it is sold again', async () => {
      const concert = await createConcert(server, { seats: 1 });
      // Each payment ends the payer's turn and admits the next waiter: w1 and w2 take those slots, w stays waiting throughout.
      const joined: Waiter[] = [];
      for (let i = 0; i < 5; i++) joined.push(await waiter(server, concert.id));
      const [a, b, w1, w2, w] = joined as [Waiter, Waiter, Waiter, Waiter, Waiter];
      await eventually(() => expect([a, b].map((x) => x.admitted.length)).toEqual([1, 1]));
      const dateId = concert.dates[0]!.id;
      for (const x of [a, b]) expect((await x.socket.emitWithAck('wallet:charge', { amount: 10_000 })).ok).toBe(true);
      const first = await a.socket.emitWithAck('seats:hold', { dateId, seatNumbers: [1], queueToken: a.token });
      expect(first.ok).toBe(true);
      expect((await a.socket.emitWithAck('payment:pay', { reservationId: first.data.id, queueToken: a.token })).ok).toBe(true);
      await eventually(() => expect(w.soldout).toBe(1));
      // Refunded: the seat is free again. The sold-out check runs on a server timer (a 250 ms
      // debounce after a seat change), not on this socket, so no round trip can stand in for it:
      // give it time to record "seats again" before b buys the seat.
      expect((await a.socket.emitWithAck('reservation:cancel', { reservationId: first.data.id })).ok).toBe(true);
      await sleep(600);
      const second = await b.socket.emitWithAck('seats:hold', { dateId, seatNumbers: [1], queueToken: b.token });
      expect(second.ok).toBe(true);
      expect((await b.socket.emitWithAck('payment:pay', { reservationId: second.data.id, queueToken: b.token })).ok).toBe(true);
      await eventually(() => expect(w.soldout).toBe(2));
      // And time to run again, had the sale been announced twice.
      await sleep(600);
      expect(w.soldout).toBe(2);
      expect(b.soldout + a.soldout).toBe(0);
      closeAll([a, b, w1, w2, w]);
    });
  });
}
