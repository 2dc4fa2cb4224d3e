import { AppError, notFound } from '../../errors';
import type { TimerHeap } from '../../timers/timer-heap';
import type { BatchWrite } from './batch-write';
import type { DateState, Reservation, SeatState } from './date-state';
import type { Effect } from './group-commit';
import type { PaymentResult } from './room-request';

/** A command that reads or refuses: nothing to write, undo or announce. */
export const NO_CHANGE: Omit<Effect, 'result'> = { undo: () => undefined, changed: [], updated: [] };

/**
 * The rules of one date: what each command does to its seats and
 * reservations. Every check comes before the first change, so a refused
 * command leaves nothing behind; an accepted one returns an Effect the room
 * undoes if its commit fails, and timers move only once it committed.
 */
export class DateCommands {
  constructor(
    private readonly state: DateState,
    private readonly timers: TimerHeap<number>,
    private readonly limits: { holdTtlMs: number; maxSeatsPerUser: number },
  ) {}

  hold(write: BatchWrite, now: Date, userId: number, seatNumbers: readonly number[]): Effect {
    if (this.state.startsAt.getTime() <= now.getTime()) throw new AppError('NOT_FOUND', 'this date has started; it is no longer on sale');
    const unknown = seatNumbers.filter((n) => !this.state.seat(n));
    if (unknown.length > 0) throw new AppError('NOT_FOUND', 'no such seat on this date', { seatNumbers: unknown });
    const max = this.limits.maxSeatsPerUser;
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
      expiresAt: new Date(now.getTime() + this.limits.holdTtlMs),
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

  cancel(write: BatchWrite, now: Date, userId: number, reservationId: number): Effect {
    const r = this.state.live.get(reservationId);
    if (!r) return { ...NO_CHANGE, result: () => null };
    if (r.userId !== userId) throw notFound('reservation'); // existence is not revealed
    if (r.status === 'CONFIRMED') {
      if (this.state.startsAt.getTime() <= now.getTime()) {
        throw new AppError('FORBIDDEN', 'the performance has started; a paid reservation can no longer be canceled');
      }
      write.money.push({ move: { kind: 'REFUND', reservationId: r.id, userId: r.userId, amount: r.total, at: now }, moved: () => undefined });
    }
    return this.end(write, now, r, 'CANCELED');
  }

  expire(write: BatchWrite, now: Date, reservationId: number): Effect {
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
      expired: to === 'EXPIRED',
      committed: () => {
        this.state.live.delete(r.id);
        this.timers.cancel(r.id);
      },
      result: () => this.state.view(r),
    };
  }

  confirm(write: BatchWrite, now: Date, userId: number, reservationId: number): Effect {
    const r = this.state.live.get(reservationId);
    if (r && r.userId !== userId) throw notFound('reservation'); // existence is not revealed
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
}
