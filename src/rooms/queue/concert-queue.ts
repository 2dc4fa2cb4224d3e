import type { StoredConcert, StoredEntry, StoredRoom } from '../../models/queue-entry-repository';
import { secondsPerPosition, type EntryView, type QueueEntry } from './queue-store';
import { TicketLine } from './ticket-line';

/** One concert's room in process memory. Maps keep insertion order, which the expiry scans rely on. */
export class ConcertQueue {
  seq = 0;
  tick = 0;
  lastTickAt: number | undefined;
  soldOut = false;
  paused = false;
  /** Admissions of the last minute: [at, count] per tick that admitted, oldest first. */
  admits: [number, number][] = [];
  readonly entries = new Map<number, QueueEntry>();
  readonly users = new Map<number, number>();
  readonly line = new TicketLine();
  /** Pre-queued entries by key (negative, -1, -2, … in arrival order) → joined before the opening. */
  readonly pre = new Map<number, boolean>();
  preSeq = 0;
  /** Pre-queue key → the ticket the draw gave it (tokens name the key). */
  readonly aliases = new Map<number, number>();
  /** Waiters who ended since the last tick; still in `line` until it announces them. */
  leaving: number[] = [];
  /** ticket → expiresAt, in admission order (= expiry order: the TTL is one setting). */
  readonly active = new Map<number, number>();
  /** ticket → idle since, oldest first: users with no socket, re-inserted on each command. */
  readonly detached = new Map<number, number>();
  /** ticket → ended at, oldest first, until the record is dropped. */
  readonly gone = new Map<number, number>();

  constructor(
    readonly id: number,
    public rate: number,
  ) {}

  get live(): boolean {
    return this.line.size > 0 || this.active.size > 0 || this.pre.size > 0;
  }

  /**
   * The entry with its position at the current tick. Built field by field, every field always
   * present: a spread of entries of varying shapes took V8's slow path on every status read.
   */
  view(entry: QueueEntry): EntryView {
    const waiting = entry.status === 'WAITING';
    const preQueued = waiting && this.pre.has(entry.ticket);
    return {
      ticket: entry.ticket,
      userId: entry.userId,
      status: entry.status,
      expiresAt: entry.expiresAt,
      reason: entry.reason,
      token: entry.token,
      preQueued: preQueued || undefined,
      tick: this.tick,
      position: waiting && !preQueued ? this.line.rank(entry.ticket) + 1 : 0,
      waiting: this.line.size,
      secondsPerPosition: secondsPerPosition(this.rate),
    };
  }

  /** The entry as the durable store keeps it. */
  stored(entry: QueueEntry): StoredEntry {
    const { ticket: key } = entry;
    const stored: StoredEntry = { key, userId: entry.userId, status: entry.status, early: this.pre.get(key) ?? false, inLine: key > 0 && this.line.has(key) };
    if (entry.expiresAt !== undefined) stored.expiresAt = entry.expiresAt;
    if (entry.reason !== undefined) stored.reason = entry.reason;
    const endedAt = this.gone.get(key);
    if (endedAt !== undefined) stored.endedAt = endedAt;
    return stored;
  }

  storedRoom(): StoredRoom {
    return { seq: this.seq, preSeq: this.preSeq, tick: this.tick, rate: this.rate, paused: this.paused };
  }

  /**
   * Puts a stored room back as it was: the line in ticket order (leavers not yet announced
   * included), the pre-queue in arrival order, ACTIVE entries with their own deadlines (one
   * that passed while the process was down ends at the next tick, as it would have), ended
   * records until their retention ends. Nobody is connected yet: every live entry's idle
   * time starts now, unless `connected` says its user has a socket here.
   */
  static restore(s: StoredConcert, rate: number, now: number, connected: (userId: number) => boolean): ConcertQueue {
    const c = new ConcertQueue(s.concertId, Number.isFinite(s.room.rate) ? s.room.rate : rate);
    c.seq = s.room.seq;
    c.preSeq = s.room.preSeq;
    c.tick = s.room.tick;
    c.paused = s.room.paused;
    const byKey = [...s.entries].sort((a, b) => a.key - b.key);
    for (const e of byKey) {
      const entry: QueueEntry = { ticket: e.key, userId: e.userId, status: e.status };
      if (e.expiresAt !== undefined) entry.expiresAt = e.expiresAt;
      if (e.reason !== undefined) entry.reason = e.reason;
      c.entries.set(e.key, entry);
      if (e.preKey !== undefined) c.aliases.set(e.preKey, e.key);
      c.seq = Math.max(c.seq, e.key);
      c.preSeq = Math.max(c.preSeq, -e.key, -(e.preKey ?? 0));
      if (e.inLine && e.key > 0) c.line.add(e.key);
      if (e.inLine && e.status === 'EXPIRED') c.leaving.push(e.key);
    }
    // Pre-queue keys count down in arrival order.
    for (const e of byKey.filter((e) => e.key < 0 && e.status === 'WAITING').reverse()) c.pre.set(e.key, e.early);
    for (const e of byKey.filter((e) => e.status === 'ACTIVE').sort((a, b) => (a.expiresAt ?? 0) - (b.expiresAt ?? 0))) c.active.set(e.key, e.expiresAt ?? now);
    const ended = byKey.filter((e) => e.status === 'EXPIRED').sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    for (const e of ended) {
      c.gone.set(e.key, e.endedAt ?? now);
      c.users.set(e.userId, e.key);
    }
    // A user has at most one live entry, and it is their current one.
    for (const e of byKey.filter((e) => e.status !== 'EXPIRED')) {
      c.users.set(e.userId, e.key);
      if (!connected(e.userId)) c.detached.set(e.key, now);
    }
    return c;
  }
}
