import type { ExpiryReason, QueueEntryStatus } from '../../protocol/events';

/**
 * The waiting room's state, behind one port with two implementations: in
 * process (one instance) and Redis (several instances share it). Every method
 * is one atomic step of the store, so two instances (or two tabs of one user)
 * never observe a half-done join, leave or tick.
 *
 * Positions follow PROTOCOL.md's tick arithmetic: a waiter who leaves is
 * marked EXPIRED at once but stays in the ordered line until the next tick
 * removes it and announces its ticket in `left`. A position read between two
 * ticks therefore still counts that leaver, exactly as a client that applies
 * the ticks does.
 */
export interface QueueStore {
  /**
   * The user's live entry (idempotent), or a new WAITING one at the back; `full` past `maxWaiting`.
   * Before `opensAt`, and after it until the opening's draw, the new entry is pre-queued: it
   * has no ticket yet, and its key (negative) names it until the draw gives it one. No
   * `opensAt`: the sale is open.
   */
  join(concertId: number, userId: number, now: number, maxWaiting: number, opensAt?: number): Promise<JoinResult>;
  /**
   * The opening's draw, once the sale is open: the pre-queued entries get the next tickets,
   * those who joined before the opening in the order `permute(early)` gives (a permutation
   * of 0..early-1 of their arrival order), then those who joined since in arrival order.
   * Atomic and, with a lease, done by its holder only; `undefined` when not the holder or
   * the pre-queue changed under it (the next tick draws again).
   */
  draw(concertId: number, permute: (early: number) => Uint32Array, p: { now: number; leaseMs: number }): Promise<DrawResult | undefined>;
  /** Stores the entry's token unless one is stored; returns the stored one (first writer wins). */
  setToken(concertId: number, ticket: number, token: string): Promise<string>;
  /** The entry with its position at the current tick (by ticket, or by its pre-queue key); counts as activity of its user. */
  view(concertId: number, ticket: number, now: number): Promise<EntryView | undefined>;
  /** The ticket of the user's most recent entry for the concert, live or not. */
  currentTicket(concertId: number, userId: number): Promise<number | undefined>;
  /**
   * Ends a live entry at once (WAITING or, with `onlyActive`, ACTIVE only).
   * Returns the entry as it was, or undefined when there was nothing to end.
   */
  end(concertId: number, ticket: number, reason: ExpiryReason, now: number, onlyActive: boolean): Promise<QueueEntry | undefined>;
  /** One admission tick; only the lease holder changes anything. */
  tick(concertId: number, params: TickParams): Promise<TickResult>;
  /**
   * This instance's first socket of a user connected (+1) or its last one
   * disconnected (-1). A user with no socket anywhere is idle from then on
   * (or from their last command, whichever is later).
   */
  presence(userId: number, delta: 1 | -1, now: number): Promise<void>;
  /** Live figures of the concert for the operator, from what the store keeps anyway (no scan). */
  counts(concertId: number, now: number): Promise<QueueCounts>;
  /** Concerts that have live entries (so their tickers run somewhere). */
  liveConcerts(): Promise<number[]>;
  /** Records whether the concert is sold out; true when that changed the stored value. */
  setSoldOut(concertId: number, soldOut: boolean): Promise<boolean>;
  close(): Promise<void>;
}

export interface QueueEntry {
  ticket: number;
  userId: number;
  status: QueueEntryStatus;
  /** Epoch ms, while ACTIVE. */
  expiresAt?: number;
  reason?: ExpiryReason;
  token?: string;
}

export interface EntryView extends QueueEntry {
  /** Waiting for the opening's draw: `ticket` is only its key, and it has no position yet. */
  preQueued?: boolean;
  /** The concert's last tick the position includes. */
  tick: number;
  /** Users in the line ahead + 1 at `tick`; 0 unless WAITING. */
  position: number;
  /** Users in the line at `tick`, plus those who joined since. */
  waiting: number;
  /** Seconds per position, from the measured admission rate. */
  secondsPerPosition: number;
}

export type JoinResult = { full: false; created: boolean; entry: EntryView } | { full: true; waiting: number; secondsPerPosition: number };

export interface DrawResult {
  tick: number;
  /** Line length after the draw. */
  waiting: number;
  secondsPerPosition: number;
  /** Each drawn entry with its new ticket and position, in ticket order. */
  drawn: { userId: number; ticket: number; position: number }[];
}

export interface QueueCounts {
  preQueued: number;
  /** Users in the line now (leavers not yet announced excluded). */
  waiting: number;
  active: number;
  admittedLastMinute: number;
}

export interface TickParams {
  now: number;
  /** Admissions paused by the operator (`batch` is then 0): a change of it is announced by a tick of its own. */
  paused: boolean;
  intervalMs: number;
  batch: number;
  maxActive: number;
  activeTtlMs: number;
  idleMs: number;
  /** How long a lease holder keeps the concert's ticks without renewing. */
  leaseMs: number;
  /** Most expiries of each kind handled per tick, so one tick stays short; the rest go next tick. */
  limit: number;
}

export interface TickResult {
  /** Whether this caller held the lease and ran the tick. */
  leader: boolean;
  tick: number;
  /** A `queue:tick` must be broadcast (`tick` grew by one). */
  changed: boolean;
  admitted: { ticket: number; userId: number; expiresAt: number }[];
  /** Tickets removed from the line at this tick, ascending. */
  left: number[];
  /** Entries this tick ended (idle waiters, idle or timed-out active users). */
  expired: { ticket: number; userId: number; reason: ExpiryReason }[];
  waiting: number;
  secondsPerPosition: number;
  /** Entries waiting for the opening's draw. */
  preQueued: number;
  /** No live entry is left: the concert's ticker may stop. */
  empty: boolean;
}

/** Ended entries stay readable (status EXPIRED) this long, then their records go. */
export const EXPIRED_RETENTION_MS = 3_600_000;
/** The window of `admittedLastMinute`. */
export const ADMITTED_WINDOW_MS = 60_000;
/** Time constant of the admission-rate average. */
export const RATE_TAU_MS = 10_000;
/** Cap on seconds per position when nothing is being admitted. */
export const MAX_SECONDS_PER_POSITION = 86_400;

/**
 * Admissions per second, averaged exponentially over the ticks that had
 * someone waiting (an empty line says nothing about capacity). The Redis
 * store runs the same arithmetic in Lua.
 */
export function nextRate(rate: number, admitted: number, elapsedMs: number, intervalMs: number): number {
  const dt = Math.min(Math.max(elapsedMs, 1), 2 * intervalMs);
  const alpha = 1 - Math.exp(-dt / RATE_TAU_MS);
  return rate + alpha * ((admitted * 1000) / dt - rate);
}

export function secondsPerPosition(rate: number): number {
  if (rate <= 1 / MAX_SECONDS_PER_POSITION) return MAX_SECONDS_PER_POSITION;
  return Math.round((1 / rate) * 1000) / 1000;
}

/** Before anything was measured: the configured ceiling, batch per interval. */
export const priorRate = (batch: number, intervalMs: number): number => (batch * 1000) / intervalMs;
