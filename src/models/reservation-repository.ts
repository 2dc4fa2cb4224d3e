import { DatabaseError, QueryTypes, type Sequelize } from 'sequelize';
import { AppError, notFound } from '../errors';
import type { ReservationStatus, ReservationView, SeatMap } from '../protocol/events';
import { isDbId } from './catalog-repository';
import { Prepared, type HeldConnection } from './prepared';

const COMMIT_BATCH = new Prepared<{ result: BatchResult }>('tix_commit_batch', 'SELECT tix_commit_batch($1::jsonb) AS result');

export interface LoadedSeat {
  number: number;
  grade: string;
  price: number;
}

export interface LoadedReservation {
  id: number;
  userId: number;
  status: 'HELD' | 'CONFIRMED';
  total: number;
  expiresAt: Date;
  createdAt: Date;
  paidAt: Date | null;
  seatNumbers: number[];
}

export interface LoadedDate {
  id: number;
  concertId: number;
  startsAt: Date;
  version: number;
  seats: LoadedSeat[];
  live: LoadedReservation[];
}

export interface NewReservationRow {
  userId: number;
  total: number;
  expiresAt: Date;
  createdAt: Date;
  seats: { number: number; price: number }[];
}

/** Money moved with a confirm (PAYMENT, with its payments row) or a paid reservation's cancel (REFUND). */
export interface MoneyMove {
  kind: 'PAYMENT' | 'REFUND';
  reservationId: number;
  userId: number;
  amount: number;
  at: Date;
}

export interface BatchInput {
  dateId: number;
  concertId: number;
  /** The seat map's version after this batch. */
  version: number;
  /** Scale-out: the batch lands only while concert_dates.owner_fence is this. */
  fence?: number;
  /** Conditional: each reservation must still be in `prev`. */
  transitions: { id: number; prev: ReservationStatus; status: ReservationStatus; at: Date }[];
  inserts: NewReservationRow[];
  money: MoneyMove[];
}

export interface BatchResult {
  /** Ids of `inserts`, in input order. */
  ids: number[];
  /** Per `money` entry: the balance after, and the payment's id (null for a refund). */
  money: { balance: number; paymentId: number | null }[];
}

