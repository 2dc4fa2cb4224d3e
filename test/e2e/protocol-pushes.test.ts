/**
 * PROTOCOL.md acceptance, Socket.IO and its pushes: every client event once
 * with its exact ack, and every push it causes (queue:admitted,
 * seats:changed, reservation:updated, queue:expired PAID/LEFT); the pushes of
 * a hold that lapses.
 *
 * Where PROTOCOL.md is ambiguous and docs/api.md (or a page it links)
 * documents the choice, the documented choice is asserted and marked
 * "documented choice".
 *
 * Servers, one per describe and never two at once (see serverFor):
 *   main    FAST_QUEUE, default TTLs (HOLD_TTL_SECONDS 300)
 *   short   FAST_QUEUE, HOLD_TTL_SECONDS=1 (hold expiry)
 */
import { createConcert, http, nextEvent, serverFor, signup, type TestServer } from '../support/server';
import { ask, client, closeClients, record, roundTrip } from '../support/clients';
import { liveSeats, reservationStatus, userState } from '../support/db';
import { FAST_QUEUE, activeToken } from '../support/queue';
import {
  anId,
  expectAckError,
  expectAckOk,
  expectHttpError,
  expectQueueStatus,
  expectSeatsChanged,
  freeSeats,
  isoTime,
  reservation,
  seatMap,
} from '../support/shapes';

afterEach(closeClients);

