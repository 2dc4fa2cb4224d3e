import { Client } from 'pg';
import { Redis } from 'ioredis';
import { PG_ADMIN_URL, REDIS_URL } from './env';

export default async function globalTeardown(): Promise<void> {
  const name = process.env['TIX_TEST_DB'];
  if (name && process.env['TIX_KEEP_TEST_DB'] !== 'true') {
    const admin = new Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
  const prefix = process.env['TIX_TEST_REDIS_PREFIX'];
  if (prefix) {
    const redis = new Redis(REDIS_URL);
    const stream = redis.scanStream({ match: `${prefix}*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}
