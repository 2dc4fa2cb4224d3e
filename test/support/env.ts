/** Where the tests find PostgreSQL and Redis: the machine's own, overridable by env. */
export const PG_ADMIN_URL = process.env['TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export function testDatabaseUrl(): string {
  const name = process.env['TIX_TEST_DB'];
  if (!name) throw new Error('TIX_TEST_DB is not set: run the tests through jest (global setup creates the database)');
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A Redis key prefix per run (and per caller), so runs never see each other's keys. */
export function testRedisPrefix(label: string): string {
  return `${process.env['TIX_TEST_REDIS_PREFIX'] ?? 'tix-test:'}${label}:`;
}