/** Plain SQL for the date room: load a date, and the statements of one group commit. */
export class ReservationRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async loadDate(dateId: number): Promise<LoadedDate | null> {
    if (!isDbId(dateId)) return null;
    const q = this.sequelize;
    const [date] = await q.query<{ id: number; concert_id: number; starts_at: Date; version: number }>(
      'SELECT id, concert_id, starts_at, version FROM concert_dates WHERE id = $1',
      { bind: [dateId], type: QueryTypes.SELECT },
    );
    if (!date) return null;
    const seats = await q.query<LoadedSeat>('SELECT number, grade, price FROM seats WHERE date_id = $1 ORDER BY number', {
      bind: [dateId],
      type: QueryTypes.SELECT,
    });
    const live = await q.query<{ id: number; user_id: number; status: 'HELD' | 'CONFIRMED'; total: number; expires_at: Date; created_at: Date; paid_at: Date | null; seats: number[] }>(
      `SELECT r.id, r.user_id, r.status, r.total, r.expires_at, r.created_at, r.paid_at,
              array_agg(rs.seat_number ORDER BY rs.seat_number) AS seats
         FROM reservations r JOIN reservation_seats rs ON rs.reservation_id = r.id
        WHERE r.date_id = $1 AND r.status IN ('HELD', 'CONFIRMED')
        GROUP BY r.id`,
      { bind: [dateId], type: QueryTypes.SELECT },
    );
    return {
      id: date.id,
      concertId: date.concert_id,
      startsAt: date.starts_at,
      version: date.version,
      seats,
      live: live.map((r) => ({
        id: r.id,
        userId: r.user_id,
        status: r.status,
        total: r.total,
        expiresAt: r.expires_at,
        createdAt: r.created_at,
        paidAt: r.paid_at,
        seatNumbers: r.seats,
      })),
    };
  }

  /**
   * One group commit of a date room in one round trip (the function in
   * migration 003): the fence, status changes, new holds and money, as one
   * implicit transaction, prepared once per connection. Runs on `on` (the rooms' own pool, or a
   * connection a room holds while it is busy). Refusals come back
   * as FenceError, StaleStateError, INSUFFICIENT_BALANCE or NOT_FOUND, and
   * then nothing of the batch is written.
   */
  async commitBatch(on: Sequelize | HeldConnection, batch: BatchInput): Promise<BatchResult> {
    try {
      const row = await COMMIT_BATCH.one(on, [JSON.stringify(batch)]);
      return (row as { result: BatchResult }).result;
    } catch (err) {
      throw refusal(err, batch.dateId);
    }
  }

  async findOwner(reservationId: number): Promise<{ userId: number; dateId: number; concertId: number } | null> {
    if (!isDbId(reservationId)) return null;
    const [row] = await this.sequelize.query<{ user_id: number; date_id: number; concert_id: number }>(
      'SELECT user_id, date_id, concert_id FROM reservations WHERE id = $1',
      { bind: [reservationId], type: QueryTypes.SELECT },
    );
    return row ? { userId: row.user_id, dateId: row.date_id, concertId: row.concert_id } : null;
  }

  async find(reservationId: number): Promise<ReservationView | null> {
    if (!isDbId(reservationId)) return null;
    return (await this.query('r.id = $1', [reservationId]))[0] ?? null;
  }

  /** A user's reservations across all dates, newest first (bounded). */
  async listForUser(userId: number, limit = 100): Promise<ReservationView[]> {
    return this.query('r.user_id = $1', [userId], limit);
  }

  /**
   * The committed seat map, in one statement (one consistent snapshot): the
   * version is written in the same transaction as the seats it counts.
   */
  async snapshot(dateId: number): Promise<SeatMap | null> {
    if (!isDbId(dateId)) return null;
    const rows = await this.sequelize.query<{ concert_id: number; starts_at: Date; version: number; number: number; grade: string; price: number; status: string | null }>(
      `SELECT d.concert_id, d.starts_at, d.version, s.number, s.grade, s.price, r.status
         FROM concert_dates d
         JOIN seats s ON s.date_id = d.id
         LEFT JOIN reservation_seats rs ON rs.date_id = s.date_id AND rs.seat_number = s.number AND rs.live
         LEFT JOIN reservations r ON r.id = rs.reservation_id
        WHERE d.id = $1 ORDER BY s.number`,
      { bind: [dateId], type: QueryTypes.SELECT },
    );
    const first = rows[0];
    if (!first) return null;
    return {
      dateId,
      concertId: first.concert_id,
      startsAt: first.starts_at.toISOString(),
      version: first.version,
      seats: rows.map((r) => ({ number: r.number, grade: r.grade, price: r.price, status: r.status === 'CONFIRMED' ? 'SOLD' : r.status === 'HELD' ? 'HELD' : 'FREE' })),
    };
  }

  async datesWithHolds(): Promise<number[]> {
    const rows = await this.sequelize.query<{ date_id: number }>(
      `SELECT DISTINCT date_id FROM reservations WHERE status = 'HELD'`,
      { type: QueryTypes.SELECT },
    );
    return rows.map((r) => r.date_id);
  }

  private async query(where: string, bind: unknown[], limit = 1): Promise<ReservationView[]> {
    const rows = await this.sequelize.query<{
      id: number; date_id: number; concert_id: number; status: ReservationStatus; total: number;
      expires_at: Date; created_at: Date; paid_at: Date | null; seats: { number: number; price: number }[];
    }>(
      `SELECT r.id, r.date_id, r.concert_id, r.status, r.total, r.expires_at, r.created_at, r.paid_at,
              (SELECT json_agg(json_build_object('number', rs.seat_number, 'price', rs.price) ORDER BY rs.seat_number)
                 FROM reservation_seats rs WHERE rs.reservation_id = r.id) AS seats
         FROM reservations r WHERE ${where} ORDER BY r.id DESC LIMIT ${limit}`,
      { bind, type: QueryTypes.SELECT },
    );
    return rows.map((r) => {
      const view: ReservationView = {
        id: r.id,
        dateId: r.date_id,
        concertId: r.concert_id,
        status: r.status,
        seats: r.seats,
        total: r.total,
        expiresAt: r.expires_at.toISOString(),
        createdAt: r.created_at.toISOString(),
      };
      if (r.paid_at) view.paidAt = r.paid_at.toISOString();
      return view;
    });
  }
}

/** This instance no longer owns the date: its writes must not land. */
export class FenceError extends Error {
  constructor(readonly dateId: number) {
    super(`lost ownership of date ${dateId}`);
  }
}

/** A reservation was not in the status the room expected: another writer got there first. */
export class StaleStateError extends Error {}

/** The SQLSTATEs tix_commit_batch raises, as the errors callers handle. */
function refusal(err: unknown, dateId: number): unknown {
  const cause = err instanceof DatabaseError ? (err.parent as Error & { code?: string; detail?: string }) : undefined;
  switch (cause?.code) {
    case 'TXFEN':
      return new FenceError(dateId);
    case 'TXSTA':
      return new StaleStateError(cause.message);
    case 'TXBAL':
      // DETAIL is the function's own {"balance", "required"}.
      return new AppError('INSUFFICIENT_BALANCE', 'balance is below the amount due', JSON.parse(cause.detail ?? '{}') as Record<string, unknown>);
    case 'TXUSR':
      return notFound('user');
    default:
      return err;
  }
}
