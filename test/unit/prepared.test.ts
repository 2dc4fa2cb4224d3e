import { DatabaseError, QueryTypes } from 'sequelize';
import { isPostgresDown } from '../../src/dependencies';
import { openDatabase, type Database } from '../../src/models/database';
import { HeldConnection, Prepared } from '../../src/models/prepared';
import { testDatabaseUrl } from '../support/env';

// Hot-path statements straight through pg on a sequelize pool's connections, against the run's real PostgreSQL.
let db: Database;

beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 2);
});
afterAll(() => db.close());

const twice = new Prepared<{ n: number; pid: number }>('prepared_test_twice', 'SELECT $1::int * 2 AS n, pg_backend_pid() AS pid');
const refuse = new Prepared<never>('prepared_test_refuse', `SELECT CASE WHEN $1::int > 0 THEN (SELECT 1 / 0) END AS never`);
const prepared = (name: string) =>
  db.sequelize.query<{ count: number }>('SELECT count(*)::int AS count FROM pg_prepared_statements WHERE name = $1', { bind: [name], type: QueryTypes.SELECT });

describe('Prepared', () => {
  it('answers with its rows, prepared once on the connection and reused', async () => {
    expect(await twice.rows(db.sequelize, [21])).toEqual([{ n: 42, pid: expect.any(Number) }]);
    expect(await twice.one(db.sequelize, [5])).toMatchObject({ n: 10 });
    // With at most two connections, at least one of them prepared it; a statement re-prepared per call would be unnamed.
    const counts = await Promise.all([prepared('prepared_test_twice'), prepared('prepared_test_twice')]);
    expect(counts.some(([c]) => c?.count === 1)).toBe(true);
  });

  it('binds a string with a NUL as sequelize does (a text value cannot hold one), so both paths store the same text', async () => {
    const echo = new Prepared<{ t: string }>('prepared_test_text', 'SELECT $1::text AS t');
    const [viaSequelize] = await db.sequelize.query<{ t: string }>('SELECT $1::text AS t', { bind: ['a\u0000b'], type: QueryTypes.SELECT });

    expect(await echo.one(db.sequelize, ['a\u0000b'])).toEqual(viaSequelize);
    expect(viaSequelize).toEqual({ t: 'a\\0b' });
  });

  it('a failing statement throws the DatabaseError sequelize would, with its SQLSTATE, and is not taken for an outage', async () => {
    const err: unknown = await refuse.one(db.sequelize, [1]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError & { original: { code?: string } }).original.code).toBe('22012');
    expect(isPostgresDown(err)).toBe(false);
    // The connection is still good.
    expect(await twice.one(db.sequelize, [1])).toMatchObject({ n: 2 });
  });

  it('a backend terminated under a statement is taken for an outage (57P01, as sequelize reports it), and the pool replaces the connection', async () => {
    const first = (await twice.one(db.sequelize, [1])) as { pid: number };
    const slow = new Prepared<{ pid: number }>('prepared_test_slow', 'SELECT pg_backend_pid() AS pid, pg_sleep($1::float8)');
    const pending = slow.one(db.sequelize, [5]).catch((e: unknown) => e);
    // The slow statement's connection: whichever backend is running pg_sleep now.
    await new Promise((r) => setTimeout(r, 200));
    await db.sequelize.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_backend_pid() AS pid, pg_sleep%' AND pid <> pg_backend_pid()`);

    const err = await pending;
    expect(err).toBeInstanceOf(DatabaseError);
    expect((err as DatabaseError & { original: { code?: string } }).original.code).toBe('57P01');
    expect(isPostgresDown(err)).toBe(true);
    const after = await Promise.all([twice.one(db.sequelize, [3]), twice.one(db.sequelize, [4])]);
    expect(after.map((r) => r?.n)).toEqual([6, 8]);
    expect(first.pid).toEqual(expect.any(Number));
  });
});

describe('HeldConnection', () => {
  const pool = () => (db.sequelize.connectionManager as unknown as { pool: { using: number; waiting: number } }).pool;
  const pid = new Prepared<{ pid: number }>('prepared_test_pid', 'SELECT pg_backend_pid() AS pid');

  it('runs every statement on one connection until released, then gives it back', async () => {
    const held = new HeldConnection(db.sequelize);
    const pids = new Set<number>();
    for (let i = 0; i < 5; i++) pids.add(((await pid.one(held, [])) as { pid: number }).pid);
    expect(pids.size).toBe(1);
    expect(pool().using).toBe(1);
    held.release();
    await new Promise((r) => setImmediate(r));
    expect(pool().using).toBe(0);
  });

  it('replaces a connection whose backend was terminated between statements, as an acquire would', async () => {
    const held = new HeldConnection(db.sequelize);
    const before = ((await pid.one(held, [])) as { pid: number }).pid;
    await db.sequelize.query('SELECT pg_terminate_backend($1)', { bind: [before] });
    // pg reports the lost backend on the idle connection (an error event), which marks it invalid.
    await new Promise((r) => setTimeout(r, 200));
    const after = ((await pid.one(held, [])) as { pid: number }).pid;
    expect(after).not.toBe(before);
    held.release();
  });

  it('gives its connection to a query waiting for the pool before its next statement', async () => {
    const held = new HeldConnection(db.sequelize);
    await pid.one(held, []);
    const sleep = new Prepared<{ pid: number }>('prepared_test_nap', 'SELECT pg_backend_pid() AS pid, pg_sleep($1::float8)');
    // Both connections of the pool (max 2) taken: the held one and a sleeper; a third query waits.
    const napping = sleep.one(db.sequelize, [0.3]);
    await new Promise((r) => setTimeout(r, 50));
    const order: string[] = [];
    const waiter = twice.one(db.sequelize, [1]).then(() => order.push('waiter'));
    await new Promise((r) => setTimeout(r, 20));
    expect(pool().waiting).toBe(1);
    const next = pid.one(held, []).then(() => order.push('held'));
    await Promise.all([waiter, next, napping]);
    expect(order).toEqual(['waiter', 'held']);
    held.release();
  });
});
