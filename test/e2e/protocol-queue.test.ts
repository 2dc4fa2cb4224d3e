/**
 * PROTOCOL.md acceptance, the waiting room: joining, status and leaving over
 * HTTP with their errors; the pushes queue:tick, queue:admitted,
 * queue:expired, queue:soldout and QUEUE_FULL; expiry by TTL and idleness.
 *
 * Where PROTOCOL.md is ambiguous and docs/api.md (or a page it links)
 * documents the choice, the documented choice is asserted and marked
 * "documented choice".
 *
 * Servers, one per describe and never two at once (see serverFor):
 *   main    FAST_QUEUE, default TTLs
 *   queue   admit every 100 ms, QUEUE_MAX_ACTIVE=1, QUEUE_MAX_WAITING=2 (ticks, QUEUE_FULL, sold out)
 *   expiry  admit every 100 ms, QUEUE_MAX_ACTIVE=1, QUEUE_ACTIVE_TTL_SECONDS=2, QUEUE_IDLE_TIMEOUT_SECONDS=1
 */
import jwt from 'jsonwebtoken';
import { JWT_SECRET, createConcert, http, nextEvent, serverFor, signup, type TestServer } from '../support/server';
import { ask, client, closeClients, record, roundTrip } from '../support/clients';
import { liveSeats } from '../support/db';
import { FAST_QUEUE, activeToken } from '../support/queue';
import { expectAckError, expectAckOk, expectHttpError, expectQueueStatus, isoTime, nonNegative } from '../support/shapes';
import { waitFor } from '../support/wait';

afterEach(closeClients);

describe('the waiting room over HTTP (FAST_QUEUE)', () => {
  let main: TestServer;
  serverFor({ env: { ...FAST_QUEUE } }, (s) => (main = s));

  it('joining answers 201 for a new entry and 200 with the same token and ticket after; status follows it to ACTIVE; leaving answers {} and ends the entry at once', async () => {
    const concert = await createConcert(main);
    const user = await signup(main);
    const first = await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
    expect(first.status).toBe(201);
    expectQueueStatus(first.body, concert.id, first.body.status, 'required');
    const again = await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
    expect(again.status).toBe(200);
    expectQueueStatus(again.body, concert.id, again.body.status, 'required');
    expect({ token: again.body.token, ticket: again.body.ticket }).toEqual({ token: first.body.token, ticket: first.body.ticket });

    const qh = { 'queue-token': first.body.token as string };
    const active = await waitFor(async () => {
      const s = await http(main, 'GET', '/queue/status', { token: user.token, headers: qh });
      return s.body.status === 'ACTIVE' ? s : undefined;
    }, 'ACTIVE');
    expect(active.status).toBe(200);
    expectQueueStatus(active.body, concert.id, 'ACTIVE', 'optional');
    expect(active.body.ticket).toBe(first.body.ticket);
    const ttl = Date.parse(active.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);

    // An existing ACTIVE entry: join answers 200 with the same entry.
    const joinedActive = await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
    expect(joinedActive.status).toBe(200);
    expectQueueStatus(joinedActive.body, concert.id, 'ACTIVE', 'required');
    expect(joinedActive.body.token).toBe(first.body.token);

    const leave = await http(main, 'POST', '/queue/leave', { token: user.token, headers: qh });
    expect(leave.status).toBe(200);
    expect(leave.body).toEqual({});
    const ended = await http(main, 'GET', '/queue/status', { token: user.token, headers: qh });
    expect(ended.status).toBe(200);
    expectQueueStatus(ended.body, concert.id, 'EXPIRED', 'optional');
    expectHttpError(await http(main, 'GET', `/dates/${concert.dates[0]!.id}/seats`, { token: user.token, headers: qh }), 401, 'QUEUE_TOKEN_INVALID');

    const rejoin = await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
    expect(rejoin.status).toBe(201);
    expect(rejoin.body.ticket).toBeGreaterThan(first.body.ticket);
    expect(rejoin.body.token).not.toBe(first.body.token);
  });

  it('joining an unknown concert is 404 and a bad body 400; a missing, forged, expired or another user’s queue token is 401, and the owner’s entry stays untouched', async () => {
    const concert = await createConcert(main);
    const [owner, other] = await Promise.all([signup(main), signup(main)]);
    expectHttpError(await http(main, 'POST', '/queue/token', { token: owner.token, body: { concertId: 2147483000 } }), 404, 'NOT_FOUND');
    expectHttpError(await http(main, 'POST', '/queue/token', { token: owner.token, body: { concertId: 'x' } }), 400, 'VALIDATION_FAILED');
    expectHttpError(await http(main, 'POST', '/queue/token', { token: owner.token, body: {} }), 400, 'VALIDATION_FAILED');
    expectHttpError(await http(main, 'POST', '/queue/token', { body: { concertId: concert.id } }), 401, 'UNAUTHORIZED');

    const ownerToken = await activeToken(main, owner, concert.id);
    expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token }), 401, 'QUEUE_TOKEN_INVALID');
    expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': 'garbage' } }), 401, 'QUEUE_TOKEN_INVALID');
    const forged = jwt.sign(jwt.decode(ownerToken) as object, 'another-secret-entirely-0123456789', { algorithm: 'HS256' });
    expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': forged } }), 401, 'QUEUE_TOKEN_INVALID');
    expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': owner.token } }), 401, 'QUEUE_TOKEN_INVALID');
    const claims = jwt.decode(ownerToken) as jwt.JwtPayload;
    const expiredQt = jwt.sign({ ...claims, iat: Math.floor(Date.now() / 1000) - 120, exp: Math.floor(Date.now() / 1000) - 60 }, JWT_SECRET, { algorithm: 'HS256' });
    expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': expiredQt } }), 401, 'QUEUE_TOKEN_INVALID');
    expectHttpError(await http(main, 'GET', `/dates/${concert.dates[0]!.id}/seats`, { token: owner.token, headers: { 'queue-token': expiredQt } }), 401, 'QUEUE_TOKEN_INVALID');
    expectHttpError(await http(main, 'GET', '/queue/status', { token: other.token, headers: { 'queue-token': ownerToken } }), 401, 'QUEUE_TOKEN_INVALID');
    expectHttpError(await http(main, 'POST', '/queue/leave', { token: other.token, headers: { 'queue-token': ownerToken } }), 401, 'QUEUE_TOKEN_INVALID');
    expectHttpError(await http(main, 'POST', '/queue/leave', { token: owner.token }), 401, 'QUEUE_TOKEN_INVALID');
    const still = await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': ownerToken } });
    expectQueueStatus(still.body, concert.id, 'ACTIVE');
  });
});

