import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { ReservationStatus, ReservationView, SeatMap } from '../handlers/events';
import { isDbId } from './catalog-repository';

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
   * Inserts reservations and their seats in one statement (one round trip: under load a date
   * room's commit waits a turn of the event loop per statement); returns the new ids in input
   * order. The seats' foreign key is checked at the end of the statement, after both inserts.
   */
  async insertReservations(tx: Transaction, dateId: number, concertId: number, rows: NewReservationRow[]): Promise<number[]> {
    const seatRows = rows.flatMap((r, i) => r.seats.map((s) => ({ ord: i + 1, number: s.number, price: s.price })));
    const ids = await this.sequelize.query<{ id: number }>(
      `WITH ids AS (
         SELECT nextval(pg_get_serial_sequence('reservations', 'id'))::int AS id, ord FROM generate_series(1, $1::int) AS ord
       ), reservation AS (
         INSERT INTO reservations (id, user_id, date_id, concert_id, status, total, expires_at, created_at)
         SELECT ids.id, t.user_id, $5, $6, 'HELD', t.total, t.expires_at, t.created_at
           FROM unnest($2::int[], $3::bigint[], $4::timestamptz[], $7::timestamptz[]) WITH ORDINALITY AS t(user_id, total, expires_at, created_at, ord)
           JOIN ids USING (ord)
       ), seat AS (
         INSERT INTO reservation_seats (reservation_id, date_id, seat_number, price)
         SELECT ids.id, $5, t.number, t.price FROM unnest($8::int[], $9::int[], $10::int[]) AS t(ord, number, price) JOIN ids USING (ord)
       )
       SELECT id FROM ids ORDER BY ord`,
      {
        bind: [
          rows.length,
          rows.map((r) => r.userId),
          rows.map((r) => r.total),
          rows.map((r) => r.expiresAt.toISOString()),
          dateId,
          concertId,
          rows.map((r) => r.createdAt.toISOString()),
          seatRows.map((s) => s.ord),
          seatRows.map((s) => s.number),
          seatRows.map((s) => s.price),
        ],
        type: QueryTypes.SELECT,
        transaction: tx,
      },
    );
    return ids.map((r) => r.id);
  }

  /**
   * Moves reservations from their expected status to a new one, as conditional
   * writes: if any row is not in the status the room believed, the batch fails
   * (another writer got there first) instead of overwriting it.
   */
  async transition(tx: Transaction, changes: { id: number; from: ReservationStatus; to: ReservationStatus; at: Date }[]): Promise<void> {
    if (changes.length === 0) return;
    // One statement: the reservations whose status was as expected, and the seats of those that ended.
    const updated = await this.sequelize.query<{ id: number }>(
      `WITH t AS (
         SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::timestamptz[]) AS t(id, prev, status, at)
       ), moved AS (
         UPDATE reservations r
            SET status = t.status,
                paid_at = CASE WHEN t.status = 'CONFIRMED' THEN t.at ELSE r.paid_at END,
                ended_at = CASE WHEN t.status IN ('CANCELED', 'EXPIRED') THEN t.at ELSE r.ended_at END
           FROM t
          WHERE r.id = t.id AND r.status = t.prev
         RETURNING r.id, t.status
       ), freed AS (
         UPDATE reservation_seats s SET live = false FROM moved WHERE s.reservation_id = moved.id AND moved.status IN ('CANCELED', 'EXPIRED')
       )
       SELECT id FROM moved`,
      {
        bind: [changes.map((c) => c.id), changes.map((c) => c.from), changes.map((c) => c.to), changes.map((c) => c.at.toISOString())],
        type: QueryTypes.SELECT,
        transaction: tx,
      },
    );
    if (updated.length !== changes.length) throw new Error(`stale reservation state: ${changes.length - updated.length} rows changed elsewhere`);
  }

  /**
   * The seat map's version, written with the batch. With a fence (scale-out),
   * the write only lands while this instance still owns the date.
   */
  async setVersion(tx: Transaction, dateId: number, version: number, fence?: number): Promise<void> {
    const rows = await this.sequelize.query<{ id: number }>(
      `UPDATE concert_dates SET version = $2 WHERE id = $1 AND ($3::bigint IS NULL OR owner_fence = $3) RETURNING id`,
      { bind: [dateId, version, fence ?? null], type: QueryTypes.SELECT, transaction: tx },
    );
    if (rows.length !== 1) throw new FenceError(dateId);
  }

  async insertPayment(tx: Transaction, reservationId: number, userId: number, amount: number, at: Date): Promise<number> {
    const [row] = await this.sequelize.query<{ id: number }>(
      'INSERT INTO payments (reservation_id, user_id, amount, created_at) VALUES ($1, $2, $3, $4) RETURNING id',
      { bind: [reservationId, userId, amount, at.toISOString()], type: QueryTypes.SELECT, transaction: tx },
    );
    return (row as { id: number }).id;
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
