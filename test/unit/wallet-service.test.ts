import { QueryTypes, type Transaction } from 'sequelize';
import { loadConfig } from '../../src/config';
import { createWallet, type WalletModule } from '../../src/handlers/wallet';
import type { Command } from '../../src/handlers/command';
import { AppError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { CatalogRepository } from '../../src/models/catalog-repository';
import { openDatabase, type Database } from '../../src/models/database';
import { testDatabaseUrl } from '../support/env';

// WalletService's idempotency and wallet:charge, against the run's real PostgreSQL (no server, no mocks).
let db: Database;
let wallet: WalletModule;
const log = createLogger('silent');

beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 6);
  wallet = createWallet({ config: loadConfig({ WALLET_MAX_CHARGE: '3000', WALLET_MAX_BALANCE: '5000' }), db, log });
});
afterAll(() => db.close());

const service = () => wallet.service;

async function charge(userId: number, amount: number, idempotencyKey?: string): Promise<unknown> {
  const command = wallet.commands.find((c) => c.name === 'wallet:charge') as Command;
  const input = idempotencyKey === undefined ? { amount } : { amount, idempotencyKey };
  if (!command.validate(input)) throw new Error('invalid charge in the test');
  return command.run(input, { userId });
}

async function userWithReservation(): Promise<{ userId: number; reservationId: number }> {
  const userId = (await db.models.User.create({ name: 'wallet-service' })).id;
  const { concert } = await new CatalogRepository(db).createConcert({
    title: 'Wallet service test',
    venue: 'Hall',
    dates: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: 1, price: 700 } }],
  });
  const [row] = await db.sequelize.query<{ id: number }>(
    `INSERT INTO reservations (user_id, date_id, concert_id, status, total, expires_at)
     VALUES ($1, $2, $3, 'HELD', 700, now() + interval '5 minutes') RETURNING id`,
    { type: QueryTypes.SELECT, bind: [userId, concert.dates[0]!.id, concert.id] },
  );
  return { userId, reservationId: row!.id };
}

async function stateOf(userId: number) {
  const [row] = await db.sequelize.query<{ balance: number; rows: number; keys: number }>(
    `SELECT balance, (SELECT count(*)::int FROM wallet_ledger WHERE user_id = $1) AS rows,
            (SELECT count(*)::int FROM idempotency_keys WHERE user_id = $1) AS keys
       FROM users WHERE id = $1`,
    { type: QueryTypes.SELECT, bind: [userId] },
  );
  return row;
}

/** Work that writes in the key's transaction, as a keyed command's does: a debit with its ledger row. */
async function debit(t: Transaction, userId: number, amount: number, reservationId: number): Promise<number> {
  const rows = await db.sequelize.query<{ balance_after: number }>(
    `WITH changed AS (UPDATE users SET balance = balance - $2::bigint WHERE id = $1::int AND balance >= $2::bigint RETURNING balance)
     INSERT INTO wallet_ledger (user_id, kind, amount, balance_after, reservation_id) SELECT $1::int, 'PAYMENT', $2::bigint, balance, $3::int FROM changed
     RETURNING balance_after`,
    { type: QueryTypes.SELECT, transaction: t, bind: [userId, amount, reservationId] },
  );
  if (!rows[0]) throw new AppError('INSUFFICIENT_BALANCE', 'short');
  return rows[0].balance_after;
}

it('pays once per idempotency key inside idempotent(), and a failed attempt leaves the key free', async () => {
  const { userId, reservationId } = await userWithReservation();
  const pay = () =>
    service().idempotent(userId, 'payment:pay', 'pay-1', { reservationId }, async (t) => ({
      balance: await debit(t, userId, 700, reservationId),
    }));
  await expect(pay()).rejects.toMatchObject({ code: 'INSUFFICIENT_BALANCE' });
  expect(await stateOf(userId)).toEqual({ balance: 0, rows: 0, keys: 0 });
  expect(await charge(userId, 1000, 'charge-1')).toEqual({ balance: 1000 });
  expect(await Promise.all(Array.from({ length: 5 }, pay))).toEqual(Array.from({ length: 5 }, () => ({ balance: 300 })));
  expect(await stateOf(userId)).toEqual({ balance: 300, rows: 2, keys: 2 });
  const other = service().idempotent(userId, 'payment:pay', 'pay-1', { reservationId: reservationId + 1 }, async () => 'x');
  await expect(other).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
  // A key names one request whatever the command: the payment's key cannot charge, the charge's cannot pay.
  await expect(charge(userId, 1000, 'pay-1')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
  const payWithChargeKey = service().idempotent(userId, 'payment:pay', 'charge-1', { reservationId }, async () => 'x');
  await expect(payWithChargeKey).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
  expect(await stateOf(userId)).toEqual({ balance: 300, rows: 2, keys: 2 });
});
