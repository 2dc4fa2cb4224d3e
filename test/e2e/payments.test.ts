import { QueryTypes } from 'sequelize';
import { createConcert, http, madeByThisFile, nextEvent, signup, startServer, type TestServer } from '../support/server';
import { FAST_QUEUE } from '../support/queue';
import { buyer, hold, pay } from '../support/buyers';
import { client, closeClients } from '../support/clients';
import { reservationStatus } from '../support/db';
import { checkInvariants } from '../support/invariants';
import { sleep } from '../support/wait';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ env: { ...FAST_QUEUE, MAX_SEATS_PER_USER: '10' } });
});
afterEach(closeClients);
afterAll(async () => {
  expect(await checkInvariants(server.db, madeByThisFile())).toEqual([]);
  await server.close();
});

async function count(sql: string): Promise<number> {
  const [row] = await server.db.sequelize.query<{ n: number }>(sql, { type: QueryTypes.SELECT });
  return Number(row?.n ?? 0);
}

describe('payments', () => {
  it('the whole journey over sockets: join, admitted, watch, hold, charge, pay, pushes, queue entry ends', async () => {
    const concert = await createConcert(server, { price: 3000 });
    const dateId = concert.dates[0]!.id;
    const user = await signup(server);
    const socket = await client(server, user.token);
    const admitted = nextEvent(socket, 'queue:admitted');
    const joined = await socket.emitWithAck('queue:join', { concertId: concert.id });
    expect(joined).toMatchObject({ ok: true, data: { concertId: concert.id, token: expect.any(String) } });
    const queueToken: string = joined.data.token;
    if (joined.data.status !== 'ACTIVE') expect(await admitted).toMatchObject({ concertId: concert.id, expiresAt: expect.any(String) });

    const watcher = await buyer(server, concert.id);
    await watcher.socket.emitWithAck('seats:watch', { dateId, queueToken: watcher.queueToken });
    const map = await socket.emitWithAck('seats:watch', { dateId, queueToken });
    expect(map.ok).toBe(true);

    const heldSeen = nextEvent(watcher.socket, 'seats:changed', (d) => d.seats.some((s: { status: string }) => s.status === 'HELD'));
    const reservation = await socket.emitWithAck('seats:hold', { dateId, seatNumbers: [8, 9], queueToken });
    expect(reservation).toMatchObject({ ok: true, data: { status: 'HELD', total: 6000 } });
    expect((await heldSeen).seats).toEqual([{ number: 8, status: 'HELD' }, { number: 9, status: 'HELD' }]);

    expect(await socket.emitWithAck('wallet:charge', { amount: 10_000 })).toEqual({ ok: true, data: { balance: 10_000 } });
    const soldSeen = nextEvent(watcher.socket, 'seats:changed', (d) => d.seats.some((s: { status: string }) => s.status === 'SOLD'));
    const confirmed = nextEvent(socket, 'reservation:updated', (r) => r.status === 'CONFIRMED');
    const expired = nextEvent(socket, 'queue:expired');
    const paid = await socket.emitWithAck('payment:pay', { reservationId: reservation.data.id, queueToken });
    expect(paid).toEqual({
      ok: true,
      data: {
        payment: { id: expect.any(Number), amount: 6000, at: expect.any(String) },
        reservation: { ...reservation.data, status: 'CONFIRMED', paidAt: expect.any(String) },
        balance: 4000,
      },
    });
    expect((await soldSeen).seats).toEqual([{ number: 8, status: 'SOLD' }, { number: 9, status: 'SOLD' }]);
    expect(await confirmed).toEqual(paid.data.reservation);
    expect(await expired).toEqual({ concertId: concert.id, reason: 'PAID' });
    expect(await socket.emitWithAck('seats:watch', { dateId, queueToken })).toMatchObject({ ok: false, error: { code: 'QUEUE_TOKEN_INVALID' } });
    const wallet = await socket.emitWithAck('wallet:get', {});
    expect(wallet.data.history[0]).toMatchObject({ kind: 'PAYMENT', amount: 6000, balanceAfter: 4000 });
  });

  it('eight concurrent payments of one reservation: one success, one debit, one payment row', async () => {
    const concert = await createConcert(server, { price: 1000 });
    const b = await buyer(server, concert.id, { balance: 5000 });
    const r = await hold(b, concert.dates[0]!.id, [1]);
    const replies = await Promise.all(Array.from({ length: 8 }, () => pay(b, r.data.id)));
    expect(replies.filter((x) => x.ok)).toHaveLength(1);
    for (const x of replies.filter((y) => !y.ok)) expect(['RESERVATION_NOT_PAYABLE', 'QUEUE_TOKEN_INVALID']).toContain(x.error.code);
    expect(await count(`SELECT count(*) AS n FROM payments WHERE reservation_id = ${r.data.id}`)).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM wallet_ledger WHERE user_id = ${b.id} AND kind = 'PAYMENT'`)).toBe(1);
    expect(await count(`SELECT balance AS n FROM users WHERE id = ${b.id}`)).toBe(4000);
  });

  it('five concurrent payments of 2,000 on a balance of 5,000: two succeed, the balance is exact and never negative', async () => {
    const concert = await createConcert(server, { price: 2000 });
    const dateId = concert.dates[0]!.id;
    const b = await buyer(server, concert.id, { balance: 5000 });
    const held = [];
    for (let seat = 1; seat <= 5; seat++) held.push(await hold(b, dateId, [seat]));
    // Keep the queue entry alive for all five: pay through the room directly is not possible, so race them at once.
    const replies = await Promise.all(held.map((r) => pay(b, r.data.id)));
    const ok = replies.filter((x) => x.ok);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBeLessThanOrEqual(2);
    for (const x of replies.filter((y) => !y.ok)) expect(['INSUFFICIENT_BALANCE', 'QUEUE_TOKEN_INVALID']).toContain(x.error.code);
    expect(await count(`SELECT balance AS n FROM users WHERE id = ${b.id}`)).toBe(5000 - 2000 * ok.length);
    expect(await count(`SELECT count(*) AS n FROM payments WHERE user_id = ${b.id}`)).toBe(ok.length);
    const unpaid = held.filter((r) => !ok.some((x) => x.data.reservation.id === r.data.id));
    for (const r of unpaid) expect(await reservationStatus(server.db, r.data.id)).toBe('HELD');
  });

  it('refuses someone else’s reservation, and a short balance changes nothing and leaves the hold payable', async () => {
    const concert = await createConcert(server, { price: 4000 });
    const [owner, other] = [await buyer(server, concert.id, { balance: 1000 }), await buyer(server, concert.id, { balance: 100_000 })];
    const r = await hold(owner, concert.dates[0]!.id, [3]);
    expect(await pay(other, r.data.id)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await pay(owner, r.data.id)).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_BALANCE' } });
    expect(await count(`SELECT balance AS n FROM users WHERE id = ${owner.id}`)).toBe(1000);
    await owner.socket.emitWithAck('wallet:charge', { amount: 3000 });
    expect(await pay(owner, r.data.id)).toMatchObject({ ok: true, data: { balance: 0 } });
    expect(await pay(owner, 99_999_999)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('a repeated idempotency key returns the first payment and charges once (HTTP)', async () => {
    const concert = await createConcert(server, { price: 1500 });
    const b = await buyer(server, concert.id, { balance: 10_000 });
    const r = await hold(b, concert.dates[0]!.id, [4]);
    const send = () =>
      http(server, 'POST', '/payments', { token: b.token, headers: { 'queue-token': b.queueToken, 'idempotency-key': 'pay-once' }, body: { reservationId: r.data.id } });
    const replies = await Promise.all([send(), send(), send()]);
    for (const x of replies) expect(x.status).toBe(201);
    expect(new Set(replies.map((x) => JSON.stringify(x.body))).size).toBe(1);
    const later = await send();
    expect(later.body).toEqual(replies[0]?.body);
    expect(await count(`SELECT count(*) AS n FROM payments WHERE reservation_id = ${r.data.id}`)).toBe(1);
    expect(await count(`SELECT balance AS n FROM users WHERE id = ${b.id}`)).toBe(8500);
  });

  it('cancel of a CONFIRMED reservation refunds the wallet and frees the seats', async () => {
    const concert = await createConcert(server, { price: 2500 });
    const dateId = concert.dates[0]!.id;
    const b = await buyer(server, concert.id, { balance: 5000 });
    const r = await hold(b, dateId, [6, 7]);
    expect(await pay(b, r.data.id)).toMatchObject({ ok: true, data: { balance: 0 } });
    const canceled = await b.socket.emitWithAck('reservation:cancel', { reservationId: r.data.id });
    expect(canceled).toMatchObject({ ok: true, data: { status: 'CANCELED' } });
    expect(await count(`SELECT balance AS n FROM users WHERE id = ${b.id}`)).toBe(5000);
    const wallet = await b.socket.emitWithAck('wallet:get', {});
    expect(wallet.data.history[0]).toMatchObject({ kind: 'REFUND', amount: 5000, balanceAfter: 5000 });
    const other = await buyer(server, concert.id);
    expect(await hold(other, dateId, [6, 7])).toMatchObject({ ok: true });
  });

  it('a payment racing its hold’s expiry never ends with both or neither', async () => {
    const short = await startServer({ env: { ...FAST_QUEUE, HOLD_TTL_SECONDS: '1' }, db: server.db });
    try {
      const concert = await createConcert(short, { price: 100, seats: 50 });
      const dateId = concert.dates[0]!.id;
      const buyers = await Promise.all(Array.from({ length: 40 }, () => buyer(short, concert.id, { balance: 1000 })));
      const outcomes = await Promise.all(
        buyers.map(async (b, i) => {
          const r = await hold(b, dateId, [i + 1]);
          // Fire the payments from 400 ms before to 100 ms after the expiry (the pay path itself takes some ms).
          await sleep(Date.parse(r.data.expiresAt) - Date.now() - 400 + ((i * 53) % 500));
          return { id: r.data.id as number, reply: await pay(b, r.data.id) };
        }),
      );
      await sleep(1500);
      let paid = 0;
      for (const { id, reply } of outcomes) {
        const [row] = await short.db.sequelize.query<{ status: string; payments: number }>(
          `SELECT status, (SELECT count(*)::int FROM payments p WHERE p.reservation_id = r.id) AS payments FROM reservations r WHERE id = ${id}`,
          { type: QueryTypes.SELECT },
        );
        if (reply.ok) {
          paid++;
          expect(row).toEqual({ status: 'CONFIRMED', payments: 1 });
        } else {
          expect(reply.error.code).toBe('RESERVATION_NOT_PAYABLE');
          expect(row).toEqual({ status: 'EXPIRED', payments: 0 });
        }
      }
      process.stdout.write(`expiry race: ${paid} of ${outcomes.length} payments won\n`);
    } finally {
      await short.close();
    }
  });
});
