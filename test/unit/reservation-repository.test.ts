import { QueryTypes } from 'sequelize';
import { openDatabase, type Database } from '../../src/models/database';
import { FenceError, ReservationRepository, StaleStateError, type BatchInput } from '../../src/models/reservation-repository';
import { testDatabaseUrl } from '../support/env';

// A date room's group commit (one statement: tix_commit_batch), against the run's real PostgreSQL.
let db: Database;
let repo: ReservationRepository;
let users: number[];
let dateId: number;
let concertId: number;

beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 4);
  repo = new ReservationRepository(db.sequelize);
  users = await Promise.all([1, 2, 3].map(async (i) => (await db.models.User.create({ name: `repo-unit-${i}` })).id));
  const [concert] = await db.sequelize.query<{ id: number }>(`INSERT INTO concerts (title, venue) VALUES ('repo unit', 'hall') RETURNING id`, {
    type: QueryTypes.SELECT,
  });
  concertId = (concert as { id: number }).id;
  const [date] = await db.sequelize.query<{ id: number }>(
    `INSERT INTO concert_dates (concert_id, starts_at, total_seats) VALUES ($1, now() + interval '1 day', 20) RETURNING id`,
    { type: QueryTypes.SELECT, bind: [concertId] },
  );
  dateId = (date as { id: number }).id;
  await db.sequelize.query(`INSERT INTO seats (date_id, number, grade, price) SELECT $1, n, 'A', 100 * n FROM generate_series(1, 20) n`, { bind: [dateId] });
});
afterAll(() => db.close());

const seatsOf = async (reservationId: number) =>
  (
    await db.sequelize.query<{ seat_number: number; live: boolean }>(
      'SELECT seat_number, live FROM reservation_seats WHERE reservation_id = $1 ORDER BY seat_number',
      { type: QueryTypes.SELECT, bind: [reservationId] },
    )
  ).map((s) => `${s.seat_number}${s.live ? '' : ' ended'}`);

const hold = (userId: number, seats: number[]) => ({
  userId,
  total: seats.reduce((sum, n) => sum + 100 * n, 0),
  // Far ahead: other files check that no hold outlives its expiry, and nobody expires these.
  expiresAt: new Date(Date.now() + 3_600_000),
  createdAt: new Date(),
  seats: seats.map((number) => ({ number, price: 100 * number })),
});

let version = 0;
/** A batch at the next version; `version` moves only when the test says the batch committed. */
const batch = (parts: Partial<BatchInput>): BatchInput => ({ dateId, concertId, version: version + 1, transitions: [], inserts: [], money: [], ...parts });
const commit = async (parts: Partial<BatchInput>) => {
  const result = await repo.commitBatch(db.sequelize, batch(parts));
  version += 1;
  return result;
};

const row = async (sql: string, bind: unknown[]) => (await db.sequelize.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT, bind }))[0];
const dateVersion = async () => (await row('SELECT version FROM concert_dates WHERE id = $1', [dateId]))?.version;
const counts = () =>
  row(
    `SELECT (SELECT count(*)::int FROM reservations) AS reservations, (SELECT count(*)::int FROM payments) AS payments,
            (SELECT count(*)::int FROM wallet_ledger) AS ledger, (SELECT sum(balance)::int FROM users) AS balances,
            (SELECT count(*)::int FROM reservation_seats WHERE live) AS live`,
    [],
  );
/** A charge as the wallet writes it (balance and ledger row), so the database stays consistent for later files' invariant checks. */
const fund = (userId: number, amount: number) =>
  db.sequelize.query(
    `WITH u AS (UPDATE users SET balance = balance + $2 WHERE id = $1 RETURNING balance)
     INSERT INTO wallet_ledger (user_id, kind, amount, balance_after) SELECT $1, 'CHARGE', $2, balance FROM u`,
    { bind: [userId, amount] },
  );