describe('waiting room pushes (QUEUE_MAX_ACTIVE=1, QUEUE_MAX_WAITING=2, admit every 100 ms)', () => {
  let queueSrv: TestServer;
  serverFor({ env: { QUEUE_ADMIT_INTERVAL_MS: '100', QUEUE_ADMIT_BATCH: '50', QUEUE_MAX_ACTIVE: '1', QUEUE_MAX_WAITING: '2' } }, (s) => (queueSrv = s));

  it('waiters get one queue:tick per change with exact fields, queue:admitted and queue:expired LEFT; positions follow the formula; a WAITING entry is QUEUE_NOT_ACTIVE at the gate', async () => {
    const concert = await createConcert(queueSrv, { price: 100 });
    const dateId = concert.dates[0]!.id;
    const [a, b, c] = await Promise.all([signup(queueSrv), signup(queueSrv), signup(queueSrv)]);
    const [sa, sb, sc] = await Promise.all([client(queueSrv, a.token), client(queueSrv, b.token), client(queueSrv, c.token)]);
    const ticksA = record(sa, 'queue:tick');
    const ticksC = record(sc, 'queue:tick');

    const admittedA = nextEvent(sa, 'queue:admitted', undefined, 10_000);
    const ja = expectAckOk(await ask(sa, 'queue:join', { concertId: concert.id }));
    expectQueueStatus(ja, concert.id, 'WAITING', 'required');
    expect(ja.position).toBe(1);
    expect(await admittedA).toEqual({ concertId: concert.id, expiresAt: isoTime() });
    const tickA = await waitFor(() => ticksA[0], 'the tick that admitted A');
    expect(tickA).toEqual({ concertId: concert.id, tick: ja.tick + 1, admitted: 1, left: [], waiting: 0, etaSecondsPerPosition: nonNegative(), paused: false });

    const jb = expectAckOk(await ask(sb, 'queue:join', { concertId: concert.id }));
    expectQueueStatus(jb, concert.id, 'WAITING', 'required');
    const jc = expectAckOk(await ask(sc, 'queue:join', { concertId: concert.id }));
    expectQueueStatus(jc, concert.id, 'WAITING', 'required');
    expect({ b: [jb.position, jb.tick], c: [jc.position, jc.waiting, jc.tick] }).toEqual({ b: [1, tickA.tick], c: [2, 2, tickA.tick] });
    expect(jc.ticket).toBeGreaterThan(jb.ticket);
    expect(jb.ticket).toBeGreaterThan(ja.ticket);

    // QUEUE_NOT_ACTIVE (403) while WAITING: seat map, watch, hold; nothing is held.
    expectHttpError(await http(queueSrv, 'GET', `/dates/${dateId}/seats`, { token: b.token, headers: { 'queue-token': jb.token } }), 403, 'QUEUE_NOT_ACTIVE');
    expectHttpError(
      await http(queueSrv, 'POST', '/reservations', { token: b.token, headers: { 'queue-token': jb.token }, body: { dateId, seatNumbers: [1] } }),
      403,
      'QUEUE_NOT_ACTIVE',
    );
    expectAckError(await ask(sb, 'seats:watch', { dateId, queueToken: jb.token }), 'QUEUE_NOT_ACTIVE');
    expectAckError(await ask(sb, 'seats:hold', { dateId, seatNumbers: [1], queueToken: jb.token }), 'QUEUE_NOT_ACTIVE');
    expect(await liveSeats(queueSrv.db, dateId)).toEqual([]);

    // B leaves while WAITING: queue:expired LEFT; C's next tick names B's ticket in `left`.
    const leftB = nextEvent(sb, 'queue:expired');
    expect(await ask(sb, 'queue:leave', { queueToken: jb.token })).toEqual({ ok: true, data: {} });
    expect(await leftB).toEqual({ concertId: concert.id, reason: 'LEFT' });
    // Right after the leave: the entry has ended at once; C's position is exact at the tick it names
    // (documented choice: the leaver stops counting at the tick that announces it in `left`).
    expectQueueStatus(expectAckOk(await ask(sb, 'queue:status', { queueToken: jb.token })), concert.id, 'EXPIRED');
    const right = expectAckOk(await ask(sc, 'queue:status', { queueToken: jc.token }));
    expect([right.tick, right.position]).toEqual(right.tick === tickA.tick ? [tickA.tick, 2] : [tickA.tick + 1, 1]);
    const t1 = await waitFor(() => ticksC.find((t) => t.tick === tickA.tick + 1), 'the tick announcing B');
    expect(t1).toEqual({ concertId: concert.id, tick: tickA.tick + 1, admitted: 0, left: [jb.ticket], waiting: 1, etaSecondsPerPosition: nonNegative(), paused: false });
    const posC = jc.position - t1.admitted - t1.left.filter((x: number) => x < jc.ticket).length;
    expect(posC).toBe(1);
    const sc1 = expectAckOk(await ask(sc, 'queue:status', { queueToken: jc.token }));
    expectQueueStatus(sc1, concert.id, 'WAITING');
    expect({ position: sc1.position, tick: sc1.tick, waiting: sc1.waiting, ticket: sc1.ticket }).toEqual({ position: posC, tick: t1.tick, waiting: 1, ticket: jc.ticket });

    // A leaves while ACTIVE (HTTP): the slot goes to C at the next tick.
    const expiredA = nextEvent(sa, 'queue:expired');
    const admittedC = nextEvent(sc, 'queue:admitted', undefined, 10_000);
    const leave = await http(queueSrv, 'POST', '/queue/leave', { token: a.token, headers: { 'queue-token': ja.token } });
    expect(leave.status).toBe(200);
    expect(leave.body).toEqual({});
    expect(await expiredA).toEqual({ concertId: concert.id, reason: 'LEFT' });
    expect(await admittedC).toEqual({ concertId: concert.id, expiresAt: isoTime() });
    const t2 = await waitFor(() => ticksC.find((t) => t.tick === t1.tick + 1), 'the tick admitting C');
    expect(t2).toEqual({ concertId: concert.id, tick: t1.tick + 1, admitted: 1, left: [], waiting: 0, etaSecondsPerPosition: nonNegative(), paused: false });
    expect(ticksC.map((t) => t.tick)).toEqual([t1.tick, t2.tick]);
    expectQueueStatus(expectAckOk(await ask(sc, 'queue:status', { queueToken: jc.token })), concert.id, 'ACTIVE');
    expectQueueStatus(expectAckOk(await ask(sa, 'queue:status', { queueToken: ja.token })), concert.id, 'EXPIRED');
  });

  it('a join past QUEUE_MAX_WAITING is refused with 503 QUEUE_FULL and Retry-After, and changes nothing', async () => {
    const concert = await createConcert(queueSrv);
    const [a, b, c, d] = await Promise.all([signup(queueSrv), signup(queueSrv), signup(queueSrv), signup(queueSrv)]);
    await activeToken(queueSrv, a, concert.id);
    const jb = await http(queueSrv, 'POST', '/queue/token', { token: b.token, body: { concertId: concert.id } });
    const jc = await http(queueSrv, 'POST', '/queue/token', { token: c.token, body: { concertId: concert.id } });
    expect([jb.status, jc.status, jb.body.status, jc.body.status]).toEqual([201, 201, 'WAITING', 'WAITING']);
    const full = await http(queueSrv, 'POST', '/queue/token', { token: d.token, body: { concertId: concert.id } });
    expectHttpError(full, 503, 'QUEUE_FULL');
    const retryAfter = full.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const sd = await client(queueSrv, d.token);
    expectAckError(await ask(sd, 'queue:join', { concertId: concert.id }), 'QUEUE_FULL');
    const sc = await http(queueSrv, 'GET', '/queue/status', { token: c.token, headers: { 'queue-token': jc.body.token } });
    expect({ status: sc.body.status, position: sc.body.position, waiting: sc.body.waiting }).toEqual({ status: 'WAITING', position: 2, waiting: 2 });
  });

  it('all seats held is not sold out: no queue:soldout and the concert stays listed (heldSeats); once they are paid, queue:soldout {concertId} and it leaves GET /concerts', async () => {
    const concert = await createConcert(queueSrv, { seats: 1 });
    // A second concert sold after the first is held: its queue:soldout is the barrier after which
    // the first concert's (earlier) sold-out check has run too.
    const marker = await createConcert(queueSrv, { seats: 1 });
    const dateId = concert.dates[0]!.id;
    // a buys; paying ends a's turn and admits b, so c (behind b) is the one still waiting to be told.
    const [a, b, c] = await Promise.all([signup(queueSrv), signup(queueSrv), signup(queueSrv)]);
    const [sa, sb, sc] = await Promise.all([client(queueSrv, a.token), client(queueSrv, b.token), client(queueSrv, c.token)]);
    expectAckOk(await ask(sa, 'wallet:charge', { amount: 10_000 }));
    const [qa, qm] = [await activeToken(queueSrv, a, concert.id), await activeToken(queueSrv, a, marker.id)];
    for (const s of [sb, sc]) for (const x of [concert, marker]) expect(expectAckOk(await ask(s, 'queue:join', { concertId: x.id })).status).toBe('WAITING');
    const soldOuts = record(sc, 'queue:soldout');

    const held = expectAckOk(await ask(sa, 'seats:hold', { dateId, seatNumbers: [1], queueToken: qa }));
    const sold = expectAckOk(await ask(sa, 'seats:hold', { dateId: marker.dates[0]!.id, seatNumbers: [1], queueToken: qm }));
    expectAckOk(await ask(sa, 'payment:pay', { reservationId: sold.id, queueToken: qm }));
    await waitFor(() => soldOuts.some((e) => e.concertId === marker.id), 'queue:soldout of the sold concert');
    expect(soldOuts).toEqual([{ concertId: marker.id }]);
    // The catalog is public: no token.
    expect((await http(queueSrv, 'GET', '/concerts')).body.concerts.map((c: any) => c.id)).toContain(concert.id);
    const heldDates = await http(queueSrv, 'GET', `/concerts/${concert.id}/dates`);
    expect(heldDates.body).toEqual({ dates: [{ id: dateId, startsAt: concert.dates[0]!.startsAt, totalSeats: 1, freeSeats: 0, heldSeats: 1 }] });

    const soldout = nextEvent(sc, 'queue:soldout', (e) => e.concertId === concert.id, 10_000);
    expectAckOk(await ask(sa, 'payment:pay', { reservationId: held.id, queueToken: qa }));
    expect(await soldout).toEqual({ concertId: concert.id });
    const listed = (await http(queueSrv, 'GET', '/concerts')).body.concerts.map((c: any) => c.id);
    expect(listed).not.toContain(concert.id);
    expect(listed).not.toContain(marker.id);
    const soldDates = await http(queueSrv, 'GET', `/concerts/${concert.id}/dates`);
    expect(soldDates.body).toEqual({ dates: [{ id: dateId, startsAt: concert.dates[0]!.startsAt, totalSeats: 1, freeSeats: 0, heldSeats: 0 }] });
  });

  it('queue:tick reaches a waiting user who joined over HTTP and has a socket connected ("everyone waiting for the concert")', async () => {
    const concert = await createConcert(queueSrv);
    const [a, b] = await Promise.all([signup(queueSrv), signup(queueSrv)]);
    const qa = await activeToken(queueSrv, a, concert.id);
    const sb = await client(queueSrv, b.token);
    const ticksB = record(sb, 'queue:tick');
    const jb = await http(queueSrv, 'POST', '/queue/token', { token: b.token, body: { concertId: concert.id } });
    expect(jb.body.status).toBe('WAITING');
    const admittedB = nextEvent(sb, 'queue:admitted', undefined, 10_000);
    expect((await http(queueSrv, 'POST', '/queue/leave', { token: a.token, headers: { 'queue-token': qa } })).status).toBe(200);
    expect(await admittedB).toEqual({ concertId: concert.id, expiresAt: isoTime() });
    await waitFor(() => ticksB.length > 0, 'the tick that admitted B');
    await roundTrip(sb);
    expect(ticksB).toEqual([{ concertId: concert.id, tick: jb.body.tick + 1, admitted: 1, left: [], waiting: 0, etaSecondsPerPosition: nonNegative(), paused: false }]);
  });

  it('an admitted socket that polls queue:status stays out of the tick broadcast, and each poll still reads the entry (EXPIRED after leave)', async () => {
    const concert = await createConcert(queueSrv);
    const [a, b] = await Promise.all([signup(queueSrv), signup(queueSrv)]);
    const sa = await client(queueSrv, a.token);
    const ticksA = record(sa, 'queue:tick');
    const admittedA = nextEvent(sa, 'queue:admitted', undefined, 10_000);
    const ja = expectAckOk(await ask(sa, 'queue:join', { concertId: concert.id }));
    await admittedA;
    await waitFor(() => ticksA.length > 0, 'the tick that admitted A');
    // The first ACTIVE poll joins and leaves the group; the later ones skip both.
    for (let i = 0; i < 3; i++) expectQueueStatus(expectAckOk(await ask(sa, 'queue:status', { queueToken: ja.token })), concert.id, 'ACTIVE');
    const before = ticksA.length;

    const sb = await client(queueSrv, b.token);
    const ticksB = record(sb, 'queue:tick');
    const admittedB = nextEvent(sb, 'queue:admitted', undefined, 10_000);
    expect(expectAckOk(await ask(sb, 'queue:join', { concertId: concert.id })).status).toBe('WAITING');
    expect(await http(queueSrv, 'POST', '/queue/leave', { token: a.token, headers: { 'queue-token': ja.token } })).toMatchObject({ status: 200 });
    await admittedB;
    await waitFor(() => ticksB.length > 0, 'the tick that admitted B');
    expect(await ask(sa, 'queue:status', { queueToken: ja.token })).toMatchObject({ ok: true, data: { status: 'EXPIRED', ticket: ja.ticket } });
    await roundTrip(sa);
    expect(ticksA.length).toBe(before);
  });

  it('queue:soldout reaches a waiting user who joined over HTTP and has a socket connected ("every waiting user of the concert")', async () => {
    const concert = await createConcert(queueSrv, { seats: 1 });
    const dateId = concert.dates[0]!.id;
    // a's payment admits b: c, behind b, is the one still waiting when the concert sells out.
    const [a, b, c] = await Promise.all([signup(queueSrv), signup(queueSrv), signup(queueSrv)]);
    const qa = await activeToken(queueSrv, a, concert.id);
    const sc = await client(queueSrv, c.token);
    for (const u of [b, c]) expect((await http(queueSrv, 'POST', '/queue/token', { token: u.token, body: { concertId: concert.id } })).body.status).toBe('WAITING');
    const soldout = nextEvent(sc, 'queue:soldout', (e) => e.concertId === concert.id, 3_000);
    const held = await http(queueSrv, 'POST', '/reservations', { token: a.token, headers: { 'queue-token': qa }, body: { dateId, seatNumbers: [1] } });
    expect(held.status).toBe(201);
    expect((await http(queueSrv, 'POST', '/wallets/charge', { token: a.token, body: { amount: 10_000 } })).status).toBe(200);
    expect((await http(queueSrv, 'POST', '/payments', { token: a.token, headers: { 'queue-token': qa }, body: { reservationId: held.body.id } })).status).toBe(201);
    expect(await soldout).toEqual({ concertId: concert.id });
  });
});

