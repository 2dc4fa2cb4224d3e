import type { Sequelize } from 'sequelize';
import { AppError } from '../../errors';
import type { ReservationView, SeatMap } from '../../protocol/events';
import type { Logger } from '../../logger';
import type { ReservationRepository } from '../../models/reservation-repository';
import { FenceError } from '../../models/reservation-repository';
import { systemClock, type Clock } from '../../timers/clock';
import { TimerHeap } from '../../timers/timer-heap';
import { BatchWrite } from './batch-write';
import { DateState, seatStatus, type Reservation, type SeatState } from './date-state';
import { Mailbox } from './mailbox';
import type { PaymentResult } from './room-request';
import type { Push } from '../push';

/** What a command did to the state: undone if its batch fails, announced once it commits. */
interface Effect {
  undo(): void;
  changed: SeatState[];
  updated: Reservation[];
  /** After commit: timers and the id index. */
  committed?(): void;
  /** The reply, computed after commit so it shows committed state. */
  result(): unknown;
}

interface Message {
  /** performance.now() when posted: how long commands wait behind earlier batches. */
  posted: number;
  apply(write: BatchWrite, now: Date): Effect;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export class RoomClosedError extends Error {}

export interface DateRoomDeps {
  /** The pool commits run on. */
  sequelize: Sequelize;
  repo: ReservationRepository;
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
}

const NO_CHANGE: Omit<Effect, 'result'> = { undo: () => undefined, changed: [], updated: [] };

/**
 * The actor of one concert date: the only writer of its seats and
 * reservations. Every public method is one message in its mailbox; messages
 * run one at a time against the in-memory state, and what a batch changed is
 * committed in one transaction before anyone hears of it.
 */
export class DateRoom {
  private readonly mailbox: Mailbox<Message>;
  private readonly timers: TimerHeap<number>;
  private readonly clock: Clock;
  private closed = false;
  lastActivity: number;

  private constructor(
    private readonly state: DateState,
    private readonly deps: DateRoomDeps,
  ) {
    this.mailbox = new Mailbox((batch) => this.drain(batch), deps.maxBatch);
    this.clock = deps.clock ?? systemClock;
    this.lastActivity = this.clock.now();
    this.timers = new TimerHeap((ids) => ids.forEach((id) => this.expire(id)), this.clock);
  }

  /** Loads the date, then expires holds that lapsed while nobody owned it and re-arms the rest. */
  static async open(dateId: number, deps: DateRoomDeps): Promise<DateRoom | null> {
    const loaded = await deps.repo.loadDate(dateId);
    if (!loaded) return null;
    const room = new DateRoom(DateState.from(loaded), deps);
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
    return this.ask(() => ({ ...NO_CHANGE, result: () => this.state.snapshot() }));
  }

  hold(userId: number, seatNumbers: readonly number[]): Promise<ReservationView> {
    return this.ask((write, now) => this.onHold(write, now, userId, seatNumbers));
  }

  /** Cancels a live reservation (refunding a CONFIRMED one in the same commit); null when it is no longer live. */
  cancel(userId: number, reservationId: number): Promise<ReservationView | null> {
    return this.ask((write, now) => this.onCancel(write, now, userId, reservationId));
  }

