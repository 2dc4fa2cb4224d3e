import { QueryTypes } from 'sequelize';
import { createConcert, http, nextEvent, signup, startServer, type TestServer } from '../support/server';
import { FAST_QUEUE } from '../support/queue';
import { buyer, hold } from '../support/buyers';
import { closeClients, roundTrip } from '../support/clients';
import { liveSeats, reservationStatus } from '../support/db';
import { sleep, waitFor } from '../support/wait';
import { DateRoom } from '../../src/rooms/date/date-room';
import { ReservationRepository } from '../../src/models/reservation-repository';
import { createLogger } from '../../src/logger';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ env: { ...FAST_QUEUE, HOLD_TTL_SECONDS: '300', MAX_SEATS_PER_USER: '4' } });
});
afterEach(closeClients);
afterAll(async () => {
  await server.close();
});

describe('seat map', () => {
  it('returns the snapshot and a second watcher sees consecutive deltas', async () => {
    const concert = await createConcert(server, { seats: 50, price: 1200 });
    const dateId = concert.dates[0]!.id;
    const [a, b] = [await buyer(server, concert.id), await buyer(server, concert.id)];
    const watch = await b.socket.emitWithAck('seats:watch', { dateId, queueToken: b.queueToken });
    expect(watch.ok).toBe(true);
    expect(watch.data).toMatchObject({ dateId, concertId: concert.id, startsAt: concert.dates[0]!.startsAt, version: expect.any(Number) });
    expect(watch.data.seats).toHaveLength(50);
    expect(watch.data.seats[0]).toEqual({ number: 1, grade: 'GENERAL', price: 1200, status: 'FREE' });
    expect(watch.data.seats.map((s: { number: number }) => s.number)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

    const deltas: any[] = [];
    b.socket.on('seats:changed', (d) => deltas.push(d));
    const first = await hold(a, dateId, [3, 4]);
    expect(first).toMatchObject({ ok: true, data: { status: 'HELD', seats: [{ number: 3, price: 1200 }, { number: 4, price: 1200 }], total: 2400 } });
    const cancel = await a.socket.emitWithAck('reservation:cancel', { reservationId: first.data.id });
    expect(cancel).toMatchObject({ ok: true, data: { id: first.data.id, status: 'CANCELED' } });
    await waitFor(() => deltas.length >= 2, 'the HELD and the FREE delta', 5000);
    expect(deltas).toEqual([
      { dateId, version: watch.data.version + 1, seats: [{ number: 3, status: 'HELD' }, { number: 4, status: 'HELD' }], at: expect.any(Number) },
      { dateId, version: watch.data.version + 2, seats: [{ number: 3, status: 'FREE' }, { number: 4, status: 'FREE' }], at: expect.any(Number) },
    ]);
    const rest = await http(server, 'GET', `/dates/${dateId}/seats`, { token: b.token, headers: { 'queue-token': b.queueToken } });
    expect(rest.status).toBe(200);
    expect(rest.body['version']).toBe(watch.data.version + 2);

    await b.socket.emitWithAck('seats:unwatch', { dateId });
    await hold(a, dateId, [9]);
    await roundTrip(b.socket);
    expect(deltas).toHaveLength(2);
  });

  it('answers NOT_FOUND for an unknown date', async () => {
    const concert = await createConcert(server);
    const a = await buyer(server, concert.id);
    expect(await a.socket.emitWithAck('seats:watch', { dateId: 99_999_999, queueToken: a.queueToken })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});

describe('holds', () => {
  it('when 200 clients race for one seat, exactly one wins', async () => {
    const concert = await createConcert(server);
    const dateId = concert.dates[0]!.id;
    const buyers = await Promise.all(Array.from({ length: 200 }, () => buyer(server, concert.id)));
    const replies = await Promise.all(buyers.map((b) => hold(b, dateId, [7])));
    expect(replies.filter((r) => r.ok)).toHaveLength(1);
    const losers = replies.filter((r) => !r.ok);
    expect(losers).toHaveLength(199);
    for (const r of losers) expect(r.error).toEqual({ code: 'SEAT_UNAVAILABLE', message: expect.any(String), details: { seatNumbers: [7] } });
    expect(await liveSeats(server.db, dateId)).toEqual([7]);
  });

  it('overlapping multi-seat holds never put a seat in two live reservations, and the map equals the database', async () => {
    const concert = await createConcert(server, { seats: 20 });
    const dateId = concert.dates[0]!.id;
    const buyers = await Promise.all(Array.from({ length: 60 }, () => buyer(server, concert.id)));
    const replies = await Promise.all(
      buyers.map((b, i) => hold(b, dateId, [1 + (i % 18), 2 + (i % 18), 3 + (i % 18)])),
    );
    const won = replies.filter((r) => r.ok).flatMap((r) => r.data.seats.map((s: { number: number }) => s.number));
    expect(new Set(won).size).toBe(won.length);
    const db = await liveSeats(server.db, dateId);
    expect(new Set(db).size).toBe(db.length);
    expect(db).toEqual([...won].sort((x, y) => x - y));
    const map = await buyers[0]!.socket.emitWithAck('seats:watch', { dateId, queueToken: buyers[0]!.queueToken });
    const held = map.data.seats.filter((s: { status: string }) => s.status === 'HELD').map((s: { number: number }) => s.number);
    expect(held.sort((x: number, y: number) => x - y)).toEqual(db);
  });

  it('refuses more than MAX_SEATS_PER_USER seats on one date, counting earlier holds', async () => {
    const concert = await createConcert(server);
    const dateId = concert.dates[0]!.id;
    const a = await buyer(server, concert.id);
    expect(await hold(a, dateId, [1, 2, 3, 4, 5])).toMatchObject({ ok: false, error: { code: 'HOLD_LIMIT_EXCEEDED' } });
    expect((await hold(a, dateId, [1, 2, 3])).ok).toBe(true);
    expect(await hold(a, dateId, [4, 5])).toMatchObject({ ok: false, error: { code: 'HOLD_LIMIT_EXCEEDED' } });
    expect((await hold(a, dateId, [4])).ok).toBe(true);
    expect(await liveSeats(server.db, dateId)).toHaveLength(4);
  });

  it('validates seat numbers: unknown → NOT_FOUND, duplicates and bad types → VALIDATION_FAILED, nothing held', async () => {
    const concert = await createConcert(server, { seats: 10 });
    const dateId = concert.dates[0]!.id;
    const a = await buyer(server, concert.id);
    expect(await hold(a, dateId, [2, 11])).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', details: { seatNumbers: [11] } } });
    expect(await hold(a, dateId, [2, 2])).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(await hold(a, dateId, [])).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(await a.socket.emitWithAck('seats:hold', { dateId, seatNumbers: ['1'], queueToken: a.queueToken })).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(await hold(a, 99_999_999, [1])).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await liveSeats(server.db, dateId)).toEqual([]);
  });

  it('holds over HTTP with 201, lists my reservations newest first, and pushes reservation:updated', async () => {
    const concert = await createConcert(server, { price: 500 });
    const dateId = concert.dates[0]!.id;
    const a = await buyer(server, concert.id);
    const updated = nextEvent(a.socket, 'reservation:updated');
    const res = await http(server, 'POST', '/reservations', { token: a.token, headers: { 'queue-token': a.queueToken }, body: { dateId, seatNumbers: [5, 1] } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number), dateId, concertId: concert.id, status: 'HELD',
      seats: [{ number: 1, price: 500 }, { number: 5, price: 500 }], total: 1000,
      expiresAt: expect.any(String), createdAt: expect.any(String),
    });
    const ttl = Date.parse(res.body['expiresAt']) - Date.parse(res.body['createdAt']);
    expect(ttl).toBe(300_000);
    expect(await updated).toEqual(res.body);
    const second = await hold(a, dateId, [2]);
    const mine = await http(server, 'GET', '/reservations/me', { token: a.token });
    expect(mine.body['reservations'].map((r: { id: number }) => r.id)).toEqual([second.data.id, res.body['id']]);
    expect(await a.socket.emitWithAck('reservations:mine', {})).toEqual({ ok: true, data: mine.body });
  });
});

describe('cancel', () => {
  it('frees the seats at once; only the owner may cancel; a repeat answers the canceled reservation', async () => {
    const concert = await createConcert(server);
    const dateId = concert.dates[0]!.id;
    const [a, b] = [await buyer(server, concert.id), await buyer(server, concert.id)];
    const held = await hold(a, dateId, [10]);
    const stranger = await http(server, 'POST', `/reservations/${held.data.id}/cancel`, { token: b.token });
    expect(stranger.status).toBe(404);
    expect(stranger.body['error'].code).toBe('NOT_FOUND');
    const canceled = await http(server, 'POST', `/reservations/${held.data.id}/cancel`, { token: a.token });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ id: held.data.id, status: 'CANCELED' });
    expect((await hold(b, dateId, [10])).ok).toBe(true);
    const again = await http(server, 'POST', `/reservations/${held.data.id}/cancel`, { token: a.token });
    expect(again.body).toMatchObject({ id: held.data.id, status: 'CANCELED' });
    expect((await http(server, 'POST', '/reservations/99999999/cancel', { token: a.token })).status).toBe(404);
  });
});

