import { randomInt } from 'node:crypto';
import pg from 'pg';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../logger';

/** The advisory-lock namespace of process owners (any constant no other lock of ours uses). */
export const OWNER_LOCK_SPACE = 7_114_302;

/**
 * Names this process to PostgreSQL for as long as it lives: an id held as a
 * session advisory lock on a connection of its own. When the process dies,
 * however it dies, its connection closes and PostgreSQL drops the lock, so any
 * instance can tell at once that work claimed under that id is abandoned
 * (`pg_locks` no longer lists it).
 */
export class ProcessOwner {
  private current: Promise<number> | undefined;
  private client: pg.Client | undefined;
  private closed = false;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly log?: Logger,
  ) {}

  /** This process's id, taken on first use; a new one if the connection holding it was lost. */
  id(): Promise<number> {
    if (this.closed) return Promise.reject(new Error('process owner closed'));
    this.current ??= this.acquire().catch((err: unknown) => {
      this.current = undefined;
      throw err;
    });
    return this.current;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => undefined);
  }

  private async acquire(): Promise<number> {
    const { host, port, database, username, password } = this.sequelize.config;
    const client = new pg.Client({ host, port: Number(port), database, user: username, password: password ?? undefined });
    client.on('error', (err) => {
      // Claims made under the old id now look abandoned; the next claim takes a new id.
      this.log?.warn({ err: err.message }, 'lost the connection that names this process; taking a new owner id');
      if (this.client === client) {
        this.client = undefined;
        this.current = undefined;
      }
      void client.end().catch(() => undefined);
    });
    await client.connect();
    this.client = client;
    for (;;) {
      const id = randomInt(1, 2 ** 31 - 1);
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [OWNER_LOCK_SPACE, id]);
      if (rows[0]?.ok) return id;
    }
  }
}
