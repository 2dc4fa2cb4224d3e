/**
 * PROTOCOL.md acceptance, refusals that every command shares: an invalid
 * queue token, ids that name nothing, schema mismatches, an unknown event and
 * a flood of events; "a rejected command changes nothing" checked in the database.
 *
 * Where PROTOCOL.md is ambiguous and docs/api.md (or a page it links)
 * documents the choice, the documented choice is asserted and marked
 * "documented choice".
 *
 * Server: main (FAST_QUEUE, default TTLs).
 */
import jwt from 'jsonwebtoken';
import { createConcert, http, serverFor, signup, type TestServer } from '../support/server';
import { ask, client, closeClients, roundTrip } from '../support/clients';
import { liveSeats, reservationStatus, userState } from '../support/db';
import { FAST_QUEUE, activeToken } from '../support/queue';
import { expectAckError, expectAckOk, expectHttpError, expectQueueStatus } from '../support/shapes';

let main: TestServer;
serverFor({ env: { ...FAST_QUEUE } }, (s) => (main = s));
afterEach(closeClients);

describe('refusals every command shares', () => {
  it('a missing, forged, user, another user’s or another concert’s queue token is refused with 401 QUEUE_TOKEN_INVALID on seat map, hold, watch and pay, and changes nothing', async () => {
    const [x, y] = await Promise.all([createConcert(main, { price: 100 }), createConcert(main, { price: 100 })]);
    const dateX = x.dates[0]!.id;
    const [a, b] = await Promise.all([signup(main), signup(main)]);
    const [aX, aY, bX] = await Promise.all([activeToken(main, a, x.id), activeToken(main, a, y.id), activeToken(main, b, x.id)]);
    const sa = await client(main, a.token);
    const forged = jwt.sign(jwt.decode(aX) as object, 'another-secret-entirely-0123456789', { algorithm: 'HS256' });
    const invalid: [string, string | undefined][] = [
      ['missing', undefined],
      ['garbage', 'garbage'],
      ['forged', forged],
      ['a user token', a.token],
      ['another user’s', bX],
      ['another concert’s', aY],
    ];
    for (const [label, qt] of invalid) {
      const headers: Record<string, string> = qt === undefined ? {} : { 'queue-token': qt };
      const map = await http(main, 'GET', `/dates/${dateX}/seats`, { token: a.token, headers });
      expect({ label, status: map.status, code: map.body?.error?.code }).toEqual({ label, status: 401, code: 'QUEUE_TOKEN_INVALID' });
      const hold = await http(main, 'POST', '/reservations', { token: a.token, headers, body: { dateId: dateX, seatNumbers: [1] } });
      expect({ label, status: hold.status, code: hold.body?.error?.code }).toEqual({ label, status: 401, code: 'QUEUE_TOKEN_INVALID' });
      expectHttpError(hold, 401, 'QUEUE_TOKEN_INVALID');
      const payload = qt === undefined ? {} : { queueToken: qt };
      const sockHold = await ask(sa, 'seats:hold', { dateId: dateX, seatNumbers: [2], ...payload });
      expect({ label, code: sockHold.error?.code }).toEqual({ label, code: 'QUEUE_TOKEN_INVALID' });
      expectAckError(sockHold, 'QUEUE_TOKEN_INVALID');
      const watch = await ask(sa, 'seats:watch', { dateId: dateX, ...payload });
      expect({ label, code: watch.error?.code }).toEqual({ label, code: 'QUEUE_TOKEN_INVALID' });
    }
    expect(await liveSeats(main.db, dateX)).toEqual([]);

    // Pay: A holds with its own token, then pays with invalid ones.
    const held = expectAckOk(await ask(sa, 'seats:hold', { dateId: dateX, seatNumbers: [3], queueToken: aX }));
    expect(await ask(sa, 'wallet:charge', { amount: 1000 })).toEqual({ ok: true, data: { balance: 1000 } });
    const before = await userState(main.db, a.id);
    for (const [label, qt] of invalid) {
      const headers: Record<string, string> = qt === undefined ? {} : { 'queue-token': qt };
      const pay = await http(main, 'POST', '/payments', { token: a.token, headers, body: { reservationId: held.id } });
      expect({ label, status: pay.status, code: pay.body?.error?.code }).toEqual({ label, status: 401, code: 'QUEUE_TOKEN_INVALID' });
      const sockPay = await ask(sa, 'payment:pay', { reservationId: held.id, ...(qt === undefined ? {} : { queueToken: qt }) });
      expect({ label, code: sockPay.error?.code }).toEqual({ label, code: 'QUEUE_TOKEN_INVALID' });
    }
    expect(await userState(main.db, a.id)).toEqual(before);
    expect(await reservationStatus(main.db, held.id)).toBe('HELD');
    expectQueueStatus(expectAckOk(await ask(sa, 'queue:status', { queueToken: aX })), x.id, 'ACTIVE');
    expectAckError(await ask(sa, 'queue:status', { queueToken: bX }), 'QUEUE_TOKEN_INVALID');
    expectAckError(await ask(sa, 'queue:status', {}), 'QUEUE_TOKEN_INVALID');
    expectAckError(await ask(sa, 'queue:leave', { queueToken: bX }), 'QUEUE_TOKEN_INVALID');
    expect((await http(main, 'GET', '/queue/status', { token: b.token, headers: { 'queue-token': bX } })).body.status).toBe('ACTIVE');
  });

  it('an unknown concert, date, seat number (details.seatNumbers) or reservation is 404 NOT_FOUND; non-digit path ids are 400', async () => {
    const concert = await createConcert(main, { seats: 10 });
    const dateId = concert.dates[0]!.id;
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const qh = { 'queue-token': qt };
    const s = await client(main, user.token);
    expectHttpError(await http(main, 'GET', '/dates/2147483000/seats', { token: user.token, headers: qh }), 404, 'NOT_FOUND');
    expectAckError(await ask(s, 'seats:watch', { dateId: 2147483000, queueToken: qt }), 'NOT_FOUND');
    expectHttpError(await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId: 2147483000, seatNumbers: [1] } }), 404, 'NOT_FOUND');
    const unknownSeat = await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId, seatNumbers: [2, 11] } });
    expectHttpError(unknownSeat, 404, 'NOT_FOUND');
    expect(unknownSeat.body.error.details).toEqual({ seatNumbers: [11] });
    expectAckError(await ask(s, 'seats:hold', { dateId, seatNumbers: [51], queueToken: qt }), 'NOT_FOUND');
    expectAckError(await ask(s, 'queue:join', { concertId: 2147483000 }), 'NOT_FOUND');
    expectHttpError(await http(main, 'POST', '/reservations/2147483000/cancel', { token: user.token }), 404, 'NOT_FOUND');
    expectAckError(await ask(s, 'reservation:cancel', { reservationId: 2147483000 }), 'NOT_FOUND');
    expectHttpError(await http(main, 'POST', '/payments', { token: user.token, headers: qh, body: { reservationId: 2147483000 } }), 404, 'NOT_FOUND');
    expectAckError(await ask(s, 'payment:pay', { reservationId: 2147483000, queueToken: qt }), 'NOT_FOUND');
    expectHttpError(await http(main, 'GET', '/dates/abc/seats', { token: user.token, headers: qh }), 400, 'VALIDATION_FAILED');
    expectHttpError(await http(main, 'POST', '/reservations/abc/cancel', { token: user.token }), 400, 'VALIDATION_FAILED');
    expect(await liveSeats(main.db, dateId)).toEqual([]);
    expect((await userState(main.db, user.id)).reservations).toBe(0);
  });

  it('well-formed ids and seat numbers that name nothing are 404 NOT_FOUND whatever their size (ids are opaque; only malformed ones are 400)', async () => {
    const concert = await createConcert(main, { seats: 10 });
    const dateId = concert.dates[0]!.id;
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const s = await client(main, user.token);
    expectHttpError(await http(main, 'GET', '/concerts/9999999999/dates', { token: user.token }), 404, 'NOT_FOUND');
    expectAckError(await ask(s, 'concert:dates', { concertId: 9999999999 }), 'NOT_FOUND');
    expectHttpError(await http(main, 'POST', '/reservations/9999999999/cancel', { token: user.token }), 404, 'NOT_FOUND');
    expectAckError(await ask(s, 'seats:hold', { dateId, seatNumbers: [1_000_000], queueToken: qt }), 'NOT_FOUND');
    expect(await liveSeats(main.db, dateId)).toEqual([]);
  });

  it('schema mismatches are refused on both transports with 400 VALIDATION_FAILED listing the failing paths, as are non-object socket payloads; nothing changes', async () => {
    const concert = await createConcert(main);
    const dateId = concert.dates[0]!.id;
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const s = await client(main, user.token);
    const qh = { 'queue-token': qt };
    const cases: [string, unknown, string][] = [
      ['seats:hold', { dateId, seatNumbers: [], queueToken: qt }, '/seatNumbers'],
      ['seats:hold', { dateId, seatNumbers: [1, 1], queueToken: qt }, '/seatNumbers'],
      ['seats:hold', { dateId, seatNumbers: [0], queueToken: qt }, '/seatNumbers/0'],
      ['seats:hold', { dateId: 'x', seatNumbers: [1], queueToken: qt }, '/dateId'],
      ['seats:hold', { seatNumbers: [1], queueToken: qt }, '/dateId'],
      ['wallet:charge', { amount: 0 }, '/amount'],
      ['wallet:charge', { amount: 1.5 }, '/amount'],
      ['wallet:charge', { amount: '10' }, '/amount'],
      ['queue:join', {}, '/concertId'],
      ['payment:pay', { queueToken: qt }, '/reservationId'],
    ];
    for (const [event, payload, path] of cases) {
      const ack = await ask(s, event, payload);
      expect({ event, payload, code: ack.error?.code }).toEqual({ event, payload, code: 'VALIDATION_FAILED' });
      expectAckError(ack, 'VALIDATION_FAILED');
      expect(JSON.stringify(ack.error.details)).toContain(path);
    }
    for (const payload of [null, 'x', 5, [1]]) expectAckError(await ask(s, 'wallet:get', payload), 'VALIDATION_FAILED');
    const httpCases: [string, string, unknown, Record<string, string>, string][] = [
      ['POST', '/reservations', { dateId, seatNumbers: [1, 1] }, qh, '/seatNumbers'],
      ['POST', '/reservations', { seatNumbers: [1] }, qh, '/dateId'],
      ['POST', '/wallets/charge', { amount: -5 }, {}, '/amount'],
      ['POST', '/payments', {}, qh, '/reservationId'],
      ['POST', '/queue/token', { concertId: 0 }, {}, '/concertId'],
    ];
    for (const [method, path, body, headers, failing] of httpCases) {
      const res = await http(main, method, path, { token: user.token, body, headers });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expectHttpError(res, 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(res.body.error.details)).toContain(failing);
    }
    expect(await liveSeats(main.db, dateId)).toEqual([]);
    expect(await userState(main.db, user.id)).toEqual({ balance: 0, ledger: 0, reservations: 0, live: 0, payments: 0 });
  });

  it('each event acks exactly once, 300 at once on one socket; an unknown event is NOT_FOUND (documented)', async () => {
    const user = await signup(main);
    const s = await client(main, user.token);
    expectAckError(await ask(s, 'no:such:event', {}), 'NOT_FOUND');
    const n = 300;
    const acks = new Map<number, any[]>();
    await new Promise<void>((resolve) => {
      let done = 0;
      for (let i = 0; i < n; i++) {
        s.emit('seats:unwatch', { dateId: 1 }, (reply: unknown) => {
          const list = acks.get(i) ?? [];
          list.push(reply);
          acks.set(i, list);
          if (++done === n) resolve();
        });
      }
    });
    await roundTrip(s);
    expect([...acks.values()].every((l) => l.length === 1)).toBe(true);
    expect(acks.size).toBe(n);
    for (const [r] of acks.values()) expect(r).toEqual({ ok: true, data: {} });
  });
});
