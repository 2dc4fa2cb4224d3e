/**
 * PROTOCOL.md acceptance, reservations, wallet and payments: the whole HTTP
 * journey (seat map, hold, my reservations, charge, pay, cancel with refund)
 * and every refusal of a payment or a cancel, each of which changes nothing.
 *
 * Where PROTOCOL.md is ambiguous and docs/api.md (or a page it links)
 * documents the choice, the documented choice is asserted and marked
 * "documented choice".
 *
 * Server: main (FAST_QUEUE, default TTLs: HOLD_TTL_SECONDS 300, MAX_SEATS_PER_USER 4).
 */
import { createConcert, http, serverFor, signup, type TestServer } from '../support/server';
import { ask, client, closeClients } from '../support/clients';
import { liveSeats, reservationStatus, userState } from '../support/db';
import { FAST_QUEUE, activeToken } from '../support/queue';
import { anId, expectAckError, expectAckOk, expectHttpError, expectQueueStatus, freeSeats, isoTime, reservation, seatMap } from '../support/shapes';

let main: TestServer;
serverFor({ env: { ...FAST_QUEUE } }, (s) => (main = s));
afterEach(closeClients);

describe('reservations, wallet and payments', () => {
  it('over HTTP a buyer reads the seat map, holds (201), lists their reservations newest first, charges, pays (201) and cancels with a refund', async () => {
    const concert = await createConcert(main, { price: 1200 });
    const date = concert.dates[0]!;
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const qh = { 'queue-token': qt };

    const map = await http(main, 'GET', `/dates/${date.id}/seats`, { token: user.token, headers: qh });
    expect(map.status).toBe(200);
    expect(map.body).toEqual(seatMap(date.id, concert.id, date.startsAt, freeSeats(50, 1200)));
    const v0: number = map.body.version;

    const r1 = await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId: date.id, seatNumbers: [3, 1] } });
    expect(r1.status).toBe(201);
    const seats13 = [{ number: 1, price: 1200 }, { number: 3, price: 1200 }];
    expect(r1.body).toEqual(reservation({ dateId: date.id, concertId: concert.id, status: 'HELD', seats: seats13, total: 2400 }));
    expect(Date.parse(r1.body.expiresAt) - Date.parse(r1.body.createdAt)).toBe(300_000);
    const r2 = await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId: date.id, seatNumbers: [10] } });
    expect(r2.status).toBe(201);
    expect(r2.body).toEqual(reservation({ dateId: date.id, concertId: concert.id, status: 'HELD', seats: [{ number: 10, price: 1200 }], total: 1200 }));

    const map2 = await http(main, 'GET', `/dates/${date.id}/seats`, { token: user.token, headers: qh });
    expect(map2.body).toEqual({
      ...seatMap(date.id, concert.id, date.startsAt, freeSeats(50, 1200, 'GENERAL', (n) => ([1, 3, 10].includes(n) ? 'HELD' : 'FREE'))),
      version: v0 + 2,
    });

    const mine = await http(main, 'GET', '/reservations/me', { token: user.token });
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({ reservations: [r2.body, r1.body] });

    const dates = await http(main, 'GET', `/concerts/${concert.id}/dates`, { token: user.token });
    expect(dates.body.dates[0]).toEqual({ id: date.id, startsAt: date.startsAt, totalSeats: 50, freeSeats: 47, heldSeats: 3 });

    const w0 = await http(main, 'GET', '/wallets/me', { token: user.token });
    expect(w0.status).toBe(200);
    expect(w0.body).toEqual({ balance: 0, history: [] });
    const charged = await http(main, 'POST', '/wallets/charge', { token: user.token, body: { amount: 5000 } });
    expect(charged.status).toBe(200);
    expect(charged.body).toEqual({ balance: 5000 });

    const paid = await http(main, 'POST', '/payments', { token: user.token, headers: qh, body: { reservationId: r1.body.id } });
    expect(paid.status).toBe(201);
    expect(paid.body).toEqual({
      payment: { id: anId(), amount: 2400, at: isoTime() },
      reservation: { ...r1.body, status: 'CONFIRMED', paidAt: isoTime() },
      balance: 2600,
    });

    const w1 = await http(main, 'GET', '/wallets/me', { token: user.token });
    expect(w1.body).toEqual({
      balance: 2600,
      history: [
        { id: anId(), kind: 'PAYMENT', amount: 2400, balanceAfter: 2600, at: isoTime() },
        { id: anId(), kind: 'CHARGE', amount: 5000, balanceAfter: 5000, at: isoTime() },
      ],
    });
    expect(Date.parse(w1.body.history[0].at)).toBeGreaterThanOrEqual(Date.parse(w1.body.history[1].at));

    // After paying, the queue entry ends (PAID).
    const st = await http(main, 'GET', '/queue/status', { token: user.token, headers: qh });
    expectQueueStatus(st.body, concert.id, 'EXPIRED');

    // Cancel needs only the user token; a CONFIRMED reservation is refunded.
    const canceled = await http(main, 'POST', `/reservations/${r1.body.id}/cancel`, { token: user.token });
    expect(canceled.status).toBe(200);
    const canceledRest = { ...canceled.body };
    delete canceledRest.paidAt;
    expect(canceledRest).toEqual({ ...r1.body, status: 'CANCELED' });
    const w2 = await http(main, 'GET', '/wallets/me', { token: user.token });
    expect(w2.body.balance).toBe(5000);
    expect(w2.body.history[0]).toEqual({ id: anId(), kind: 'REFUND', amount: 2400, balanceAfter: 5000, at: isoTime() });
    expect(w2.body.history).toHaveLength(3);

    const canceledHeld = await http(main, 'POST', `/reservations/${r2.body.id}/cancel`, { token: user.token });
    expect(canceledHeld.status).toBe(200);
    expect(canceledHeld.body).toEqual({ ...r2.body, status: 'CANCELED' });
    expect((await http(main, 'GET', '/wallets/me', { token: user.token })).body.balance).toBe(5000);
    // Cancel is idempotent (documented choice): an ended reservation is answered as it is.
    const twice = await http(main, 'POST', `/reservations/${r2.body.id}/cancel`, { token: user.token });
    expect(twice.status).toBe(200);
    expect(twice.body).toEqual({ ...r2.body, status: 'CANCELED' });

    const after = await http(main, 'GET', `/concerts/${concert.id}/dates`, { token: user.token });
    expect(after.body.dates[0].freeSeats).toBe(50);
    expect(await liveSeats(main.db, date.id)).toEqual([]);
    const listed = await http(main, 'GET', '/reservations/me', { token: user.token });
    expect(listed.body.reservations.map((r: any) => [r.id, r.status])).toEqual([
      [r2.body.id, 'CANCELED'],
      [r1.body.id, 'CANCELED'],
    ]);
  });

  it('cancelling or paying another user’s reservation answers 404 NOT_FOUND exactly like a missing one, and changes nothing', async () => {
    const concert = await createConcert(main, { price: 100 });
    const dateId = concert.dates[0]!.id;
    const [a, b] = await Promise.all([signup(main), signup(main)]);
    const [aq, bq] = await Promise.all([activeToken(main, a, concert.id), activeToken(main, b, concert.id)]);
    const held = await http(main, 'POST', '/reservations', { token: a.token, headers: { 'queue-token': aq }, body: { dateId, seatNumbers: [1] } });
    expect(held.status).toBe(201);
    await http(main, 'POST', '/wallets/charge', { token: b.token, body: { amount: 1000 } });
    const [aBefore, bBefore] = await Promise.all([userState(main.db, a.id), userState(main.db, b.id)]);
    const missing = 2_000_000_000;
    const theirs = await http(main, 'POST', `/reservations/${held.body.id}/cancel`, { token: b.token });
    const none = await http(main, 'POST', `/reservations/${missing}/cancel`, { token: b.token });
    expectHttpError(theirs, 404, 'NOT_FOUND');
    expect(theirs.body).toEqual(none.body);
    const pay = (reservationId: number) => http(main, 'POST', '/payments', { token: b.token, headers: { 'queue-token': bq }, body: { reservationId } });
    const [paidTheirs, paidNone] = [await pay(held.body.id), await pay(missing)];
    expectHttpError(paidTheirs, 404, 'NOT_FOUND');
    expect(paidTheirs.body).toEqual(paidNone.body);
    const sb = await client(main, b.token);
    expectAckError(await ask(sb, 'reservation:cancel', { reservationId: held.body.id }), 'NOT_FOUND');
    expectAckError(await ask(sb, 'payment:pay', { reservationId: held.body.id, queueToken: bq }), 'NOT_FOUND');
    expect(await Promise.all([userState(main.db, a.id), userState(main.db, b.id)])).toEqual([aBefore, bBefore]);
    expect(await reservationStatus(main.db, held.body.id)).toBe('HELD');
  });

  it('paying a canceled or an already paid reservation is refused with 409 RESERVATION_NOT_PAYABLE and changes nothing', async () => {
    const concert = await createConcert(main, { price: 100 });
    const dateId = concert.dates[0]!.id;
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const s = await client(main, user.token);
    expectAckOk(await ask(s, 'wallet:charge', { amount: 1000 }));

    const canceled = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [1], queueToken: qt }));
    expectAckOk(await ask(s, 'reservation:cancel', { reservationId: canceled.id }));
    let before = await userState(main.db, user.id);
    expectHttpError(await http(main, 'POST', '/payments', { token: user.token, headers: { 'queue-token': qt }, body: { reservationId: canceled.id } }), 409, 'RESERVATION_NOT_PAYABLE');
    expectAckError(await ask(s, 'payment:pay', { reservationId: canceled.id, queueToken: qt }), 'RESERVATION_NOT_PAYABLE');
    expect(await userState(main.db, user.id)).toEqual(before);
    expect(await reservationStatus(main.db, canceled.id)).toBe('CANCELED');

    const paid = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [2], queueToken: qt }));
    expectAckOk(await ask(s, 'payment:pay', { reservationId: paid.id, queueToken: qt }));
    before = await userState(main.db, user.id);
    // Documented choice: the queue token is checked before the command's own rules, and a PAID entry's token is over.
    expectAckError(await ask(s, 'payment:pay', { reservationId: paid.id, queueToken: qt }), 'QUEUE_TOKEN_INVALID');
    const fresh = await activeToken(main, user, concert.id);
    expectHttpError(await http(main, 'POST', '/payments', { token: user.token, headers: { 'queue-token': fresh }, body: { reservationId: paid.id } }), 409, 'RESERVATION_NOT_PAYABLE');
    expectAckError(await ask(s, 'payment:pay', { reservationId: paid.id, queueToken: fresh }), 'RESERVATION_NOT_PAYABLE');
    expect(await userState(main.db, user.id)).toEqual(before);
    expect(await reservationStatus(main.db, paid.id)).toBe('CONFIRMED');
  });

  it('a payment the balance does not cover is refused with 402 INSUFFICIENT_BALANCE and changes nothing: the hold stays payable, and the failed keyed payment is not remembered', async () => {
    const concert = await createConcert(main, { price: 3000 });
    const dateId = concert.dates[0]!.id;
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const qh = { 'queue-token': qt };
    const held = await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId, seatNumbers: [1, 2] } });
    expect(held.status).toBe(201);
    await http(main, 'POST', '/wallets/charge', { token: user.token, body: { amount: 5999 } });
    const before = await userState(main.db, user.id);
    const res = await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-short' }, body: { reservationId: held.body.id } });
    expectHttpError(res, 402, 'INSUFFICIENT_BALANCE');
    const s = await client(main, user.token);
    expectAckError(await ask(s, 'payment:pay', { reservationId: held.body.id, queueToken: qt }), 'INSUFFICIENT_BALANCE');
    expect(await userState(main.db, user.id)).toEqual(before);
    expect(await reservationStatus(main.db, held.body.id)).toBe('HELD');
    expect(await liveSeats(main.db, dateId)).toEqual([1, 2]);
    expectQueueStatus((await http(main, 'GET', '/queue/status', { token: user.token, headers: qh })).body, concert.id, 'ACTIVE');
    expect((await http(main, 'GET', '/wallets/me', { token: user.token })).body.history).toHaveLength(1);

    await http(main, 'POST', '/wallets/charge', { token: user.token, body: { amount: 1 } });
    const ok = await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-short' }, body: { reservationId: held.body.id } });
    expect(ok.status).toBe(201);
    expect(ok.body.balance).toBe(0);
    expect(ok.body.reservation.status).toBe('CONFIRMED');
  });

  it('a repeated Idempotency-Key returns the first answer and changes nothing more; reusing it for a different request is 409 IDEMPOTENCY_CONFLICT', async () => {
    const concert = await createConcert(main, { price: 700 });
    const dateId = concert.dates[0]!.id;
    const user = await signup(main);
    const s = await client(main, user.token);

    const c1 = await http(main, 'POST', '/wallets/charge', { token: user.token, headers: { 'idempotency-key': 'charge-1' }, body: { amount: 2000 } });
    expect(c1.status).toBe(200);
    expect(c1.body).toEqual({ balance: 2000 });
    await http(main, 'POST', '/wallets/charge', { token: user.token, body: { amount: 100 } });
    const c2 = await http(main, 'POST', '/wallets/charge', { token: user.token, headers: { 'idempotency-key': 'charge-1' }, body: { amount: 2000 } });
    expect(c2.status).toBe(200);
    expect(c2.body).toEqual({ balance: 2000 });
    // Same key over the socket transport: the same user's same request.
    expect(await ask(s, 'wallet:charge', { amount: 2000, idempotencyKey: 'charge-1' })).toEqual({ ok: true, data: { balance: 2000 } });
    let before = await userState(main.db, user.id);
    expect(before.balance).toBe(2100);
    expect(before.ledger).toBe(2);
    expectHttpError(await http(main, 'POST', '/wallets/charge', { token: user.token, headers: { 'idempotency-key': 'charge-1' }, body: { amount: 2001 } }), 409, 'IDEMPOTENCY_CONFLICT');
    expectAckError(await ask(s, 'wallet:charge', { amount: 1, idempotencyKey: 'charge-1' }), 'IDEMPOTENCY_CONFLICT');
    expect(await userState(main.db, user.id)).toEqual(before);
    // Another user's key space is separate.
    const other = await signup(main);
    expect((await http(main, 'POST', '/wallets/charge', { token: other.token, headers: { 'idempotency-key': 'charge-1' }, body: { amount: 5 } })).body).toEqual({ balance: 5 });

    const qt = await activeToken(main, user, concert.id);
    const qh = { 'queue-token': qt };
    const r1 = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [1], queueToken: qt }));
    const r2 = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [2], queueToken: qt }));
    const p1 = await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-1' }, body: { reservationId: r1.id } });
    expect(p1.status).toBe(201);
    before = await userState(main.db, user.id);
    const p2 = await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-1' }, body: { reservationId: r1.id } });
    expect(p2.status).toBe(201);
    expect(p2.body).toEqual(p1.body);
    expect(await ask(s, 'payment:pay', { reservationId: r1.id, queueToken: qt, idempotencyKey: 'pay-1' })).toEqual({ ok: true, data: p1.body });
    expect(await userState(main.db, user.id)).toEqual(before);
    expectHttpError(
      await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-1' }, body: { reservationId: r2.id } }),
      409,
      'IDEMPOTENCY_CONFLICT',
    );
    expect(await userState(main.db, user.id)).toEqual(before);
    expect(await reservationStatus(main.db, r2.id)).toBe('HELD');
  });

  it('an Idempotency-Key used for a charge and then for a payment is a reuse with a different request: IDEMPOTENCY_CONFLICT, nothing changes', async () => {
    const concert = await createConcert(main, { price: 300 });
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const charged = await http(main, 'POST', '/wallets/charge', { token: user.token, headers: { 'idempotency-key': 'shared-key' }, body: { amount: 1000 } });
    expect(charged.body).toEqual({ balance: 1000 });
    const held = await http(main, 'POST', '/reservations', { token: user.token, headers: { 'queue-token': qt }, body: { dateId: concert.dates[0]!.id, seatNumbers: [1] } });
    const before = await userState(main.db, user.id);
    const pay = await http(main, 'POST', '/payments', { token: user.token, headers: { 'queue-token': qt, 'idempotency-key': 'shared-key' }, body: { reservationId: held.body.id } });
    expectHttpError(pay, 409, 'IDEMPOTENCY_CONFLICT');
    expect(await userState(main.db, user.id)).toEqual(before);
    expect(await reservationStatus(main.db, held.body.id)).toBe('HELD');
  });
});
