import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Redis, RedisOptions } from 'ioredis';
import { notFound } from '../../errors';
import type { DateFenceRepository } from '../../models/date-fence-repository';
import { NotOwnerError, type Claim, type DateLeases } from '../date/date-leases';
import { placeDates, preferredOwner } from './rendezvous';
import type { Logger } from '../../logger';


// KEYS: lease, fence counter. ARGV: instance id, lease ms, take a free lease ('1' or '0').
// Returns {1, fence} when this instance holds the lease (new or renewed), {0, owner} when
// another does, {2, ''} when it is free and not taken.
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
if ARGV[3] ~= '1' then return {2, ''} end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return {1, tostring(fence)}
`;

// KEYS: the live-instance set. ARGV: how long without a beat means dead (ms).
const LIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`;

// KEYS: lease. ARGV: expected value. Renewals are lease-worker.js's.
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

export interface OwnershipOptions {
  redis: Redis;
  fences: DateFenceRepository;
  prefix: string;
  instanceId: string;
  leaseMs: number;
  /** A main thread that has not beaten for this long is hung: its leases are left to lapse (default 10 s). */
  stallMs?: number;
  log: Logger;
  /** A lease this instance held was lost (expired while paused, taken over): drop the room now. */
  onLost(dateId: number): void;
}

type FromWorker = { op: 'lost'; dateId: number; value: string } | { op: 'warn'; message: string } | { op: 'ready' };

const STALL_MS = 10_000;
const HEARTBEAT_MS = 200;

/**
 * Exactly one live owner per date room: a Redis lease carrying a fencing
 * token. The token is also written to PostgreSQL when the lease is taken, and
 * every commit of the room checks it, so an owner that was paused past its
 * lease cannot write after another instance took over.
 */
export class DateOwnership implements DateLeases {
  private readonly held = new Map<number, number>();
  private readonly owners = new Map<number, { owner: string; until: number; free?: true }>();
  /** Concurrent first commands for a date share one acquisition. */
  private readonly acquiring = new Map<string, Promise<Claim>>();
  /** Live instances (this one always among them), as last read from Redis. */
  private live: string[];
  /** Where free dates go: dates not yet started, placed over `live` (see placeDates). */
  private onSale: number[] = [];
  private placement = new Map<number, string>();
  private placedFor = '';
  private readonly liveReader: NodeJS.Timeout;
  private readonly heartbeat = new BigInt64Array(new SharedArrayBuffer(8));
  private readonly beat: NodeJS.Timeout;
  private renewer: Worker;
  /** Settles once the renewer thread runs: a lease taken before that could lapse unrenewed. */
  private renewerStarted!: Promise<void>;
  private closing = false;

  constructor(private readonly options: OwnershipOptions) {
    this.beat = setInterval(() => Atomics.store(this.heartbeat, 0, BigInt(Date.now())), HEARTBEAT_MS);
    this.beat.unref();
    Atomics.store(this.heartbeat, 0, BigInt(Date.now()));
    this.renewer = this.startRenewer();
    this.live = [options.instanceId];
    this.liveReader = setInterval(() => void this.readLive(), 1000);
    this.liveReader.unref();
  }

  /** Reads the live instances and the dates on sale now (the first time, before serving). */
  async readLive(): Promise<void> {
    try {
      const live = (await this.options.redis.eval(LIVE, 1, this.membersKey(), this.options.leaseMs)) as string[];
      this.live = live.includes(this.instanceId) ? live : [...live, this.instanceId];
    } catch (err) {
      this.options.log.warn({ err }, 'reading the live instances failed');
    }
    try {
      this.onSale = await this.options.fences.datesOnSale();
    } catch (err) {
      this.options.log.warn({ err }, 'reading the dates on sale failed');
    }
    const key = `${[...this.live].sort().join(',')}|${this.onSale.join(',')}`;
    if (key === this.placedFor) return;
    this.placement = placeDates(this.onSale, this.live);
    this.placedFor = key;
  }