describe('queue expiry (QUEUE_ACTIVE_TTL_SECONDS=2, QUEUE_IDLE_TIMEOUT_SECONDS=1)', () => {
  let expirySrv: TestServer;
  serverFor(
    { env: { QUEUE_ADMIT_INTERVAL_MS: '100', QUEUE_ADMIT_BATCH: '50', QUEUE_MAX_ACTIVE: '1', QUEUE_ACTIVE_TTL_SECONDS: '2', QUEUE_IDLE_TIMEOUT_SECONDS: '1' } },
    (s) => (expirySrv = s),
  );

  it('an admitted user gets queue:expired TIMEOUT once the active TTL passes, and the token is then refused at the gate', async () => {
    const concert = await createConcert(expirySrv);
    const user = await signup(expirySrv);
    const s = await client(expirySrv, user.token);
    const admitted = nextEvent(s, 'queue:admitted', undefined, 10_000);
    const joined = expectAckOk(await ask(s, 'queue:join', { concertId: concert.id }));
    const adm = await admitted;
    const status = expectAckOk(await ask(s, 'queue:status', { queueToken: joined.token }));
    expectQueueStatus(status, concert.id, 'ACTIVE');
    expect(status.expiresAt).toBe(adm.expiresAt);
    const ttl = Date.parse(adm.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
    const expired = await nextEvent(s, 'queue:expired', undefined, 10_000);
    expect(expired).toEqual({ concertId: concert.id, reason: 'TIMEOUT' });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(adm.expiresAt));
    expectQueueStatus(expectAckOk(await ask(s, 'queue:status', { queueToken: joined.token })), concert.id, 'EXPIRED');
    expectAckError(await ask(s, 'seats:watch', { dateId: concert.dates[0]!.id, queueToken: joined.token }), 'QUEUE_TOKEN_INVALID');
  });

  it('an idle waiter (no socket, no command) is expired: its ticket appears in `left` of the next tick and its status is EXPIRED', async () => {
    const concert = await createConcert(expirySrv);
    const [a, b, c] = await Promise.all([signup(expirySrv), signup(expirySrv), signup(expirySrv)]);
    const [sa, sb] = await Promise.all([client(expirySrv, a.token), client(expirySrv, b.token)]);
    const admittedA = nextEvent(sa, 'queue:admitted', undefined, 10_000);
    expectAckOk(await ask(sa, 'queue:join', { concertId: concert.id }));
    await admittedA;
    const ticksB = record(sb, 'queue:tick');
    const jb = expectAckOk(await ask(sb, 'queue:join', { concertId: concert.id }));
    expect(jb.status).toBe('WAITING');
    const jc = await http(expirySrv, 'POST', '/queue/token', { token: c.token, body: { concertId: concert.id } });
    expect(jc.body.status).toBe('WAITING');
    const tick = await waitFor(() => ticksB.find((t) => t.left.includes(jc.body.ticket)), 'the tick announcing the idle waiter', 10_000);
    expect(tick).toEqual({ concertId: concert.id, tick: expect.any(Number), admitted: expect.any(Number), left: [jc.body.ticket], waiting: expect.any(Number), etaSecondsPerPosition: nonNegative(), paused: false });
    const st = await http(expirySrv, 'GET', '/queue/status', { token: c.token, headers: { 'queue-token': jc.body.token } });
    expectQueueStatus(st.body, concert.id, 'EXPIRED');
  });
});
