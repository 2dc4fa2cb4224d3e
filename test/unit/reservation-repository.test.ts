import { QueryTypes } from 'sequelize';
import { openDatabase, type Database } from '../../src/models/database';
import { ReservationRepository } from '../../src/models/reservation-repository';
import { testDatabaseUrl } from '../support/env';

// A date room's writes, one statement each, against the run's real PostgreSQL.
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
    `INSERT INTO concert_dates (concert_id, starts_at, total_seats) VALUES ($1, now() + interval '1 day', 10) RETURNING id`,
    { type: QueryTypes.SELECT, bind: [concertId] },
  );
  dateId = (date as { id: number }).id;
  await db.sequelize.query(`INSERT INTO seats (date_id, number, grade, price) SELECT $1, n, 'A', 100 * n FROM generate_series(1, 10) n`, { bind: [dateId] });
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
  expiresAt: new Date(Date.now() + 60_000),
  createdAt: new Date(),
  seats: seats.map((number) => ({ number, price: 100 * number })),
});

test('several holds in one statement: ids in input order, each with its own seats and total', async () => {
  const ids = await db.sequelize.transaction((tx) =>
    repo.insertReservations(tx, dateId, concertId, [hold(users[0] as number, [1, 2]), hold(users[1] as number, [5]), hold(users[2] as number, [7, 8, 9])]),
  );
  expect(ids).toHaveLength(3);
  expect(new Set(ids).size).toBe(3);
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
});

test('a seat already live in another reservation fails the whole statement: nothing of it is written', async () => {
  const before = await db.sequelize.query('SELECT id FROM reservations', { type: QueryTypes.SELECT });
  await expect(
    db.sequelize.transaction((tx) => repo.insertReservations(tx, dateId, concertId, [hold(users[0] as number, [3]), hold(users[1] as number, [5])])),
  ).rejects.toMatchObject({ original: { code: '23505' } });
  expect(await db.sequelize.query('SELECT id FROM reservations', { type: QueryTypes.SELECT })).toHaveLength(before.length);
});

test('transitions free the seats of ended reservations only, and refuse a status that moved elsewhere', async () => {
  const [a, b] = await db.sequelize.transaction((tx) =>
    repo.insertReservations(tx, dateId, concertId, [hold(users[0] as number, [3, 4]), hold(users[1] as number, [6])]),
  );
  const at = new Date();
  await db.sequelize.transaction((tx) =>
    repo.transition(tx, [
      { id: a as number, from: 'HELD', to: 'EXPIRED', at },
      { id: b as number, from: 'HELD', to: 'CONFIRMED', at },
    ]),
  );
  expect(await seatsOf(a as number)).toEqual(['3 ended', '4 ended']);
  expect(await seatsOf(b as number)).toEqual(['6']);

  // b is CONFIRMED, not HELD: the batch fails and a's seats stay as they were.
  await expect(
    db.sequelize.transaction((tx) =>
      repo.transition(tx, [
        { id: b as number, from: 'HELD', to: 'CANCELED', at },
      ]),
    ),
  ).rejects.toThrow(/stale reservation state/);
  expect(await seatsOf(b as number)).toEqual(['6']);

  // Freed seats can be held again.
  const [again] = await db.sequelize.transaction((tx) => repo.insertReservations(tx, dateId, concertId, [hold(users[2] as number, [3, 4])]));
  expect(await seatsOf(again as number)).toEqual(['3', '4']);
});