describe('a buyer’s journey over Socket.IO (FAST_QUEUE, default TTLs)', () => {
  let main: TestServer;
  serverFor({ env: { ...FAST_QUEUE } }, (s) => (main = s));

  it('every client event once with its exact ack, and the pushes it causes: queue:admitted, seats:changed, reservation:updated, queue:expired PAID/LEFT', async () => {
    const concert = await createConcert(main, { price: 2500 });
    const date = concert.dates[0]!;
    const dateId = date.id;
    const user = await signup(main);
    const s = await client(main, user.token);

    const list = expectAckOk(await ask(s, 'concerts:list', {}));
    expect(list.concerts.find((c: any) => c.id === concert.id)).toEqual({
      id: concert.id,
      title: expect.any(String),
      venue: 'Test hall',
      nextDateAt: date.startsAt,
      availableDates: 1,
      opensAt: isoTime(),
      minPrice: 2500,
      maxPrice: 2500,
    });
    expect(expectAckOk(await ask(s, 'concert:dates', { concertId: concert.id }))).toEqual({
      dates: [{ id: dateId, startsAt: date.startsAt, totalSeats: 50, freeSeats: 50, heldSeats: 0 }],
    });

    // queue:join → QueueStatus with token; again → same entry; queue:admitted push.
    const admitted = nextEvent(s, 'queue:admitted', (p) => p.concertId === concert.id, 15_000);
    const joined = expectAckOk(await ask(s, 'queue:join', { concertId: concert.id }));
    expectQueueStatus(joined, concert.id, joined.status, 'required');
    const queueToken: string = joined.token;
    const again = expectAckOk(await ask(s, 'queue:join', { concertId: concert.id }));
    expect({ token: again.token, ticket: again.ticket }).toEqual({ token: queueToken, ticket: joined.ticket });
    if (joined.status === 'WAITING') expect(await admitted).toEqual({ concertId: concert.id, expiresAt: isoTime() });
    const status = expectAckOk(await ask(s, 'queue:status', { queueToken }));
    expectQueueStatus(status, concert.id, 'ACTIVE');

    // A watcher (two sockets) watches the date.
    const watcher = await signup(main);
    const wq = await activeToken(main, watcher, concert.id);
    const ws = await client(main, watcher.token);
    const ws2 = await client(main, watcher.token);
    const snap = expectAckOk(await ask(ws, 'seats:watch', { dateId, queueToken: wq }));
    expect(snap).toEqual(seatMap(dateId, concert.id, date.startsAt, freeSeats(50, 2500)));
    expectAckOk(await ask(ws2, 'seats:watch', { dateId, queueToken: wq }));
    const v0: number = snap.version;

    // seats:hold → Reservation; seats:changed (only the changed seats, version + 1); reservation:updated.
    const heldPush = nextEvent(ws, 'seats:changed', (e) => e.version === v0 + 1);
    const updHeld = nextEvent(s, 'reservation:updated', (r) => r.status === 'HELD');
    const s2 = await client(main, user.token);
    const updHeldOther = nextEvent(s2, 'reservation:updated', (r) => r.status === 'HELD');
    const held = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [7, 5], queueToken }));
    expect(held).toEqual(
      reservation({ dateId, concertId: concert.id, status: 'HELD', seats: [{ number: 5, price: 2500 }, { number: 7, price: 2500 }], total: 5000 }),
    );
    expectSeatsChanged(await heldPush, dateId, v0 + 1, [
      { number: 5, status: 'HELD' },
      { number: 7, status: 'HELD' },
    ]);
    expect(await updHeld).toEqual(held);
    expect(await updHeldOther).toEqual(held);
    const snap2 = expectAckOk(await ask(ws, 'seats:watch', { dateId, queueToken: wq }));
    expect(snap2.version).toBe(v0 + 1);
    expect(snap2.seats.filter((x: any) => x.status !== 'FREE').map((x: any) => x.number)).toEqual([5, 7]);

    // wallet:charge (with and without key), wallet:get (payload omitted: documented choice).
    expect(await ask(s, 'wallet:charge', { amount: 6000 })).toEqual({ ok: true, data: { balance: 6000 } });
    expect(await ask(s, 'wallet:charge', { amount: 1000, idempotencyKey: 'sock-k1' })).toEqual({ ok: true, data: { balance: 7000 } });
    expect(await ask(s, 'wallet:charge', { amount: 1000, idempotencyKey: 'sock-k1' })).toEqual({ ok: true, data: { balance: 7000 } });
    const wallet = expectAckOk(await ask(s, 'wallet:get', {}));
    expect(wallet).toEqual({
      balance: 7000,
      history: [
        { id: anId(), kind: 'CHARGE', amount: 1000, balanceAfter: 7000, at: isoTime() },
        { id: anId(), kind: 'CHARGE', amount: 6000, balanceAfter: 6000, at: isoTime() },
      ],
    });
    expect(expectAckOk(await ask(s, 'wallet:get'))).toEqual(wallet);

    // payment:pay → {payment, reservation, balance}; SOLD push; reservation:updated; queue:expired PAID.
    const soldPush = nextEvent(ws, 'seats:changed', (e) => e.version === v0 + 2);
    const updConfirmed = nextEvent(s, 'reservation:updated', (r) => r.status === 'CONFIRMED');
    const expiredPaid = nextEvent(s, 'queue:expired', (e) => e.concertId === concert.id);
    const paid = expectAckOk(await ask(s, 'payment:pay', { reservationId: held.id, queueToken }));
    expect(paid).toEqual({
      payment: { id: anId(), amount: 5000, at: isoTime() },
      reservation: { ...held, status: 'CONFIRMED', paidAt: isoTime() },
      balance: 2000,
    });
    expectSeatsChanged(await soldPush, dateId, v0 + 2, [
      { number: 5, status: 'SOLD' },
      { number: 7, status: 'SOLD' },
    ]);
    expect(await updConfirmed).toEqual(paid.reservation);
    expect(await expiredPaid).toEqual({ concertId: concert.id, reason: 'PAID' });
    expectQueueStatus(expectAckOk(await ask(s, 'queue:status', { queueToken })), concert.id, 'EXPIRED');

    // reservations:mine equals GET /reservations/me.
    const mine = expectAckOk(await ask(s, 'reservations:mine', {}));
    expect(mine).toEqual({ reservations: [paid.reservation] });
    expect((await http(main, 'GET', '/reservations/me', { token: user.token })).body).toEqual(mine);

    // reservation:cancel of a CONFIRMED one: CANCELED, refunded, seats FREE.
    const freedPush = nextEvent(ws, 'seats:changed', (e) => e.version === v0 + 3);
    const updCanceled = nextEvent(s, 'reservation:updated', (r) => r.status === 'CANCELED');
    const canceled = expectAckOk(await ask(s, 'reservation:cancel', { reservationId: held.id }));
    expect(canceled).toEqual({ ...paid.reservation, status: 'CANCELED', paidAt: expect.any(String) });
    expectSeatsChanged(await freedPush, dateId, v0 + 3, [
      { number: 5, status: 'FREE' },
      { number: 7, status: 'FREE' },
    ]);
    expect(await updCanceled).toEqual(canceled);
    const refunded = expectAckOk(await ask(s, 'wallet:get', {}));
    expect(refunded.balance).toBe(7000);
    expect(refunded.history[0]).toEqual({ id: anId(), kind: 'REFUND', amount: 5000, balanceAfter: 7000, at: isoTime() });
    expect(refunded.history.map((h: any) => h.kind)).toEqual(['REFUND', 'PAYMENT', 'CHARGE', 'CHARGE']);

    // seats:unwatch → {}; the socket gets no more seats:changed. ws2 still watches: its push shows the
    // change was broadcast, and a round trip on ws then shows that none of it reached ws.
    const unwatchedSeen = record(ws, 'seats:changed');
    expect(await ask(ws, 'seats:unwatch', { dateId })).toEqual({ ok: true, data: {} });
    const barrier = nextEvent(ws2, 'seats:changed', (e) => e.version === v0 + 4);
    expectAckOk(await ask(ws2, 'seats:hold', { dateId, seatNumbers: [20], queueToken: wq }));
    await barrier;
    await roundTrip(ws);
    expect(unwatchedSeen).toEqual([]);

    // queue:leave → {} and queue:expired LEFT, on every socket of the user.
    const left1 = nextEvent(ws, 'queue:expired');
    const left2 = nextEvent(ws2, 'queue:expired');
    expect(await ask(ws, 'queue:leave', { queueToken: wq })).toEqual({ ok: true, data: {} });
    expect(await left1).toEqual({ concertId: concert.id, reason: 'LEFT' });
    expect(await left2).toEqual({ concertId: concert.id, reason: 'LEFT' });
    expectAckError(await ask(ws, 'seats:watch', { dateId, queueToken: wq }), 'QUEUE_TOKEN_INVALID');
  });
});