  /**
   * The instance a free date should go to, so dates spread over the live
   * instances. Views may differ for a moment (a new date, an instance that
   * just left): then two instances may each try to take a free date, and the
   * lease picks one.
   */
  preferred(dateId: number): string {
    return this.placement.get(dateId) ?? preferredOwner(dateId, this.live) ?? this.instanceId;
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

  /**
   * Names the owner (cached for a moment). A free lease is taken when this
   * instance is the date's preferred owner, or with `take` (a command was sent
   * here to run, or nobody else took the date for a while).
   */
  async acquire(dateId: number, take = false): Promise<Claim> {
    const fence = this.held.get(dateId);
    if (fence !== undefined) return { self: true, fence };
    const cached = this.owners.get(dateId);
    if (!take && cached && cached.until > Date.now()) return cached.free ? { self: false, owner: cached.owner, free: true } : { self: false, owner: cached.owner };
    const mayTake = take || this.preferred(dateId) === this.instanceId;
    const key = `${dateId}:${mayTake}`;
    let pending = this.acquiring.get(key);
    if (!pending) {
      pending = this.tryAcquire(dateId, mayTake).finally(() => this.acquiring.delete(key));
      this.acquiring.set(key, pending);
    }
    return pending;
  }

  private async tryAcquire(dateId: number, take: boolean): Promise<Claim> {
    // A thread takes a few hundred ms to start on a busy machine, longer than a short lease.
    await this.renewerStarted;
    const [mine, value] = (await this.options.redis.eval(ACQUIRE, 2, this.leaseKey(dateId), this.fenceKey(dateId), this.instanceId, this.options.leaseMs, take ? '1' : '0')) as [number, string];
    if (mine === 2) {
      const owner = this.preferred(dateId);
      this.owners.set(dateId, { owner, until: Date.now() + 1000, free: true });
      return { self: false, owner, free: true };
    }
    if (mine !== 1) {
      this.owners.set(dateId, { owner: value, until: Date.now() + 1000 });
      return { self: false, owner: value };
    }
    const taken = Number(value);
    await this.writeFence(dateId, taken);
    this.held.set(dateId, taken);
    this.renew(dateId, taken);
    return { self: true, fence: taken };
  }

  /** A commit was refused by the fence: the lease is someone else's now, whatever Redis said last. */
  lost(dateId: number): void {
    this.drop(dateId);
    this.owners.delete(dateId);
  }

  /** Forget a cached owner (it did not answer, or said it is not the owner). */
  forget(dateId: number): void {
    this.owners.delete(dateId);
  }

  async release(dateId: number): Promise<void> {
    const fence = this.held.get(dateId);
    if (fence === undefined) return;
    this.drop(dateId);
    await this.options.redis.eval(RELEASE, 1, this.leaseKey(dateId), this.leaseValue(fence)).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.beat);
    clearInterval(this.liveReader);
    // It exits by itself once its Redis connection is closed; do not wait on a stuck one.
    const stopped = new Promise((resolve) => this.renewer.once('exit', resolve));
    this.renewer.postMessage({ op: 'stop' });
    await Promise.all([...this.held.keys()].map((id) => this.release(id)));
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    await this.renewer.terminate();
  }

  private drop(dateId: number): void {
    if (!this.held.delete(dateId)) return;
    this.renewer.postMessage({ op: 'drop', dateId });
  }

  /** Renewals run on a worker thread so that a lagging event loop cannot let leases lapse. */
  private startRenewer(): Worker {
    const { host, port, path: socket, username, password, db, family, tls } = this.options.redis.options;
    const redis: RedisOptions = { host, port, path: socket, username, password, db, family, tls };
    const worker = new Worker(path.join(__dirname, 'lease-worker.js'), {
      workerData: { redis, membersKey: this.membersKey(), instanceId: this.instanceId, leaseMs: this.options.leaseMs, everyMs: Math.max(100, Math.floor(this.options.leaseMs / 3)), stallMs: this.options.stallMs ?? STALL_MS, heartbeat: this.heartbeat },
    });
    worker.unref();
    let started = () => {};
    this.renewerStarted = new Promise((resolve) => (started = resolve));
    // A renewer that fails to start must not hold acquisitions forever: its replacement takes over.
    worker.once('exit', () => started());
    worker.on('message', (msg: FromWorker) => {
      if (msg.op === 'ready') started();
      else if (msg.op === 'warn') this.options.log.warn({ reason: msg.message }, 'lease renewal failed');
      else this.onRenewalRefused(msg.dateId, msg.value);
    });
    worker.on('error', (err) => this.options.log.error({ err }, 'lease renewer crashed'));
    worker.on('exit', () => {
      if (this.closing) return;
      // A renewer that died must be replaced, or every lease held here lapses; a second later, so a crash cannot spin.
      setTimeout(() => {
        if (this.closing) return;
        this.renewer = this.startRenewer();
        for (const [dateId, fence] of this.held) this.renew(dateId, fence);
      }, 1000).unref();
    });
    return worker;
  }

  private renew(dateId: number, fence: number): void {
    this.renewer.postMessage({ op: 'hold', dateId, key: this.leaseKey(dateId), value: this.leaseValue(fence) });
  }

  private onRenewalRefused(dateId: number, value: string): void {
    const fence = this.held.get(dateId);
    if (fence === undefined || this.leaseValue(fence) !== value) return;
    this.held.delete(dateId);
    this.options.log.warn({ dateId, fence }, 'lost the lease of a date; dropping its room');
    this.options.onLost(dateId);
  }

  /** Raises the date's fence in PostgreSQL; from now on only commits carrying it land. */
  private async writeFence(dateId: number, fence: number): Promise<void> {
    const raised = await this.options.fences.raise(dateId, fence);
    if (raised === 'raised') return;
    await this.options.redis.eval(RELEASE, 1, this.leaseKey(dateId), this.leaseValue(fence));
    if (raised === 'missing') throw notFound('date');
    throw new NotOwnerError(dateId);
  }

  private leaseValue(fence: number): string {
    return `${this.instanceId}|${fence}`;
  }

  private membersKey(): string {
    return `${this.options.prefix}instances`;
  }

  private leaseKey(dateId: number): string {
    return `${this.options.prefix}date:${dateId}:owner`;
  }

  private fenceKey(dateId: number): string {
    return `${this.options.prefix}date:${dateId}:fence`;
  }
}
