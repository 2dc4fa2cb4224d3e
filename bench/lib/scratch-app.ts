import { createApp, type App } from '../../src/app';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { openDatabase, type Database } from '../../src/models/database';
import { createDatabase } from './server-process';

export interface ScratchApp {
  app: App;
  db: Database;
  port: number;
  /** http://127.0.0.1:port, whatever host it listens on. */
  base: string;
  /** Stops the app, closes its pools and drops the database. */
  close: () => Promise<void>;
}

/**
 * The real app in the bench's own process (createApp, so a bench can reach its services) on a
 * fresh database, listening on a free port. Benches that need a server process use
 * `createDatabase` and start one themselves.
 */
export async function scratchApp(config: Config, o: { host?: string; pool?: number } = {}): Promise<ScratchApp> {
  const database = await createDatabase();
  const db = await openDatabase(database.url, o.pool);
  const app = createApp({ config, log: createLogger('warn'), db, jwtSecret: config.jwtSecret ?? '' });
  const close = async () => {
    await app.close();
    await db.close();
    await database.drop();
  };
  try {
    const port = await app.listen(0, o.host ?? '127.0.0.1');
    return { app, db, port, base: `http://127.0.0.1:${port}`, close };
  } catch (err) {
    await close();
    throw err;
  }
}