describe('expiry and restart', () => {
  it('releases an unpaid hold within 1 s of expiresAt, never before, and pushes it', async () => {
    const short = await startServer({ env: { ...FAST_QUEUE, HOLD_TTL_SECONDS: '2' } });
    try {
      const concert = await createConcert(short);
      const dateId = concert.dates[0]!.id;
      const [a, watcher] = [await buyer(short, concert.id), await buyer(short, concert.id)];
      await watcher.socket.emitWithAck('seats:watch', { dateId, queueToken: watcher.queueToken });
      const held = await hold(a, dateId, [1]);
      const expiresAt = Date.parse(held.data.expiresAt);
      const freed = await nextEvent(watcher.socket, 'seats:changed', (d) => d.seats.some((s: { status: string }) => s.status === 'FREE'), 5000);
      const seenAt = Date.now();
      expect(seenAt).toBeGreaterThanOrEqual(expiresAt);
      expect(seenAt - expiresAt).toBeLessThan(1000);
      expect(freed.seats).toEqual([{ number: 1, status: 'FREE' }]);
      const mine = await a.socket.emitWithAck('reservations:mine', {});
      expect(mine.data.reservations[0]).toMatchObject({ id: held.data.id, status: 'EXPIRED' });
    } finally {
      await short.close();
    }
  });

  it('keeps a HELD reservation across a restart, expires it on time afterwards, and releases holds that lapsed while down', async () => {
    const env = { ...FAST_QUEUE, HOLD_TTL_SECONDS: '3' };
    const first = await startServer({ env, db: server.db });
    const concert = await createConcert(first);
    const dateId = concert.dates[0]!.id;
    const a = await buyer(first, concert.id);
    const lapsing = await hold(a, dateId, [1]);
    await sleep(1500);
    const surviving = await hold(a, dateId, [2]);
    a.socket.close();
    await first.close();
    // Seat 1's hold lapses while no server runs.
    await sleep(Date.parse(lapsing.data.expiresAt) - Date.now() + 200);
    const second = await startServer({ env, db: server.db });
    try {
      await waitFor(async () => (await reservationStatus(second.db, lapsing.data.id)) === 'EXPIRED', 'the hold that lapsed while down to be released', 2000);
      expect(await reservationStatus(second.db, surviving.data.id)).toBe('HELD');
      await waitFor(async () => (await reservationStatus(second.db, surviving.data.id)) === 'EXPIRED', 'the surviving hold to expire', 5000);
      const endedAt = await second.db.sequelize.query<{ ended_at: Date }>(`SELECT ended_at FROM reservations WHERE id = ${surviving.data.id}`, { type: QueryTypes.SELECT });
      const lateness = endedAt[0]!.ended_at.getTime() - Date.parse(surviving.data.expiresAt);
      expect(lateness).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(1000);
      expect(await liveSeats(second.db, dateId)).toEqual([]);
    } finally {
      await second.close();
    }
  });
});