  /** HELD → CONFIRMED with the debit and the payment row in the same commit; never interleaves with expiry. */
  confirm(userId: number, reservationId: number): Promise<PaymentResult> {
    return this.ask((write, now) => this.onConfirm(write, now, userId, reservationId));
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
      apply: (write, now) => this.onExpire(write, now, reservationId),
      resolve: () => undefined,
      reject: () => undefined,
    });
  }

  private onHold(write: BatchWrite, now: Date, userId: number, seatNumbers: readonly number[]): Effect {
    if (this.state.startsAt.getTime() <= now.getTime()) throw new AppError('NOT_FOUND', 'this date has started; it is no longer on sale');
    const unknown = seatNumbers.filter((n) => !this.state.seat(n));
    if (unknown.length > 0) throw new AppError('NOT_FOUND', 'no such seat on this date', { seatNumbers: unknown });
    const max = this.deps.maxSeatsPerUser;
    if (this.state.seatsOf(userId) + seatNumbers.length > max) {
      throw new AppError('HOLD_LIMIT_EXCEEDED', `at most ${max} seats per user on one date`, { limit: max, current: this.state.seatsOf(userId) });
    }
    const seats = seatNumbers.map((n) => this.state.seat(n) as SeatState).sort((a, b) => a.number - b.number);
    const taken = seats.filter((s) => s.holder !== undefined).map((s) => s.number);
    if (taken.length > 0) throw new AppError('SEAT_UNAVAILABLE', 'a requested seat is not free', { seatNumbers: taken });

    const reservation: Reservation = {
      id: 0,
      userId,
      status: 'HELD',
      seats,
      total: seats.reduce((sum, s) => sum + s.price, 0),
      expiresAt: new Date(now.getTime() + this.deps.holdTtlMs),
      createdAt: now,
    };
    this.state.assign(reservation);
    write.inserts.push(reservation);
    return {
      undo: () => this.state.unassign(reservation),
      changed: seats,
      updated: [reservation],
      committed: () => {
        this.state.live.set(reservation.id, reservation);
        this.timers.at(reservation.id, reservation.expiresAt.getTime());
      },
      result: () => this.state.view(reservation),
    };
  }

  private onCancel(write: BatchWrite, now: Date, userId: number, reservationId: number): Effect {
    const r = this.state.live.get(reservationId);
    if (!r) return { ...NO_CHANGE, result: () => null };
    if (r.userId !== userId) throw new AppError('FORBIDDEN', 'this reservation is another user’s');
    if (r.status === 'CONFIRMED') {
      if (this.state.startsAt.getTime() <= now.getTime()) {
        throw new AppError('FORBIDDEN', 'the performance has started; a paid reservation can no longer be canceled');
      }
      write.money.push({ move: { kind: 'REFUND', reservationId: r.id, userId: r.userId, amount: r.total, at: now }, moved: () => undefined });
    }
    return this.end(write, now, r, 'CANCELED');
  }

  private onExpire(write: BatchWrite, now: Date, reservationId: number): Effect {
    const r = this.state.live.get(reservationId);
    if (!r || r.status !== 'HELD') return { ...NO_CHANGE, result: () => undefined };
    // A timer may fire a hair early; a hold is never released before its time.
    if (r.expiresAt.getTime() > now.getTime()) {
      this.timers.at(r.id, r.expiresAt.getTime());
      return { ...NO_CHANGE, result: () => undefined };
    }
    return this.end(write, now, r, 'EXPIRED');
  }

  private end(write: BatchWrite, now: Date, r: Reservation, to: 'CANCELED' | 'EXPIRED'): Effect {
    const from = r.status;
    write.transitions.push({ reservation: r, from, to, at: now });
    this.state.unassign(r);
    r.status = to;
    return {
      undo: () => {
        r.status = from;
        this.state.assign(r);
      },
      changed: r.seats,
      updated: [r],
      committed: () => {
        this.state.live.delete(r.id);
        this.timers.cancel(r.id);
      },
      result: () => this.state.view(r),
    };
  }

  private onConfirm(write: BatchWrite, now: Date, userId: number, reservationId: number): Effect {
    const r = this.state.live.get(reservationId);
    if (r && r.userId !== userId) throw new AppError('FORBIDDEN', 'this reservation is another user’s');
    if (!r || r.status !== 'HELD' || r.expiresAt.getTime() <= now.getTime()) {
      throw new AppError('RESERVATION_NOT_PAYABLE', `reservation is ${r?.status === 'CONFIRMED' ? 'already paid' : 'no longer held'}`);
    }
    let paid = { balance: 0, paymentId: 0 };
    write.transitions.push({ reservation: r, from: 'HELD', to: 'CONFIRMED', at: now });
    write.money.push({
      move: { kind: 'PAYMENT', reservationId: r.id, userId, amount: r.total, at: now },
      moved: (balance, paymentId) => (paid = { balance, paymentId: paymentId as number }),
    });
    r.status = 'CONFIRMED';
    r.paidAt = now;
    return {
      undo: () => {
        r.status = 'HELD';
        r.paidAt = undefined;
      },
      changed: r.seats,
      updated: [r],
      committed: () => this.timers.cancel(r.id),
      result: (): PaymentResult => ({
        payment: { id: paid.paymentId, amount: r.total, at: now.toISOString() },
        reservation: this.state.view(r),
        balance: paid.balance,
      }),
    };
  }

  /** Group commit: apply everything, commit once; if that fails, undo and retry one by one. */
  private async drain(batch: Message[]): Promise<void> {
    if (this.closed) {
      for (const m of batch) m.reject(new RoomClosedError());
      return;
    }
    const now = new Date(this.clock.now());
    const started = performance.now();
    const write = new BatchWrite();
    const applied = this.applyAll(batch, write, now);
    if (write.empty) return this.finish(applied, false);
    try {
      await this.commit(write);
      const waitMs = started - (batch[0]?.posted ?? started);
      this.deps.onBatch?.({ size: applied.length, waitMs, commitMs: performance.now() - started });
      this.finish(applied, true);
      return;
    } catch (err) {
      for (const { effect } of [...applied].reverse()) effect.undo();
      if (applied.length === 1 || err instanceof FenceError) return this.fail(applied, err);
    }
    for (const { message } of applied) {
      if (this.closed) {
        message.reject(new RoomClosedError());
        continue;
      }
      const single = new BatchWrite();
      const [one] = this.applyAll([message], single, now);
      if (!one) continue;
      if (single.empty) {
        this.finish([one], false);
        continue;
      }
      try {
        await this.commit(single);
        this.finish([one], true);
      } catch (err) {
        one.effect.undo();
        this.fail([one], err);
      }
    }
  }

  private applyAll(batch: Message[], write: BatchWrite, now: Date): { message: Message; effect: Effect }[] {
    const applied: { message: Message; effect: Effect }[] = [];
    for (const message of batch) {
      try {
        applied.push({ message, effect: message.apply(write, now) });
      } catch (err) {
        message.reject(err);
      }
    }
    return applied;
  }

  private commit(write: BatchWrite): Promise<void> {
    return write.commit(this.deps.sequelize, this.deps.repo, this.state.dateId, this.state.concertId, this.state.version + 1, this.deps.fence);
  }

  private finish(applied: { message: Message; effect: Effect }[], wrote: boolean): void {
    if (wrote) this.state.version += 1;
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
      this.deps.push.toDate(this.state.dateId, 'seats:changed', { dateId: this.state.dateId, version: this.state.version, seats, at: Date.now() });
      this.deps.onSeatsChanged?.(this.state.concertId);
    }
    for (const r of updated) this.deps.push.toUser(r.userId, 'reservation:updated', this.state.view(r));
  }

  /**
   * A commit failed on its own. An AppError (short balance) is the command's
   * answer; anything else means the database disagrees with memory (another
   * writer, a lost fence): refuse, and close so the next command reloads.
   */
  private fail(applied: { message: Message; effect: Effect }[], err: unknown): void {
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
