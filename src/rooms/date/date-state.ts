import type { ReservationStatus, ReservationView, SeatMap, SeatStatus } from '../../protocol/events';
import type { LoadedDate } from '../../models/reservation-repository';

export interface SeatState {
  number: number;
  grade: string;
  price: number;
  /** The live (HELD or CONFIRMED) reservation holding this seat. */
  holder?: Reservation;
}

export interface Reservation {
  /** 0 until the insert commits. */
  id: number;
  userId: number;
  status: ReservationStatus;
  seats: SeatState[];
  total: number;
  expiresAt: Date;
  createdAt: Date;
  paidAt?: Date;
}

export const seatStatus = (seat: SeatState): SeatStatus =>
  seat.holder === undefined ? 'FREE' : seat.holder.status === 'CONFIRMED' ? 'SOLD' : 'HELD';

/**
 * The in-memory seat map of one date: seats, live reservations, and per-user
 * seat counts for the hold limit. Only the date room's mailbox touches it.
 */
export class DateState {
  readonly seats: SeatState[];
  readonly live = new Map<number, Reservation>();
  private readonly seatsByUser = new Map<number, number>();

  constructor(
    readonly dateId: number,
    readonly concertId: number,
    readonly startsAt: Date,
    public version: number,
    seats: { number: number; grade: string; price: number }[],
  ) {
    this.seats = seats.map((s) => ({ number: s.number, grade: s.grade, price: s.price }));
  }

  static from(loaded: LoadedDate): DateState {
    const state = new DateState(loaded.id, loaded.concertId, loaded.startsAt, loaded.version, loaded.seats);
    for (const r of loaded.live) {
      const reservation: Reservation = {
        id: r.id,
        userId: r.userId,
        status: r.status,
        seats: [],
        total: r.total,
        expiresAt: r.expiresAt,
        createdAt: r.createdAt,
        paidAt: r.paidAt ?? undefined,
      };
      reservation.seats = r.seatNumbers.map((n) => state.seat(n)).filter((s): s is SeatState => s !== undefined);
      state.assign(reservation);
      state.live.set(reservation.id, reservation);
    }
    return state;
  }

  seat(number: number): SeatState | undefined {
    const seat = this.seats[number - 1];
    return seat?.number === number ? seat : this.seats.find((s) => s.number === number);
  }

  seatsOf(userId: number): number {
    return this.seatsByUser.get(userId) ?? 0;
  }

  /** Points the reservation's seats at it and counts them for its owner. */
  assign(reservation: Reservation): void {
    for (const seat of reservation.seats) seat.holder = reservation;
    this.count(reservation.userId, reservation.seats.length);
  }

  unassign(reservation: Reservation): void {
    for (const seat of reservation.seats) if (seat.holder === reservation) seat.holder = undefined;
    this.count(reservation.userId, -reservation.seats.length);
  }

  snapshot(): SeatMap {
    return {
      dateId: this.dateId,
      concertId: this.concertId,
      startsAt: this.startsAt.toISOString(),
      version: this.version,
      seats: this.seats.map((s) => ({ number: s.number, grade: s.grade, price: s.price, status: seatStatus(s) })),
    };
  }

  view(r: Reservation): ReservationView {
    const view: ReservationView = {
      id: r.id,
      dateId: this.dateId,
      concertId: this.concertId,
      status: r.status,
      seats: r.seats.map((s) => ({ number: s.number, price: s.price })),
      total: r.total,
      expiresAt: r.expiresAt.toISOString(),
      createdAt: r.createdAt.toISOString(),
    };
    if (r.paidAt) view.paidAt = r.paidAt.toISOString();
    return view;
  }

  private count(userId: number, delta: number): void {
    const next = (this.seatsByUser.get(userId) ?? 0) + delta;
    if (next <= 0) this.seatsByUser.delete(userId);
    else this.seatsByUser.set(userId, next);
  }
}
