import pg from 'pg';
import { ConnectionError, DatabaseError, type Sequelize } from 'sequelize';

// Class 08 (connection exception) and the server shutting down or restarting.
const CONNECTION_STATES = /^(08|57P0[1-3])/;

/**
 * A string as sequelize binds it for PostgreSQL: a NUL (which a text value cannot hold) as the two
 * characters `\0`. Values written through sequelize and through here then agree (an idempotency key).
 */
export const pgText = (value: string): string => value.replace(/\0/g, '\\0');
const bindable = (value: unknown): unknown => (typeof value === 'string' ? pgText(value) : value);

/** The connection failed, not the statement (as sequelize reports either): retrying alone cannot help. */
export function connectionLost(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  const code = err instanceof DatabaseError ? (err.parent as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CONNECTION_STATES.test(code);
}

type PooledClient = pg.Client & { _invalid?: boolean; _ending?: boolean };

// sequelize-pool's queue of acquires (not in sequelize's types; absent with read replication: never yield there).
const waiting = (pool: Sequelize) => (pool.connectionManager as unknown as { pool?: { waiting?: number } }).pool?.waiting ?? 0;

const acquire = async (pool: Sequelize) => (await pool.connectionManager.getConnection({ type: 'write' })) as PooledClient;

/**
 * One connection of a sequelize pool kept across a run of statements (a date
 * room's commits while it has work), so each statement skips the pool's
 * acquire, its hooks and its checks. A connection the pool would refuse (an
 * error seen on it, or ending) is given back and replaced before the next
 * statement, as an acquire would. It is also given back, and a connection
 * taken again behind them, when others wait for the pool, so holders take
 * turns as they did acquiring per statement. `release` when the run ends, so
 * idle holders never keep connections others need.
 */
export class HeldConnection {
  private client: Promise<PooledClient> | undefined;

  constructor(private readonly pool: Sequelize) {}

  /** The held connection, or a fresh one if there is none or the pool would not hand this one out again. */
  async take(): Promise<PooledClient> {
    if (this.client) {
      const client = await this.client.catch(() => undefined);
      if (client && !client._invalid && !client._ending && waiting(this.pool) === 0) return client;
      this.release();
    }
    const pending = acquire(this.pool);
    this.client = pending;
    // A failed acquire holds nothing: the next statement tries again.
    pending.catch(() => {
      if (this.client === pending) this.client = undefined;
    });
    return pending;
  }

  release(): void {
    const pending = this.client;
    this.client = undefined;
    void pending?.then(
      (client) => this.pool.connectionManager.releaseConnection(client),
      () => undefined,
    );
  }
}

/**
 * A hot-path statement run straight through `pg` on a connection of a
 * sequelize pool (or one held across statements), prepared once per connection (named): no ORM query
 * building, no SQL re-parse per call. The pool, its acquire hooks (pool-wait
 * metrics) and its connection checks stay sequelize's, and failures come back
 * as the errors sequelize would have thrown, so callers and the dependency
 * guard (`isPostgresDown`) read them as before.
 */
export class Prepared<Row> {
  constructor(
    private readonly name: string,
    private readonly text: string,
  ) {}

  async rows(on: Sequelize | HeldConnection, values: unknown[]): Promise<Row[]> {
    if (on instanceof HeldConnection) return this.run(await on.take(), values);
    const client = await acquire(on);
    try {
      return await this.run(client, values);
    } finally {
      on.connectionManager.releaseConnection(client);
    }
  }

  async one(on: Sequelize | HeldConnection, values: unknown[]): Promise<Row | undefined> {
    return (await this.rows(on, values))[0];
  }

  private async run(client: PooledClient, values: unknown[]): Promise<Row[]> {
    try {
      const result = await client.query<Row & pg.QueryResultRow>({ name: this.name, text: this.text, values: values.map(bindable) });
      return result.rows;
    } catch (err) {
      // A connection-class SQLSTATE (a terminated backend) or no SQLSTATE at all (the socket broke):
      // the connection is gone, and the pool drops it at the next acquire (or take) instead of reusing it.
      const statement = err instanceof pg.DatabaseError;
      if (!statement || CONNECTION_STATES.test(err.code ?? '')) client._invalid = true;
      throw statement ? new DatabaseError(Object.assign(err, { sql: this.text })) : new ConnectionError(err as Error);
    }
  }
}