describe('hold expiry (HOLD_TTL_SECONDS=1)', () => {
  let short: TestServer;
  serverFor({ env: { ...FAST_QUEUE, HOLD_TTL_SECONDS: '1' } }, (s) => (short = s));

  it('an unpaid hold lapses: reservation:updated EXPIRED (not before expiresAt), seats:changed FREE; paying it is RESERVATION_NOT_PAYABLE; cancel answers it EXPIRED', async () => {
    const concert = await createConcert(short, { price: 500 });
    const date = concert.dates[0]!;
    const [user, watcher] = await Promise.all([signup(short), signup(short)]);
    const [qt, wq] = await Promise.all([activeToken(short, user, concert.id), activeToken(short, watcher, concert.id)]);
    const s = await client(short, user.token);
    const ws = await client(short, watcher.token);
    const snap = expectAckOk(await ask(ws, 'seats:watch', { dateId: date.id, queueToken: wq }));
    expectAckOk(await ask(s, 'wallet:charge', { amount: 5000 }));

    const expiredUpd = nextEvent(s, 'reservation:updated', (r) => r.status === 'EXPIRED', 10_000);
    const freed = nextEvent(ws, 'seats:changed', (e) => e.version === snap.version + 2, 10_000);
    const held = expectAckOk(await ask(s, 'seats:hold', { dateId: date.id, seatNumbers: [2, 1], queueToken: qt }));
    expect(Date.parse(held.expiresAt) - Date.parse(held.createdAt)).toBe(1000);
    const updated = await expiredUpd;
    const seenAt = Date.now();
    expect(seenAt).toBeGreaterThanOrEqual(Date.parse(held.expiresAt));
    expect(updated).toEqual({ ...held, status: 'EXPIRED' });
    expectSeatsChanged(await freed, date.id, snap.version + 2, [
      { number: 1, status: 'FREE' },
      { number: 2, status: 'FREE' },
    ]);
    const before = await userState(short.db, user.id);
    expectHttpError(await http(short, 'POST', '/payments', { token: user.token, headers: { 'queue-token': qt }, body: { reservationId: held.id } }), 409, 'RESERVATION_NOT_PAYABLE');
    expectAckError(await ask(s, 'payment:pay', { reservationId: held.id, queueToken: qt }), 'RESERVATION_NOT_PAYABLE');
    expect(await userState(short.db, user.id)).toEqual(before);
    const cancel = await http(short, 'POST', `/reservations/${held.id}/cancel`, { token: user.token });
    expect(cancel.status).toBe(200);
    expect(cancel.body).toEqual({ ...held, status: 'EXPIRED' });
    expect(await reservationStatus(short.db, held.id)).toBe('EXPIRED');
    expect(await liveSeats(short.db, date.id)).toEqual([]);
  });
});
