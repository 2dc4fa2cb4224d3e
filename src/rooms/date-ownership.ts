import type { Redis } from 'ioredis';
import { QueryTypes, type Sequelize } from 'sequelize';
import { notFound } from '../errors';
import type { Logger } from '../logger';

/** Another instance owns the date (or nobody can be found to): the caller routes again. */
export class NotOwnerError extends Error {
  constructor(readonly dateId: number) {
    super(`this instance does not own date ${dateId}`);
  }
}

export type Claim = { self: true; fence: number } | { self: false; owner: string };

// KEYS: lease, fence counter. ARGV: instance id, lease ms.
// Returns {1, fence} when this instance holds the lease (new or renewed), {0, owner} otherwise.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local owner, fence = string.match(current, '^(.*)|(%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, fence}
  end
  return {0, owner}
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return {1, tostring(fence)}
`;

// KEYS: lease. ARGV: expected value, lease ms (0 = release).
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

export interface OwnershipOptions {
  redis: Redis;
  sequelize: Sequelize;
  prefix: string;
  instanceId: string;
  leaseMs: number;
  log: Logger;
  /** A lease this instance held was lost (expired while paused, taken over): drop the room now. */
  onLost(dateId: number): void;
}

/**
 * Exactly one live owner per date room: a Redis lease carrying a fencing
 * token. The token is also written to PostgreSQL when the lease is taken, and
 * every commit of the room checks it, so an owner that was paused past its
 * lease cannot write after another instance took over.
 */
export class DateOwnership {
  private readonly held = new Map<number, number>();
  private readonly owners = new Map<number, { owner: string; until: number }>();
  /** Concurrent first commands for a date share one acquisition. */
  private readonly acquiring = new Map<number, Promise<Claim>>();
  private readonly renewer: NodeJS.Timeout;

  constructor(private readonly options: OwnershipOptions) {
    this.renewer = setInterval(() => void this.renewAll(), Math.max(100, Math.floor(options.leaseMs / 3)));
    this.renewer.unref();
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /** The fence of a lease this instance holds, or undefined. */
  fence(dateId: number): number | undefined {
    return this.held.get(dateId);
  }

  /** Takes the lease when it is free; otherwise names the owner (cached for a moment). */
  async acquire(dateId: number): Promise<Claim> {
    const fence = this.held.get(dateId);
    if (fence !== undefined) return { self: true, fence };
    const cached = this.owners.get(dateId);
    if (cached && cached.until > Date.now()) return { self: false, owner: cached.owner };
    let pending = this.acquiring.get(dateId);
    if (!pending) {
      pending = this.tryAcquire(dateId).finally(() => this.acquiring.delete(dateId));
      this.acquiring.set(dateId, pending);
    }
    return pending;
  }

  private async tryAcquire(dateId: number): Promise<Claim> {
    const [mine, value] = (await this.options.redis.eval(ACQUIRE, 2, this.leaseKey(dateId), this.fenceKey(dateId), this.instanceId, this.options.leaseMs)) as [number, string];
    if (mine !== 1) {
      this.owners.set(dateId, { owner: value, until: Date.now() + 1000 });
      return { self: false, owner: value };
    }
    const taken = Number(value);
    await this.writeFence(dateId, taken);
    this.held.set(dateId, taken);
    return { self: true, fence: taken };
  }

  /** A commit was refused by the fence: the lease is someone else's now, whatever Redis said last. */
  lost(dateId: number): void {
    this.held.delete(dateId);
    this.owners.delete(dateId);
  }

  /** Forget a cached owner (it did not answer, or said it is not the owner). */
  forget(dateId: number): void {
    this.owners.delete(dateId);
  }

  async release(dateId: number): Promise<void> {
    const fence = this.held.get(dateId);
    if (fence === undefined) return;
    this.held.delete(dateId);
    await this.options.redis.eval(RENEW, 1, this.leaseKey(dateId), `${this.instanceId}|${fence}`, '0').catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.renewer);
    await Promise.all([...this.held.keys()].map((id) => this.release(id)));
  }

  private async renewAll(): Promise<void> {
    for (const [dateId, fence] of this.held) {
      let kept: number;
      try {
        kept = (await this.options.redis.eval(RENEW, 1, this.leaseKey(dateId), `${this.instanceId}|${fence}`, this.options.leaseMs)) as number;
      } catch (err) {
        this.options.log.warn({ err, dateId }, 'lease renewal failed');
        continue;
      }
      if (kept !== 1 && this.held.get(dateId) === fence) {
        this.held.delete(dateId);
        this.options.log.warn({ dateId, fence }, 'lost the lease of a date; dropping its room');
        this.options.onLost(dateId);
      }
    }
  }

  /** Raises the date's fence in PostgreSQL; from now on only commits carrying it land. */
  private async writeFence(dateId: number, fence: number): Promise<void> {
    const rows = await this.options.sequelize.query<{ id: number }>(
      'UPDATE concert_dates SET owner_fence = $2 WHERE id = $1 AND owner_fence <= $2 RETURNING id',
      { bind: [dateId, fence], type: QueryTypes.SELECT },
    );
    if (rows.length === 1) return;
    await this.options.redis.eval(RENEW, 1, this.leaseKey(dateId), `${this.instanceId}|${fence}`, '0');
    const exists = await this.options.sequelize.query('SELECT 1 FROM concert_dates WHERE id = $1', { bind: [dateId], type: QueryTypes.SELECT });
    if (exists.length === 0) throw notFound('date');
    throw new NotOwnerError(dateId);
  }

  private leaseKey(dateId: number): string {
    return `${this.options.prefix}date:${dateId}:owner`;
  }

  private fenceKey(dateId: number): string {
    return `${this.options.prefix}date:${dateId}:fence`;
  }
}