test('several holds in one call: ids in input order, each with its own seats and total, and the version written', async () => {
  const { ids, money } = await commit({ inserts: [hold(users[0] as number, [1, 2]), hold(users[1] as number, [5]), hold(users[2] as number, [7, 8, 9])] });
  expect(ids).toHaveLength(3);
  expect(new Set(ids).size).toBe(3);
  expect(money).toEqual([]);
  expect(await Promise.all(ids.map(seatsOf))).toEqual([['1', '2'], ['5'], ['7', '8', '9']]);
  const rows = await db.sequelize.query<{ id: number; user_id: number; total: string; status: string }>(
    'SELECT id, user_id, total, status FROM reservations WHERE id = ANY($1::int[])',
    { type: QueryTypes.SELECT, bind: [ids] },
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  expect(ids.map((id) => [byId.get(id)?.user_id, Number(byId.get(id)?.total), byId.get(id)?.status])).toEqual([
    [users[0], 300, 'HELD'],
    [users[1], 500, 'HELD'],
    [users[2], 2400, 'HELD'],
  ]);
  expect(await dateVersion()).toBe(version);
});

test('a seat already live in another reservation fails the whole batch: nothing of it is written, not even the version', async () => {
  const before = await counts();
  await expect(repo.commitBatch(db.sequelize, batch({ inserts: [hold(users[0] as number, [3]), hold(users[1] as number, [5])] }))).rejects.toMatchObject({
    original: { code: '23505' },
  });
  expect(await counts()).toEqual(before);
  expect(await dateVersion()).toBe(version);
});

test('transitions free the seats of ended reservations only; a status that moved elsewhere refuses the batch', async () => {
  const { ids: [a, b] } = await commit({ inserts: [hold(users[0] as number, [3, 4]), hold(users[1] as number, [6])] });
  const at = new Date();
  await fund(users[1] as number, 600);
  await commit({
    transitions: [
      { id: a as number, prev: 'HELD', status: 'EXPIRED', at },
      { id: b as number, prev: 'HELD', status: 'CONFIRMED', at },
    ],
    money: [{ kind: 'PAYMENT', reservationId: b as number, userId: users[1] as number, amount: 600, at }],
  });
  expect(await seatsOf(a as number)).toEqual(['3 ended', '4 ended']);
  expect(await seatsOf(b as number)).toEqual(['6']);

  // b is CONFIRMED, not HELD: the batch fails, and the hold in it is not written either.
  const before = await counts();
  const stale = repo.commitBatch(db.sequelize, batch({ transitions: [{ id: b as number, prev: 'HELD', status: 'CANCELED', at }], inserts: [hold(users[2] as number, [20])] }));
  await expect(stale).rejects.toBeInstanceOf(StaleStateError);
  expect(await counts()).toEqual(before);
  expect(await seatsOf(b as number)).toEqual(['6']);

  // Freed seats can be held again.
  const { ids: [c] } = await commit({ inserts: [hold(users[2] as number, [3, 4])] });
  expect(await seatsOf(c as number)).toEqual(['3', '4']);
});

test('a moved fence refuses the batch before it changes anything', async () => {
  await db.sequelize.query('UPDATE concert_dates SET owner_fence = 7 WHERE id = $1', { bind: [dateId] });
  try {
    const before = await counts();
    const stale = repo.commitBatch(db.sequelize, { ...batch({ inserts: [hold(users[0] as number, [20])] }), fence: 6 });
    await expect(stale).rejects.toBeInstanceOf(FenceError);
    expect(await counts()).toEqual(before);
    expect(await dateVersion()).toBe(version);
    await repo.commitBatch(db.sequelize, { ...batch({}), fence: 7 });
    version += 1;
    expect(await dateVersion()).toBe(version);
  } finally {
    await db.sequelize.query('UPDATE concert_dates SET owner_fence = 0 WHERE id = $1', { bind: [dateId] });
  }
});

test('payments chain one user\'s balance within a batch, each with its ledger row and payment; a refund credits past any cap', async () => {
  const user = users[0] as number;
  await fund(user, 3000);
  const { ids: [r1, r2] } = await commit({ inserts: [hold(user, [11]), hold(user, [12])] });
  const at = new Date();
  const paid = await commit({
    transitions: [
      { id: r1 as number, prev: 'HELD', status: 'CONFIRMED', at },
      { id: r2 as number, prev: 'HELD', status: 'CONFIRMED', at },
    ],
    money: [
      { kind: 'PAYMENT', reservationId: r1 as number, userId: user, amount: 1100, at },
      { kind: 'PAYMENT', reservationId: r2 as number, userId: user, amount: 1200, at },
    ],
  });
  expect(paid.money.map((m) => m.balance)).toEqual([1900, 700]);
  expect(paid.money.every((m) => Number.isInteger(m.paymentId))).toBe(true);
  const refunded = await commit({
    transitions: [{ id: r1 as number, prev: 'CONFIRMED', status: 'CANCELED', at }],
    money: [{ kind: 'REFUND', reservationId: r1 as number, userId: user, amount: 1100, at }],
  });
  expect(refunded.money).toEqual([{ balance: 1800, paymentId: null }]);
  expect(await seatsOf(r1 as number)).toEqual(['11 ended']);
  const ledger = await db.sequelize.query('SELECT kind, amount, balance_after, reservation_id FROM wallet_ledger WHERE user_id = $1 ORDER BY id', {
    type: QueryTypes.SELECT,
    bind: [user],
  });
  expect(ledger).toEqual([
    { kind: 'CHARGE', amount: 3000, balance_after: 3000, reservation_id: null },
    { kind: 'PAYMENT', amount: 1100, balance_after: 1900, reservation_id: r1 },
    { kind: 'PAYMENT', amount: 1200, balance_after: 700, reservation_id: r2 },
    { kind: 'REFUND', amount: 1100, balance_after: 1800, reservation_id: r1 },
  ]);
  const payments = await db.sequelize.query('SELECT id, reservation_id, amount FROM payments WHERE user_id = $1 ORDER BY id', { type: QueryTypes.SELECT, bind: [user] });
  expect(payments).toEqual([
    { id: paid.money[0]?.paymentId, reservation_id: r1, amount: 1100 },
    { id: paid.money[1]?.paymentId, reservation_id: r2, amount: 1200 },
  ]);
});

test('a payment above the balance is INSUFFICIENT_BALANCE with both figures, and the whole batch rolls back', async () => {
  const user = users[2] as number;
  await fund(user, 50);
  const { ids: [r] } = await commit({ inserts: [hold(user, [13])] });
  const at = new Date();
  const before = await counts();
  const short = repo.commitBatch(
    db.sequelize,
    batch({
      transitions: [{ id: r as number, prev: 'HELD', status: 'CONFIRMED', at }],
      inserts: [hold(users[1] as number, [14])],
      money: [{ kind: 'PAYMENT', reservationId: r as number, userId: user, amount: 1300, at }],
    }),
  );
  await expect(short).rejects.toMatchObject({ code: 'INSUFFICIENT_BALANCE', details: { balance: 50, required: 1300 } });
  expect(await counts()).toEqual(before);
  expect((await row('SELECT status FROM reservations WHERE id = $1', [r]))?.status).toBe('HELD');
});
