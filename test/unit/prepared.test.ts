import { DatabaseError, QueryTypes } from 'sequelize';
import { isPostgresDown } from '../../src/dependencies';
import { openDatabase, type Database } from '../../src/models/database';
import { Prepared } from '../../src/models/prepared';
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
