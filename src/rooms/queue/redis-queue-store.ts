import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ExpiryReason, QueueEntryStatus } from '../../protocol/events';
import {
  ADMITTED_WINDOW_MS,
  EXPIRED_RETENTION_MS,
  RATE_TAU_MS,
  secondsPerPosition,
  type DrawResult,
  type EntryView,
  type JoinResult,
  type QueueCounts,
  type QueueEntry,
  type QueueStore,
  type TickParams,
  type TickResult,
} from './queue-store';
import { COUNT_CONNECTION, COUNTS, DRAW, END, JOIN, SET_SOLD_OUT, SET_TOKEN, SYNC_PRESENCE, TICK, VIEW } from './redis-queue-scripts';

/** EVALSHA with a fallback to EVAL when Redis does not know the script yet (restart, SCRIPT FLUSH). */
class Script {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

const scripts = {
  join: new Script(JOIN),
  setToken: new Script(SET_TOKEN),
  view: new Script(VIEW),
  end: new Script(END),
  tick: new Script(TICK),
  syncPresence: new Script(SYNC_PRESENCE),
  countConnection: new Script(COUNT_CONNECTION),
  counts: new Script(COUNTS),
  draw: new Script(DRAW),
  setSoldOut: new Script(SET_SOLD_OUT),
};

/** Must match LATE in the scripts: pre-queue scores from here on are arrivals after the opening. */
const LATE_SCORE = 1e15;

const STATUS: Record<string, QueueEntryStatus> = { W: 'WAITING', A: 'ACTIVE', E: 'EXPIRED' };

/**
 * The shared store: sorted sets for the line (ZRANK gives positions), the
 * active users (by expiry) and the detached users (by idle-since), and one
 * Lua script per step so each step is atomic across instances. Keys of one
 * concert share a hash tag; every key is under the configured prefix.
 */
export class RedisQueueStore implements QueueStore {
  /** Names this instance in the admission lease. */
  readonly instance = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly priorRate: number,
  ) {}

  async join(concertId: number, userId: number, now: number, maxWaiting: number, opensAt = 0): Promise<JoinResult> {
    const reply = list(await scripts.join.run(this.redis, this.keys(concertId, userId), [userId, now, maxWaiting, concertId, opensAt]));
    if (num(reply[0]) === -1) return { full: true, waiting: num(reply[1]), secondsPerPosition: this.spp(reply[2]) };
    return { full: false, created: num(reply[0]) === 1, entry: this.parseView(reply.slice(1)) };
  }

  async setToken(concertId: number, ticket: number, token: string): Promise<string> {
    return str(await scripts.setToken.run(this.redis, this.keys(concertId), [ticket, token]));
  }

  async view(concertId: number, ticket: number, now: number): Promise<EntryView | undefined> {
    const reply = await scripts.view.run(this.redis, this.keys(concertId), [ticket, now]);
    return reply === null ? undefined : this.parseView(list(reply));
  }

  async currentTicket(concertId: number, userId: number): Promise<number | undefined> {
    const ticket = await this.redis.hget(this.key(concertId, 'users'), String(userId));
    return ticket === null ? undefined : Number(ticket);
  }

  async end(concertId: number, ticket: number, reason: ExpiryReason, now: number, onlyActive: boolean): Promise<QueueEntry | undefined> {
    const reply = await scripts.end.run(this.redis, this.keys(concertId), [ticket, reason, now, onlyActive ? 1 : 0]);
    if (reply === null) return undefined;
    const [status, userId, expiresAt] = list(reply);
    return { ticket, userId: num(userId), status: STATUS[str(status)] ?? 'EXPIRED', ...optionalTime(expiresAt) };
  }

  async tick(concertId: number, p: TickParams): Promise<TickResult> {
    const args = [p.now, p.intervalMs, p.batch, p.maxActive, p.activeTtlMs, p.idleMs, p.leaseMs, p.limit];
    const reply = list(
      await scripts.tick.run(this.redis, this.keys(concertId), [...args, this.instance, RATE_TAU_MS, EXPIRED_RETENTION_MS, concertId, this.priorRate, p.paused ? 1 : 0, ADMITTED_WINDOW_MS]),
    );
    if (num(reply[0]) === 0) {
      const follower = { leader: false, tick: num(reply[1]), changed: false, admitted: [], left: [], expired: [], waiting: 0 };
      return { ...follower, secondsPerPosition: 0, preQueued: 0, empty: num(reply[2]) === 1 };
    }
    const admitted = triples(reply[3]).map(([t, u, e]) => ({ ticket: num(t), userId: num(u), expiresAt: num(e) }));
    const expired = triples(reply[5]).map(([t, u, r]) => ({ ticket: num(t), userId: num(u), reason: str(r) as ExpiryReason }));
    return {
      leader: true,
      tick: num(reply[1]),
      changed: num(reply[2]) === 1,
      admitted,
      left: list(reply[4]).map(num).sort((a, b) => a - b),
      expired,
      waiting: num(reply[6]),
      secondsPerPosition: this.spp(reply[7]),
      empty: num(reply[8]) === 1,
      preQueued: num(reply[9]),
    };
  }

