import type { Redis } from 'ioredis';
import { ConnectionError, DatabaseError } from 'sequelize';
import { AppError, unavailable } from './errors';
import type { Logger } from './logger';

export type Dependency = 'postgres' | 'redis';

// A lazy connection not used yet ('wait') is not down: its first command connects it.
const REDIS_DOWN = new Set(['connecting', 'reconnecting', 'close', 'end']);

// PostgreSQL SQLSTATEs that mean the connection, not the statement, failed:
// class 08 (connection exception) and the server shutting down or restarting.
const CONNECTION_STATES = /^(08|57P0[1-3])/;
const CONNECTION_MESSAGES = /connection terminated|connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|the database system is (starting|shutting) up/i;

/**
 * A failure of PostgreSQL itself (down, restarting, connection cut), as opposed to a failing
 * statement. Only sequelize's errors count: a Redis error saying "Connection is closed" is not one.
 */
export function isPostgresDown(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  if (!(err instanceof DatabaseError)) return false;
  const parent = err.parent as { code?: unknown; message?: unknown } | undefined;
  if (typeof parent?.code === 'string') return CONNECTION_STATES.test(parent.code);
  return typeof parent?.message === 'string' && CONNECTION_MESSAGES.test(parent.message);
}

export interface DependenciesOptions {
  log: Logger;
  /** Answers when PostgreSQL does: `SELECT 1`. */
  probePostgres(): Promise<unknown>;
  /** The Redis connections commands need, when REDIS_URL is set. */
  redis?: Redis[];
  /** False until what needs Redis at start (joining the cluster) has been done. */
  redisStarted?: () => boolean;
  /** How often an open circuit probes PostgreSQL. */
  probeEveryMs?: number;
}

/**
 * Knows which dependency is down, so that a command that needs it answers
 * `503 UNAVAILABLE` at once instead of waiting out a pool or a reconnect.
 * PostgreSQL: a circuit that opens on the first connection failure a command
 * meets and closes when a probe answers again. Redis: ioredis reconnects by
 * itself; a connection that is not `ready` is down.
 */
export class Dependencies {
  private postgresDown = false;
  private probing: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly redis: Redis[];

  constructor(private readonly options: DependenciesOptions) {
    this.redis = options.redis ?? [];
    for (const client of this.redis) this.watch(client);
  }

  /** Which of `needs` is down right now. */
  down(needs: readonly Dependency[]): Dependency | undefined {
    if (needs.includes('postgres') && this.postgresDown) return 'postgres';
    if (needs.includes('redis') && (this.redis.some((c) => REDIS_DOWN.has(c.status)) || this.options.redisStarted?.() === false)) return 'redis';
    return undefined;
  }

  /** Throws UNAVAILABLE when a dependency in `needs` is down. */
  require(needs: readonly Dependency[]): void {
    const missing = this.down(needs);
    if (missing) throw unavailable(`${missing === 'postgres' ? 'PostgreSQL' : 'Redis'} is unavailable; nothing changed, try again shortly`);
  }

  /**
   * A command failed with `err`: if a dependency it needs caused it, open that
   * circuit and answer UNAVAILABLE instead of INTERNAL.
   */
  explain(err: unknown, needs: readonly Dependency[]): unknown {
    if (err instanceof AppError) return err;
    if (needs.includes('postgres') && isPostgresDown(err)) {
      // One failed connection (a backend killed, the server's connection limit reached for a moment)
      // is not yet an outage: the circuit opens only if a probe fails too.
      if (!this.postgresDown) void this.probe(err);
      return unavailable('PostgreSQL is unavailable; try again shortly');
    }
    const missing = this.down(needs);
    return missing ? unavailable(`${missing === 'postgres' ? 'PostgreSQL' : 'Redis'} is unavailable; try again shortly`) : err;
  }

  tripPostgres(err: unknown): void {
    if (this.postgresDown || this.closed) return;
    this.postgresDown = true;
    this.options.log.error({ err }, 'PostgreSQL is unavailable: commands that need it answer UNAVAILABLE until it answers again');
    this.scheduleProbe();
  }

  /** Probes PostgreSQL now; opens or closes its circuit on the answer (`cause`: what made us ask). */
  async probe(cause?: unknown): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('probe timed out')), 1000)));
    try {
      await Promise.race([this.options.probePostgres(), timeout]);
      if (this.postgresDown) this.options.log.warn('PostgreSQL answers again');
      this.postgresDown = false;
      return true;
    } catch (err) {
      this.tripPostgres(cause ?? err);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.probing);
  }

  private scheduleProbe(): void {
    clearTimeout(this.probing);
    this.probing = setTimeout(() => {
      void this.probe().then((ok) => {
        if (!ok && !this.closed) this.scheduleProbe();
      });
    }, this.options.probeEveryMs ?? 500);
    this.probing.unref();
  }

  /** One log line per outage and one per recovery, not one per reconnect attempt. */
  private watch(client: Redis): void {
    let down = false;
    client.on('error', (err: Error) => {
      if (down) return;
      down = true;
      this.options.log.error({ err: err.message }, 'Redis is unavailable: commands that need it answer UNAVAILABLE until it reconnects');
    });
    client.on('ready', () => {
      if (!down) return;
      down = false;
      this.options.log.warn('Redis answers again');
    });
  }
}
