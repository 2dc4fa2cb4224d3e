import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { openDatabase } from './models/database';
import { isPostgresDown } from './dependencies';
import { startEmbeddedPostgres } from './models/embedded-postgres';
import { CatalogRepository } from './models/catalog-repository';
import { seedDemo } from './models/seed';

/** Composition root: config → database → redis? → app → listen; SIGTERM/SIGINT drain and stop. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  // A dependency's failure that some library leaves unhandled must not end the process (and every
  // socket on it); the tests fail on this line.
  process.on('unhandledRejection', (err: unknown) => log.error({ err }, 'unhandled rejection'));
  const started = Date.now();
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log.error({ err }, 'shutdown step failed'));
  };

  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, log, (reason) => {
        log.fatal(`${reason}; exiting`);
        process.exit(1);
      });
      stops.push(() => embedded.stop());
      databaseUrl = embedded.url;
      log.info({ dataDir: path.resolve(config.dataDir, 'pg'), port: config.embeddedPgPort }, 'embedded PostgreSQL started');
    }
    const db = await openWhenReachable(databaseUrl, log);
    stops.push(() => db.close());
    const catalog = new CatalogRepository(db);
    if (config.seedDemo ?? (await catalog.isEmpty())) {
      await seedDemo(db, catalog);
      log.info('demo concerts seeded');
    }

    let redis: Redis | undefined;
    if (config.redisUrl) {
      const client = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
      // Outages are logged once by the app's connections; without a listener ioredis prints every retry.
      client.on('error', () => undefined);
      // Not awaited: with Redis down the instance starts anyway, and ioredis keeps reconnecting.
      client.connect().catch((err: unknown) => log.error({ err }, 'Redis does not answer yet; starting without it'));
      stops.push(() => client.quit());
      redis = client;
    }

    const app = createApp({ config, log, db, redis, jwtSecret: config.jwtSecret ?? (await persistentSecret(config.dataDir)) });
    stops.push(() => app.close());
    const port = await app.listen();
    log.info(
      { engine: app.engine.name, transport: app.engine.description, startupMs: Date.now() - started },
      `listening on http://localhost:${port} (engine: ${app.engine.description})`,
    );
  } catch (err) {
    log.fatal({ err }, 'start failed');
    await stopAll();
    process.exit(1);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    void stopAll().then(() => {
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * PostgreSQL down at start: wait for it (one log line, a try a second) instead of exiting, so a
 * deployment started before its database comes up by itself. Nothing this server serves works
 * without PostgreSQL, so it listens once PostgreSQL answers.
 */
async function openWhenReachable(url: string, log: Logger): Promise<Awaited<ReturnType<typeof openDatabase>>> {
  for (let tries = 1; ; tries++) {
    try {
      const db = await openDatabase(url);
      if (tries > 1) log.warn({ tries }, 'PostgreSQL answers: starting');
      return db;
    } catch (err) {
      if (!isPostgresDown(err)) throw err;
      if (tries === 1) log.error({ err: err instanceof Error ? err.message : String(err) }, 'PostgreSQL does not answer yet; retrying every second');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** JWT_SECRET unset: generate one on first start and keep it, so tokens survive restarts. */
async function persistentSecret(dataDir: string): Promise<string> {
  const file = path.resolve(dataDir, 'jwt-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    await mkdir(dataDir, { recursive: true });
    const secret = randomBytes(48).toString('base64url');
    await writeFile(file, secret, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
    return (await readFile(file, 'utf8')).trim();
  }
}

void main().catch((err: unknown) => {
  const log: Logger = createLogger('info');
  log.fatal({ err }, 'fatal');
  process.exit(1);
});