  async draw(concertId: number, permute: (early: number) => Uint32Array, p: { now: number; leaseMs: number }): Promise<DrawResult | undefined> {
    // Joins before the opening have ended by now, so the count holds unless one leaves meanwhile:
    // the script checks it, and a changed count is drawn again at the next tick.
    const order = permute(await this.redis.zcount(this.key(concertId, 'pre'), '-inf', `(${LATE_SCORE}`));
    // 1-based arrival indices, one string: a hundred thousand ARGV entries would cost more to parse.
    const indices = Array.from(order, (i) => i + 1).join(',');
    const reply = list(await scripts.draw.run(this.redis, this.keys(concertId), [this.instance, p.leaseMs, order.length, indices]));
    if (num(reply[0]) !== 1) return undefined;
    const base = num(reply[2]);
    const first = num(reply[5]);
    const userIds = list(reply[6]);
    const drawn: DrawResult['drawn'] = new Array<DrawResult['drawn'][number]>(userIds.length);
    for (let i = 0; i < userIds.length; i++) drawn[i] = { ticket: first + i, userId: num(userIds[i]), position: base + i + 1 };
    return { tick: num(reply[1]), waiting: num(reply[3]), secondsPerPosition: this.spp(reply[4]), drawn };
  }

  async presence(userId: number, delta: 1 | -1, now: number): Promise<void> {
    await scripts.countConnection.run(this.redis, [this.global('conns')], [userId, delta]);
    const concerts = await this.redis.smembers(this.userKey(userId));
    // Each sync re-reads the global count, so whichever instance syncs last leaves the right state.
    await Promise.all(concerts.map((c) => scripts.syncPresence.run(this.redis, this.keys(Number(c), userId), [userId, now])));
  }

  async counts(concertId: number, now: number): Promise<QueueCounts> {
    const [waiting, active, admitted, preQueued] = list(await scripts.counts.run(this.redis, this.keys(concertId), [now, ADMITTED_WINDOW_MS])).map(num);
    return { waiting: waiting ?? 0, preQueued: preQueued ?? 0, active: active ?? 0, admittedLastMinute: admitted ?? 0 };
  }

  async liveConcerts(): Promise<number[]> {
    return (await this.redis.smembers(this.global('concerts'))).map(Number);
  }

  async setSoldOut(concertId: number, soldOut: boolean): Promise<boolean> {
    return num(await scripts.setSoldOut.run(this.redis, this.keys(concertId), [soldOut ? 1 : 0])) === 1;
  }

  async close(): Promise<void> {
    // The Redis client is the caller's.
  }

  private parseView(v: unknown[]): EntryView {
    const [ticket, status, userId, expiresAt, reason, token, tick, position, waiting, rate, pre] = v;
    const view: EntryView = {
      ticket: num(ticket),
      userId: num(userId),
      status: STATUS[str(status)] ?? 'EXPIRED',
      tick: num(tick),
      position: num(position),
      waiting: num(waiting),
      secondsPerPosition: this.spp(rate),
      ...optionalTime(expiresAt),
    };
    if (str(reason) !== '') view.reason = str(reason) as ExpiryReason;
    if (str(token) !== '') view.token = str(token);
    if (str(pre) === '1') view.preQueued = true;
    return view;
  }

  private spp(rate: unknown): number {
    const value = str(rate);
    return secondsPerPosition(value === '' ? this.priorRate : Number(value));
  }

  private key(concertId: number, name: string): string {
    return `${this.prefix}q:{${concertId}}:${name}`;
  }

  private global(name: string): string {
    return `${this.prefix}q:${name}`;
  }

  private userKey(userId: number): string {
    return `${this.prefix}q:user:${userId}:queues`;
  }

  private keys(concertId: number, userId?: number): string[] {
    const names = ['meta', 'line', 'leaving', 'active', 'detached', 'entries', 'tokens', 'users', 'gone', 'lease'];
    const queues = userId === undefined ? this.global('none') : this.userKey(userId);
    return [...names.map((n) => this.key(concertId, n)), this.global('concerts'), this.global('conns'), queues, ...['admits', 'pre', 'alias', 'tickets'].map((n) => this.key(concertId, n))];
  }
}

function list(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new Error('unexpected reply from a queue script');
  return value as unknown[];
}

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

function num(value: unknown): number {
  const n = Number(str(value));
  if (!Number.isFinite(n)) throw new Error('unexpected number from a queue script');
  return n;
}

function triples(value: unknown): [unknown, unknown, unknown][] {
  const flat = list(value);
  const out: [unknown, unknown, unknown][] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) out.push([flat[i], flat[i + 1], flat[i + 2]]);
  return out;
}

function optionalTime(value: unknown): { expiresAt?: number } {
  return str(value) === '' ? {} : { expiresAt: num(value) };
}
