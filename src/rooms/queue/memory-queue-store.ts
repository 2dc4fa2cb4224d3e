import type { ExpiryReason } from '../../protocol/events';
import type { StoredConcert, StoredDraw } from '../../models/queue-entry-repository';
import type { QueueJournal } from './queue-journal';
import { ConcertQueue } from './concert-queue';
import {
  ADMITTED_WINDOW_MS,
  EXPIRED_RETENTION_MS,
  nextRate,
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

/**
 * The single-instance store: everything in this process, each method
 * synchronous inside, so each is atomic by construction. Per-tick cost is
 * O((admitted + left + expired) · log n), independent of how many wait.
 */
export class MemoryQueueStore implements QueueStore {
  private readonly concerts = new Map<number, ConcertQueue>();
  private readonly connections = new Map<number, number>();
  private readonly userConcerts = new Map<number, Set<number>>();

  constructor(
    private readonly priorRate: number,
    private readonly journal?: QueueJournal,
  ) {}

  /** Whether this store has the concert's room (the durable store reads a room back only once). */
  has(concertId: number): boolean {
    return this.concerts.has(concertId);
  }

  /** Puts a concert's stored room back (the durable store's rebuild); replaces what this store had of it. */
  restore(stored: StoredConcert, now: number): void {
    const c = ConcertQueue.restore(stored, this.priorRate, now, (userId) => this.connections.has(userId));
    this.concerts.set(c.id, c);
    for (const entry of c.entries.values()) this.follow(entry.userId, c.id);
  }

  async join(concertId: number, userId: number, now: number, maxWaiting: number, opensAt = 0): Promise<JoinResult> {
    const c = this.concert(concertId);
    const current = c.entries.get(c.users.get(userId) ?? 0);
    if (current && current.status !== 'EXPIRED') {
      this.touch(c, current.ticket, now);
      return { full: false, created: false, entry: c.view(current) };
    }
    if (c.line.size + c.pre.size >= maxWaiting) return { full: true, waiting: c.line.size, secondsPerPosition: secondsPerPosition(c.rate) };
    // Until the draw, later arrivals wait for it too: a ticket now would go ahead of the drawn.
    const preQueued = now < opensAt || c.pre.size > 0;
    const entry: QueueEntry = { ticket: preQueued ? -++c.preSeq : ++c.seq, userId, status: 'WAITING' };
    c.entries.set(entry.ticket, entry);
    c.users.set(userId, entry.ticket);
    if (preQueued) c.pre.set(entry.ticket, now < opensAt);
    else c.line.add(entry.ticket);
    this.follow(userId, concertId);
    if (!this.connections.has(userId)) c.detached.set(entry.ticket, now);
    this.note(c, entry);
    this.journal?.room(concertId, c.storedRoom());
    return { full: false, created: true, entry: c.view(entry) };
  }

  async setToken(concertId: number, ticket: number, token: string): Promise<string> {
    const entry = this.concert(concertId).entries.get(ticket);
    if (!entry) return token;
    entry.token ??= token;
    return entry.token;
  }

  async view(concertId: number, key: number, now: number): Promise<EntryView | undefined> {
    const c = this.concerts.get(concertId);
    const ticket = c?.aliases.get(key) ?? key;
    const entry = c?.entries.get(ticket);
    if (!c || !entry) return undefined;
    this.touch(c, ticket, now);
    return c.view(entry);
  }

  async currentTicket(concertId: number, userId: number): Promise<number | undefined> {
    return this.concerts.get(concertId)?.users.get(userId);
  }

  async end(concertId: number, key: number, reason: ExpiryReason, now: number, onlyActive: boolean): Promise<QueueEntry | undefined> {
    const c = this.concerts.get(concertId);
    const ticket = c?.aliases.get(key) ?? key;
    const entry = c?.entries.get(ticket);
    if (!c || !entry || entry.status === 'EXPIRED' || (onlyActive && entry.status !== 'ACTIVE')) return undefined;
    const before = { ...entry };
    // A pre-queued entry has no place in the line, so no tick announces it.
    if (entry.status === 'WAITING' && !c.pre.delete(ticket)) c.leaving.push(ticket);
    else if (entry.status === 'ACTIVE') c.active.delete(ticket);
    this.expire(c, entry, reason, now);
    return before;
  }

  async tick(concertId: number, p: TickParams): Promise<TickResult> {
    const c = this.concert(concertId);
    const hadWaiters = c.line.size - c.leaving.length > 0;
    const expired: TickResult['expired'] = [];
    const end = (entry: QueueEntry, reason: ExpiryReason) => {
      expired.push({ ticket: entry.ticket, userId: entry.userId, reason });
      this.expire(c, entry, reason, p.now);
    };

    let n = 0;
    for (const [ticket, since] of c.detached) {
      if (since > p.now - p.idleMs || n++ >= p.limit) break;
      const entry = c.entries.get(ticket);
      c.detached.delete(ticket);
      if (entry?.status === 'WAITING') {
        if (!c.pre.delete(ticket)) c.leaving.push(ticket);
      } else if (entry?.status === 'ACTIVE') c.active.delete(ticket);
      else continue;
      end(entry, 'IDLE');
    }
    n = 0;
    for (const [ticket, expiresAt] of c.active) {
      if (expiresAt > p.now || n++ >= p.limit) break;
      c.active.delete(ticket);
      const entry = c.entries.get(ticket);
      if (entry?.status === 'ACTIVE') end(entry, 'TIMEOUT');
    }

    const left = c.leaving.sort((a, b) => a - b);
    c.leaving = [];
    for (const ticket of left) {
      c.line.remove(ticket);
      this.note(c, c.entries.get(ticket));
    }

    const admitted: TickResult['admitted'] = [];
    const room = Math.min(p.batch, p.maxActive - c.active.size);
    for (let i = 0; i < room; i++) {
      const ticket = c.line.kth(1);
      if (ticket === undefined) break;
      c.line.remove(ticket);
      const entry = c.entries.get(ticket);
      if (entry?.status !== 'WAITING') continue;
      entry.status = 'ACTIVE';
      entry.expiresAt = p.now + p.activeTtlMs;
      c.active.set(ticket, entry.expiresAt);
      this.note(c, entry);
      admitted.push({ ticket, userId: entry.userId, expiresAt: entry.expiresAt });
    }

    // A paused line says nothing about the admission rate: keep the one measured before.
    if (hadWaiters && !p.paused) c.rate = nextRate(c.rate, admitted.length, p.now - (c.lastTickAt ?? p.now - p.intervalMs), p.intervalMs);
    c.lastTickAt = p.now;
    if (admitted.length > 0) c.admits.push([p.now, admitted.length]);
    while ((c.admits[0]?.[0] ?? p.now) <= p.now - ADMITTED_WINDOW_MS) c.admits.shift();
    const announce = c.paused !== p.paused;
    c.paused = p.paused;
    const changed = admitted.length > 0 || left.length > 0 || announce;
    if (changed) c.tick++;
    if (changed) this.journal?.room(concertId, c.storedRoom());
    this.purge(c, p.now, p.limit);
    // Old keys name nothing once the room is empty (their entries have ended).
    if (!c.live) c.aliases.clear();
    return {
      leader: true,
      tick: c.tick,
      changed,
      admitted,
      left,
      expired,
      waiting: c.line.size,
      secondsPerPosition: secondsPerPosition(c.rate),
      preQueued: c.pre.size,
      empty: !c.live,
    };
  }

  async draw(concertId: number, permute: (early: number) => Uint32Array): Promise<DrawResult | undefined> {
    const c = this.concert(concertId);
    const early: number[] = [];
    const late: number[] = [];
    for (const [key, beforeOpening] of c.pre) (beforeOpening ? early : late).push(key);
    const order = permute(early.length);
    const base = c.line.size;
    const first = c.seq + 1;
    const keys: number[] = [];
    const drawn: DrawResult['drawn'] = [];
    const give = (key: number) => {
      const entry = c.entries.get(key);
      if (!entry) return;
      const ticket = ++c.seq;
      c.entries.delete(key);
      entry.ticket = ticket;
      c.entries.set(ticket, entry);
      c.aliases.set(key, ticket);
      if (c.users.get(entry.userId) === key) c.users.set(entry.userId, ticket);
      c.line.add(ticket);
      const since = c.detached.get(key);
      if (c.detached.delete(key) && since !== undefined) c.detached.set(ticket, since);
      keys.push(key);
      drawn.push({ userId: entry.userId, ticket, position: base + drawn.length + 1 });
    };
    for (const i of order) give(early[i] ?? 0);
    for (const key of late) give(key);
    c.pre.clear();
    // One record for the whole draw: the entries' rows move to their tickets later (restate).
    if (keys.length > 0) this.journal?.drawn(concertId, { first, keys: Int32Array.from(keys) });
    this.journal?.room(concertId, c.storedRoom());
    return { tick: c.tick, waiting: c.line.size, secondsPerPosition: secondsPerPosition(c.rate), drawn };
  }

  /**
   * Reports the rows of drawn entries `from`..`to` (indexes into the draw) under their tickets,
   * with their current state, and their pre-queue keys' rows as gone.
   */
  restate(concertId: number, draw: StoredDraw, from: number, to: number): void {
    const c = this.concerts.get(concertId);
    if (!this.journal) return;
    for (let i = from; i < Math.min(to, draw.keys.length); i++) {
      const key = draw.keys[i] ?? 0;
      const entry = c?.entries.get(draw.first + i);
      if (c && entry) this.journal.entry(concertId, { ...c.stored(entry), preKey: key });
      this.journal.dropped(concertId, key);
    }
  }

  async presence(userId: number, delta: 1 | -1, now: number): Promise<void> {
    const count = (this.connections.get(userId) ?? 0) + delta;
    if (count > 0) this.connections.set(userId, count);
    else this.connections.delete(userId);
    for (const concertId of this.userConcerts.get(userId) ?? []) {
      const c = this.concerts.get(concertId);
      const ticket = c?.users.get(userId);
      const entry = ticket === undefined ? undefined : c?.entries.get(ticket);
      if (!c || !entry || entry.status === 'EXPIRED') continue;
      if (count > 0) c.detached.delete(entry.ticket);
      else if (!c.detached.has(entry.ticket)) c.detached.set(entry.ticket, now);
    }
  }

  async counts(concertId: number, now: number): Promise<QueueCounts> {
    const c = this.concerts.get(concertId);
    if (!c) return { waiting: 0, preQueued: 0, active: 0, admittedLastMinute: 0 };
    const admittedLastMinute = c.admits.reduce((sum, [at, n]) => (at > now - ADMITTED_WINDOW_MS ? sum + n : sum), 0);
    return { waiting: c.line.size - c.leaving.length, preQueued: c.pre.size, active: c.active.size, admittedLastMinute };
  }

  async liveConcerts(): Promise<number[]> {
    return [...this.concerts].filter(([, c]) => c.live).map(([id]) => id);
  }

  async setSoldOut(concertId: number, soldOut: boolean): Promise<boolean> {
    const c = this.concert(concertId);
    if (c.soldOut === soldOut) return false;
    c.soldOut = soldOut;
    return true;
  }

  async close(): Promise<void> {
    this.concerts.clear();
  }

  private concert(concertId: number): ConcertQueue {
    let c = this.concerts.get(concertId);
    if (!c) this.concerts.set(concertId, (c = new ConcertQueue(concertId, this.priorRate)));
    return c;
  }

  private follow(userId: number, concertId: number): void {
    let concerts = this.userConcerts.get(userId);
    if (!concerts) this.userConcerts.set(userId, (concerts = new Set()));
    concerts.add(concertId);
  }

  private note(c: ConcertQueue, entry: QueueEntry | undefined): void {
    if (this.journal && entry) this.journal.entry(c.id, c.stored(entry));
  }

  private expire(c: ConcertQueue, entry: QueueEntry, reason: ExpiryReason, now: number): void {
    entry.status = 'EXPIRED';
    entry.reason = reason;
    delete entry.expiresAt;
    c.detached.delete(entry.ticket);
    c.gone.set(entry.ticket, now);
    this.note(c, entry);
  }

  /** A command of a user without a socket: their idle time starts again (moved to the back). */
  private touch(c: ConcertQueue, ticket: number, now: number): void {
    if (!c.detached.delete(ticket)) return;
    c.detached.set(ticket, now);
  }

  private purge(c: ConcertQueue, now: number, limit: number): void {
    let n = 0;
    for (const [ticket, endedAt] of c.gone) {
      if (endedAt > now - EXPIRED_RETENTION_MS || n++ >= limit) break;
      c.gone.delete(ticket);
      const entry = c.entries.get(ticket);
      c.entries.delete(ticket);
      if (entry && c.users.get(entry.userId) === ticket) c.users.delete(entry.userId);
      this.journal?.dropped(c.id, ticket);
    }
  }
}
