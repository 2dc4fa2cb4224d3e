import { QueryTypes, type Sequelize } from 'sequelize';
import { openDatabase, type Database } from '../../src/models/database';
import { testDatabaseUrl } from '../support/env';

let db: Database;

beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 2);
});
afterAll(() => db.close());

const setting = async (pool: Sequelize, name: string) => {
  const [row] = await pool.query<{ value: string }>('SELECT current_setting($1) AS value', { bind: [name], type: QueryTypes.SELECT });
  return row?.value;
};

describe('openDatabase', () => {
  // The shared server runs with PostgreSQL's default (jit on): each pool must turn it off for itself.
  it('opens every pool with JIT off, so a short statement never pays for compiling itself', async () => {
    for (const pool of [db.sequelize, db.commits, db.keys, db.journal]) {
      expect(await setting(pool, 'jit')).toBe('off');
    }
  });
});
