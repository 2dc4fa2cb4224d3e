/**
 * PROTOCOL.md acceptance, seats and holds: a seat that is not FREE, the
 * per-user seat limit, and races for one seat pair (with the charges and the
 * payment that follow), each checked in the database as well as in the replies.
 *
 * Where PROTOCOL.md is ambiguous and docs/api.md (or a page it links)
 * documents the choice, the documented choice is asserted and marked
 * "documented choice".
 *
 * Server: main (FAST_QUEUE, default TTLs: HOLD_TTL_SECONDS 300, MAX_SEATS_PER_USER 4).
 */
import { createConcert, http, serverFor, signup, type TestServer } from '../support/server';
import { ask, client, closeClients } from '../support/clients';
import { liveSeats, userState } from '../support/db';
import { FAST_QUEUE, activeToken } from '../support/queue';
import { expectAckError, expectAckOk, expectHttpError } from '../support/shapes';

let main: TestServer;
serverFor({ env: { ...FAST_QUEUE } }, (s) => (main = s));
afterEach(closeClients);

describe('holding seats', () => {
  it('a hold that takes in a seat that is not FREE is refused with 409 SEAT_UNAVAILABLE, details.seatNumbers listing those seats; nothing is held', async () => {
    const concert = await createConcert(main, { price: 100 });
    const date = concert.dates[0]!;
    const [a, b] = await Promise.all([signup(main), signup(main)]);
    const [aq, bq] = await Promise.all([activeToken(main, a, concert.id), activeToken(main, b, concert.id)]);
    expect((await http(main, 'POST', '/reservations', { token: a.token, headers: { 'queue-token': aq }, body: { dateId: date.id, seatNumbers: [4, 5] } })).status).toBe(201);
    const before = await http(main, 'GET', `/dates/${date.id}/seats`, { token: b.token, headers: { 'queue-token': bq } });
    const res = await http(main, 'POST', '/reservations', { token: b.token, headers: { 'queue-token': bq }, body: { dateId: date.id, seatNumbers: [3, 5, 4] } });
    expectHttpError(res, 409, 'SEAT_UNAVAILABLE');
    expect(res.body.error.details).toEqual({ seatNumbers: [4, 5] });
    const sb = await client(main, b.token);
    const ack = await ask(sb, 'seats:hold', { dateId: date.id, seatNumbers: [5, 6], queueToken: bq });
    expectAckError(ack, 'SEAT_UNAVAILABLE');
    expect(ack.error.details).toEqual({ seatNumbers: [5] });
    const after = await http(main, 'GET', `/dates/${date.id}/seats`, { token: b.token, headers: { 'queue-token': bq } });
    expect(after.body).toEqual(before.body);
    expect(await liveSeats(main.db, date.id)).toEqual([4, 5]);
    expect((await userState(main.db, b.id)).reservations).toBe(0);
  });

  it('a hold past MAX_SEATS_PER_USER (4) seats of a date, at once or across holds, held or owned, is refused with 409 HOLD_LIMIT_EXCEEDED; nothing is held', async () => {
    const concert = await createConcert(main, { price: 100 });
    const dateId = concert.dates[0]!.id;
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const s = await client(main, user.token);
    const qh = { 'queue-token': qt };
    expectHttpError(await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId, seatNumbers: [1, 2, 3, 4, 5] } }), 409, 'HOLD_LIMIT_EXCEEDED');
    expect(await liveSeats(main.db, dateId)).toEqual([]);
    const first = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [1, 2, 3], queueToken: qt }));
    expectAckError(await ask(s, 'seats:hold', { dateId, seatNumbers: [4, 5], queueToken: qt }), 'HOLD_LIMIT_EXCEEDED');
    expect(await liveSeats(main.db, dateId)).toEqual([1, 2, 3]);
    // Owned (paid) seats count too: rejoin after paying, then one more than the limit.
    expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [4], queueToken: qt }));
    expectAckOk(await ask(s, 'wallet:charge', { amount: 1000 }));
    expectAckOk(await ask(s, 'payment:pay', { reservationId: first.id, queueToken: qt }));
    const qt2 = await activeToken(main, user, concert.id);
    expectAckError(await ask(s, 'seats:hold', { dateId, seatNumbers: [9], queueToken: qt2 }), 'HOLD_LIMIT_EXCEEDED');
    expect(await liveSeats(main.db, dateId)).toEqual([1, 2, 3, 4]);
  });

  it('when many buyers race for one seat pair exactly one holds it; identical keyed charges at once charge once; one hold paid twice at once is paid once', async () => {
    const concert = await createConcert(main, { price: 100 });
    const dateId = concert.dates[0]!.id;
    const users = await Promise.all(Array.from({ length: 6 }, () => signup(main)));
    const tokens = await Promise.all(users.map((u) => activeToken(main, u, concert.id)));
    const holds = await Promise.all(
      users.map((u, i) => http(main, 'POST', '/reservations', { token: u.token, headers: { 'queue-token': tokens[i]! }, body: { dateId, seatNumbers: [7, 8] } })),
    );
    const won = holds.filter((h) => h.status === 201);
    expect(won).toHaveLength(1);
    for (const lost of holds.filter((h) => h.status !== 201)) {
      expectHttpError(lost, 409, 'SEAT_UNAVAILABLE');
      expect(lost.body.error.details).toEqual({ seatNumbers: [7, 8] });
    }
    expect(await liveSeats(main.db, dateId)).toEqual([7, 8]);
    const i = holds.findIndex((h) => h.status === 201);
    const winner = users[i]!;
    const charges = await Promise.all(
      Array.from({ length: 5 }, () => http(main, 'POST', '/wallets/charge', { token: winner.token, headers: { 'idempotency-key': 'race-charge' }, body: { amount: 1000 } })),
    );
    for (const c of charges) expect({ status: c.status, body: c.body }).toEqual({ status: 200, body: { balance: 1000 } });
    expect(await userState(main.db, winner.id)).toMatchObject({ balance: 1000, ledger: 1 });
    const pays = await Promise.all(
      [0, 1].map(() => http(main, 'POST', '/payments', { token: winner.token, headers: { 'queue-token': tokens[i]! }, body: { reservationId: won[0]!.body.id } })),
    );
    expect(pays.map((p) => p.status).sort()).toEqual([201, expect.any(Number)]);
    const second = pays.find((p) => p.status !== 201)!;
    expect(['RESERVATION_NOT_PAYABLE', 'QUEUE_TOKEN_INVALID']).toContain(second.body.error.code);
    expect(await userState(main.db, winner.id)).toMatchObject({ balance: 800, ledger: 2, payments: 1 });
  });
});