describe('the database is the last line of defence', () => {
  it('two actors for one date (split brain) still never make two live reservations of one seat', async () => {
    const concert = await createConcert(server);
    const dateId = concert.dates[0]!.id;
    const users = await Promise.all(Array.from({ length: 20 }, () => signup(server)));
    const rooms = [(await openBareRoom(dateId))!, (await openBareRoom(dateId))!];
    const results = await Promise.allSettled(users.map((u, i) => rooms[i % 2]!.hold(u.id, [5])));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe('SEAT_UNAVAILABLE');
    expect(await liveSeats(server.db, dateId)).toEqual([5]);
    await Promise.all(rooms.map((r) => r.dispose()));
  });
});

describe('group commit', () => {
  it('frees and re-holds a seat in one batch: the end is written before the new hold, so the batch commits whole', async () => {
    const concert = await createConcert(server);
    const dateId = concert.dates[0]!.id;
    const [a, b] = await Promise.all([signup(server), signup(server)]);
    const room = (await openBareRoom(dateId))!;
    try {
      const first = await room.hold(a.id, [1]);
      const before = (await room.snapshot()).version;
      // Posted in one turn of the event loop: one batch, cancel applied before the new hold.
      const [canceled, again] = await Promise.all([room.cancel(a.id, first.id), room.hold(b.id, [1])]);
      expect(canceled).toMatchObject({ id: first.id, status: 'CANCELED' });
      expect(again).toMatchObject({ status: 'HELD', seats: [{ number: 1 }] });
      // One change set: the batch committed whole instead of failing and being retried one by one.
      expect((await room.snapshot()).version).toBe(before + 1);
      expect(await liveSeats(server.db, dateId)).toEqual([1]);
      // The committed map read from PostgreSQL (what non-owner instances serve) equals the room's.
      expect(await new ReservationRepository(server.db.sequelize).snapshot(dateId)).toEqual(await room.snapshot());
    } finally {
      await room.dispose();
    }
  });
});

