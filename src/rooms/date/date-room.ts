import type { Sequelize } from 'sequelize';
import { AppError } from '../../errors';
import type { ReservationView, SeatMap } from '../../protocol/events';
import type { Logger } from '../../logger';
import type { ReservationRepository } from '../../models/reservation-repository';
import { FenceError } from '../../models/reservation-repository';
import { systemClock, type Clock } from '../../timers/clock';
import { TimerHeap } from '../../timers/timer-heap';
import type { BatchWrite } from './batch-write';
import { DateCommands, NO_CHANGE } from './date-commands';
import { bindStore, type DateRoomStore } from './date-room-store';
import { DateState, seatStatus, type Reservation, type SeatState } from './date-state';
import { GroupCommit, RoomClosedError, type Applied, type Effect, type Message } from './group-commit';
import { Mailbox } from './mailbox';
import type { PaymentResult } from './room-request';
import type { Push } from '../push';

export interface DateRoomOptions {
  push: Push;
  log: Logger;
  holdTtlMs: number;
  maxSeatsPerUser: number;
  clock?: Clock;
  /** Called after each committed change set: seats of the concert changed. */
  onSeatsChanged?(concertId: number): void;
  /** Fencing token checked by every commit (scale-out). */
  fence?: number;
  /** After each group commit: its size, how long its oldest command waited, how long the commit took. */
  onBatch?(batch: { size: number; waitMs: number; commitMs: number }): void;
  /** Group commit bound; 1 commits every command alone. */
  maxBatch?: number;
  /** A commit was refused by the fence: another instance owns the date now. */
  onFenceLost?(dateId: number): void;
  /** After a commit that released holds at their expiry: how many. */
  onExpired?(count: number): void;
}

/** The store as a port, or the repository and the pool its commits run on. */
export type DateRoomDeps = DateRoomOptions & ({ store: DateRoomStore } | { sequelize: Sequelize; repo: ReservationRepository });

/**
 * The actor of one concert date: the only writer of its seats and
 * reservations. Every public method is one message in its mailbox; messages
 * run one at a time against the in-memory state, and what a batch changed is
 * committed in one transaction before anyone hears of it.
 */
export class DateRoom {
  private readonly mailbox: Mailbox<Message>;
  private readonly timers: TimerHeap<number>;
  private readonly commands: DateCommands;
  private readonly clock: Clock;
  private closed = false;
  /**
   * The seat map as last committed, kept until the next commit: a watch storm
   * reads it without entering the mailbox. Never built while a batch is
   * applied but not committed (only inside a mailbox message or `settle`).
   */
  private committedMap: SeatMap | undefined;
  lastActivity: number;

  private constructor(
    private readonly state: DateState,
    private readonly store: DateRoomStore,
    private readonly deps: DateRoomOptions,
  ) {
    this.clock = deps.clock ?? systemClock;
    const commits = new GroupCommit(
      {
        closed: () => this.closed,
        commit: (write) => write.commit(store, { dateId: state.dateId, concertId: state.concertId, version: state.version + 1, fence: deps.fence }),
        settle: (part, wrote) => this.settle(part, wrote),
        fail: (part, err) => this.fail(part, err),
        onBatch: (batch) => deps.onBatch?.(batch),
      },
      this.clock,
    );
    this.mailbox = new Mailbox(async (batch) => {
      try {
        await commits.run(batch);
      } finally {
        // Nothing queued behind this batch: the connection it committed on goes back to the pool.
        if (this.mailbox.pending === 0) store.release?.();
      }
    }, deps.maxBatch);
    this.lastActivity = this.clock.now();
    this.timers = new TimerHeap((ids) => ids.forEach((id) => this.expire(id)), this.clock);
    this.commands = new DateCommands(state, this.timers, deps);
  }

  /** Loads the date, then expires holds that lapsed while nobody owned it and re-arms the rest. */
  static async open(dateId: number, deps: DateRoomDeps): Promise<DateRoom | null> {
    const store = 'store' in deps ? deps.store : bindStore(deps.repo, deps.sequelize);
    const loaded = await store.loadDate(dateId);
    if (!loaded) return null;
    const room = new DateRoom(DateState.from(loaded), store, deps);
    for (const r of room.state.live.values()) if (r.status === 'HELD') room.timers.at(r.id, r.expiresAt.getTime());
    return room;
  }

