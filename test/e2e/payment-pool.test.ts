import { QueryTypes } from 'sequelize';
import { requestHash } from '../../src/models/idempotency-repository';
import { createConcert, http, madeByThisFile, startServer, type TestServer } from '../support/server';
import { FAST_QUEUE } from '../support/queue';
import { buyer, hold, pay, type Buyer } from '../support/buyers';
import { closeClients } from '../support/clients';
import { checkInvariants } from '../support/invariants';

/** test/support/server.ts opens the main pool with 10 connections. */
const MAIN_POOL = 10;
const PRICE = 1000;
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ env: FAST_QUEUE });
});
afterAll(async () => {
  closeClients();
  expect(await checkInvariants(server.db, madeByThisFile())).toEqual([]);
  await server.close();
});

async function rows<T extends object>(sql: string, bind: unknown[] = []): Promise<T[]> {
  return server.db.sequelize.query<T>(sql, { type: QueryTypes.SELECT, bind });
}

async function buyers(n: number, concertId: number, balance: number): Promise<Buyer[]> {
  const all: Buyer[] = [];
  // A few at a time: each signs up, waits for admission and connects.
  for (let i = 0; i < n; i += 20) all.push(...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, () => buyer(server, concertId, { balance })))));
  return all;
}

/**
 * A sale fills the main pool in bursts (BENCHMARKS.md, cut 5a): a payment's idempotency key and
 * its queue entry's end are written on pools of their own, group-committed, so payments answer
 * while every main-pool connection is taken, each key still runs its payment once.
 */
describe('keyed payments while the main pool is taken', () => {
  it('hundreds of concurrent payments and duplicates: each answered, one payment per reservation, failed work frees its key, dead claims are taken over', async () => {
    const concert = await createConcert(server, { seats: 130, price: PRICE });
    const dateId = concert.dates[0]!.id;
    const rich = await buyers(100, concert.id, 5 * PRICE);
    const poor = await buyers(10, concert.id, PRICE / 2);
    const everyone = [...rich, ...poor];
    const held = new Map<number, number>();
    await Promise.all(everyone.map(async (b, i) => held.set(b.id, (await hold(b, dateId, [i + 1])).data.id as number)));
    const keyOf = (b: Buyer) => `pool-${b.id}`;
    // Five claims left pending by a process that died (owner 7 holds no lock): their payments take them over.
    const orphans = rich.slice(0, 5);
    for (const b of orphans) {
      await server.db.sequelize.query(`INSERT INTO idempotency_keys (user_id, scope, key, request_hash, owner) VALUES ($1, 'payment:pay', $2, $3, 7)`, {
        bind: [b.id, keyOf(b), requestHash({ reservationId: held.get(b.id) })],
      });
    }

    const taken: unknown[] = [];
    for (let i = 0; i < MAIN_POOL; i++) taken.push(await server.db.sequelize.connectionManager.getConnection({ type: 'write' }));
    try {
      const stuck = server.db.sequelize.query('SELECT 1');
      expect(await Promise.race([stuck.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 300))])).toBe('waiting');

      // Each buyer pays its hold four times at once under one key: three sockets' worth and once over HTTP.
      const payHttp = (b: Buyer) =>
        http(server, 'POST', '/payments', { token: b.token, headers: { 'queue-token': b.queueToken, 'idempotency-key': keyOf(b) }, body: { reservationId: held.get(b.id) } });
      const started = Date.now();
      const replies = await Promise.all(
        everyone.map(async (b) => {
          const [sockets, viaHttp] = await Promise.all([Promise.all([1, 2, 3].map(() => pay(b, held.get(b.id)!, keyOf(b)))), payHttp(b)]);
          return { b, sockets, viaHttp };
        }),
      );
      // The main pool's acquire timeout is 30 s: payments that needed it would still be waiting.
      expect(Date.now() - started).toBeLessThan(15_000);

      for (const { b, sockets, viaHttp } of replies) {
        if (rich.includes(b)) {
          for (const r of sockets) expect(r).toMatchObject({ ok: true, data: { reservation: { id: held.get(b.id), status: 'CONFIRMED' }, balance: 4 * PRICE } });
          // One answer per key: every duplicate gets the same JSON, the payment's id included.
          expect(new Set(sockets.map((r) => JSON.stringify(r.data))).size).toBe(1);
          expect(viaHttp.status).toBe(201);
          expect(JSON.stringify(viaHttp.body)).toBe(JSON.stringify(sockets[0].data));
        } else {
          for (const r of sockets) expect(r).toMatchObject({ ok: false, error: { code: 'INSUFFICIENT_BALANCE' } });
          expect(viaHttp).toMatchObject({ status: 402, body: { error: { code: 'INSUFFICIENT_BALANCE' } } });
        }
      }
      // The entry ended before the answer: the next read of it is no longer ACTIVE.
      expect(await rich[0]!.socket.emitWithAck('seats:watch', { dateId, queueToken: rich[0]!.queueToken })).toMatchObject({ ok: false, error: { code: 'QUEUE_TOKEN_INVALID' } });

      // A refused payment freed its key: once the wallet covers it, the same key pays.
      for (const b of poor) expect(await b.client.charge(PRICE)).toMatchObject({ ok: true });
      const retried = await Promise.all(poor.map((b) => pay(b, held.get(b.id)!, keyOf(b))));
      for (const r of retried) expect(r).toMatchObject({ ok: true, data: { reservation: { status: 'CONFIRMED' } } });
    } finally {
      for (const c of taken.splice(0)) server.db.sequelize.connectionManager.releaseConnection(c as never);
    }

    const ids = [...held.values()];
    const payments = await rows<{ reservation_id: number; n: number }>(
      'SELECT reservation_id, count(*)::int AS n FROM payments WHERE reservation_id = ANY($1::int[]) GROUP BY reservation_id',
      [ids],
    );
    expect(payments).toHaveLength(everyone.length);
    for (const p of payments) expect(p.n).toBe(1);
    const debits = await rows<{ user_id: number; n: number }>(
      `SELECT user_id, count(*)::int AS n FROM wallet_ledger WHERE kind = 'PAYMENT' AND user_id = ANY($1::int[]) GROUP BY user_id`,
      [everyone.map((b) => b.id)],
    );
    expect(debits.map((d) => d.n)).toEqual(everyone.map(() => 1));
    // Every key holds its answer; none is left pending.
    const keys = await rows<{ pending: boolean }>(`SELECT response IS NULL AS pending FROM idempotency_keys WHERE key LIKE 'pool-%'`);
    expect(keys).toHaveLength(everyone.length);
    expect(keys.filter((k) => k.pending)).toEqual([]);
    const ended = await rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM queue_entries WHERE concert_id = $1 AND status = 'EXPIRED' AND reason = 'PAID'`,
      [concert.id],
    );
    expect(ended[0]!.n).toBe(everyone.length);
  });
});
