import { Client } from 'pg';
import { PG_ADMIN_URL } from './env';
import { openDatabase } from '../../src/models/database';
import { testDatabaseUrl } from './env';

/** A fresh database per run, migrated once; dropped by global teardown. */
export default async function globalSetup(): Promise<void> {
  const name = `tix_test_${Date.now()}_${process.pid}`;
  process.env['TIX_TEST_DB'] = name;
  process.env['TIX_TEST_REDIS_PREFIX'] = `tix-test-${Date.now()}-${process.pid}:`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const db = await openDatabase(testDatabaseUrl(), 2);
  await db.close();
}