  get dateId(): number {
    return this.state.dateId;
  }
  get concertId(): number {
    return this.state.concertId;
  }
  get startsAt(): Date {
    return this.state.startsAt;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  /** Holds whose timers this room owns: it must stay loaded while there are any. */
  get pendingHolds(): number {
    return this.timers.size;
  }

  snapshot(): Promise<SeatMap> {
    if (this.committedMap && !this.closed) {
      this.lastActivity = this.clock.now();
      return Promise.resolve(this.committedMap);
    }
    return this.ask(() => ({ ...NO_CHANGE, result: () => (this.committedMap ??= this.state.snapshot()) }));
  }

  hold(userId: number, seatNumbers: readonly number[]): Promise<ReservationView> {
    return this.ask((write, now) => this.commands.hold(write, now, userId, seatNumbers));
  }

  /** Cancels a live reservation (refunding a CONFIRMED one in the same commit); null when it is no longer live. */
  cancel(userId: number, reservationId: number): Promise<ReservationView | null> {
    return this.ask((write, now) => this.commands.cancel(write, now, userId, reservationId));
  }

  /** HELD → CONFIRMED with the debit and the payment row in the same commit; never interleaves with expiry. */
  confirm(userId: number, reservationId: number): Promise<PaymentResult> {
    return this.ask((write, now) => this.commands.confirm(write, now, userId, reservationId));
  }

  /** Refuses new and queued messages with RoomClosedError (callers retry on a fresh room), then stops the timers. */
  async dispose(): Promise<void> {
    this.closed = true;
    await this.mailbox.whenIdle();
    this.timers.dispose();
  }

  private ask<T>(apply: (write: BatchWrite, now: Date) => Effect): Promise<T> {
    if (this.closed) return Promise.reject(new RoomClosedError());
    this.lastActivity = this.clock.now();
    return new Promise<T>((resolve, reject) => {
      this.mailbox.post({ posted: performance.now(), apply, resolve: (v) => resolve(v as T), reject });
    });
  }

  private expire(reservationId: number): void {
    this.mailbox.post({
      posted: performance.now(),
      apply: (write, now) => this.commands.expire(write, now, reservationId),
      resolve: () => undefined,
      reject: () => undefined,
    });
  }

  private settle(applied: Applied[], wrote: boolean): void {
    if (wrote) {
      this.state.version += 1;
      this.committedMap = undefined;
    }
    const changed = new Set<SeatState>();
    const updated = new Set<Reservation>();
    for (const { effect } of applied) {
      effect.committed?.();
      effect.changed.forEach((s) => changed.add(s));
      effect.updated.forEach((r) => updated.add(r));
    }
    for (const { message, effect } of applied) message.resolve(effect.result());
    if (changed.size > 0) {
      const seats = [...changed].sort((a, b) => a.number - b.number).map((s) => ({ number: s.number, status: seatStatus(s) }));
      this.deps.push.toDate(this.state.dateId, 'seats:changed', { dateId: this.state.dateId, version: this.state.version, seats, at: this.clock.now() });
      this.deps.onSeatsChanged?.(this.state.concertId);
    }
    for (const r of updated) this.deps.push.toUser(r.userId, 'reservation:updated', this.state.view(r));
    const expired = applied.filter(({ effect }) => effect.expired).length;
    if (expired > 0) this.deps.onExpired?.(expired);
  }

  /**
   * A commit failed on its own. An AppError (short balance) is the command's
   * answer; anything else means the database disagrees with memory (another
   * writer, a lost fence): refuse, and close so the next command reloads.
   */
  private fail(applied: Applied[], err: unknown): void {
    if (err instanceof FenceError) {
      // Not this room's date any more: its callers re-route to the new owner.
      this.closed = true;
      this.timers.dispose();
      for (const { message } of applied) message.reject(new RoomClosedError());
      this.deps.onFenceLost?.(this.state.dateId);
      return;
    }
    const known = err instanceof AppError;
    const mapped = known ? err : isSeatConflict(err) ? new AppError('SEAT_UNAVAILABLE', 'a requested seat is not free') : err;
    for (const { message } of applied) message.reject(mapped);
    if (!known) {
      this.deps.log.warn({ err, dateId: this.state.dateId }, 'commit failed; closing the room so it reloads');
      this.closed = true;
      this.timers.dispose();
    }
  }
}

function isSeatConflict(err: unknown): boolean {
  const original = (err as { original?: { code?: string; constraint?: string } } | null)?.original;
  return original?.code === '23505' && original.constraint === 'reservation_seats_one_live';
}