describe('one busy date', () => {
  it('200 clients holding and cancelling on one date for 2 s: the database ends as every client was told, no seat twice', async () => {
    const concert = await createConcert(server, { seats: 40 });
    const dateId = concert.dates[0]!.id;
    const buyers = await Promise.all(Array.from({ length: 200 }, () => buyer(server, concert.id)));
    const told = new Map<number, string>();
    let oks = 0;
    const until = Date.now() + 2_000;
    await Promise.all(
      buyers.map(async (b, i) => {
        // Few seats for many clients: most holds race another client's hold or cancel of the same seat.
        for (let n = 0; Date.now() < until; n++) {
          const held = await hold(b, dateId, [1 + ((i * 7 + n) % 40)]);
          if (!held.ok) {
            expect(held.error.code).toBe('SEAT_UNAVAILABLE');
            continue;
          }
          oks += 1;
          told.set(held.data.id, 'HELD');
          // The last round's holds stay, so the end state has live seats to check too.
          if (Date.now() >= until) break;
          const canceled = await b.socket.emitWithAck('reservation:cancel', { reservationId: held.data.id });
          expect(canceled).toMatchObject({ ok: true, data: { id: held.data.id, status: 'CANCELED' } });
          told.set(held.data.id, 'CANCELED');
        }
      }),
    );
    expect(oks).toBeGreaterThan(200);
    const rows = await server.db.sequelize.query<{ id: number; status: string }>('SELECT id, status FROM reservations WHERE date_id = $1', {
      bind: [dateId],
      type: QueryTypes.SELECT,
    });
    // Every acknowledged hold is durable with the status its client was told, and nothing else was written.
    expect(new Map(rows.map((r) => [r.id, r.status]))).toEqual(told);
    const live = await liveSeats(server.db, dateId);
    expect(new Set(live).size).toBe(live.length);
    expect(live).toHaveLength([...told.values()].filter((s) => s === 'HELD').length);
  });
});

/** A date room outside the app (no sockets, no registry): a second writer, or one to drive directly. */
function openBareRoom(dateId: number) {
  return DateRoom.open(dateId, {
    sequelize: server.db.sequelize,
    repo: new ReservationRepository(server.db.sequelize),
    push: { toUser: () => undefined, toDate: () => undefined, toQueue: () => undefined },
    log: createLogger('silent'),
    holdTtlMs: 60_000,
    maxSeatsPerUser: 4,
  });
}
