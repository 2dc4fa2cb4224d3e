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

/**
 * A hot-path statement run straight through `pg` on a connection of a
 * sequelize pool, prepared once per connection (named): no ORM query
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

  async rows(pool: Sequelize, values: unknown[]): Promise<Row[]> {
    const client = (await pool.connectionManager.getConnection({ type: 'write' })) as pg.Client & { _invalid?: boolean };
    try {
      const result = await client.query<Row & pg.QueryResultRow>({ name: this.name, text: this.text, values: values.map(bindable) });
      return result.rows;
    } catch (err) {
      // A connection-class SQLSTATE (a terminated backend) or no SQLSTATE at all (the socket broke):
      // the connection is gone, and sequelize's pool drops it at the next acquire instead of reusing it.
      const statement = err instanceof pg.DatabaseError;
      if (!statement || CONNECTION_STATES.test(err.code ?? '')) client._invalid = true;
      throw statement ? new DatabaseError(Object.assign(err, { sql: this.text })) : new ConnectionError(err as Error);
    } finally {
      pool.connectionManager.releaseConnection(client);
    }
  }

  async one(pool: Sequelize, values: unknown[]): Promise<Row | undefined> {
    return (await this.rows(pool, values))[0];
  }
}
