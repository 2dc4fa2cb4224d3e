import { QueryTypes } from 'sequelize';
import type { Database } from '../../src/models/database';

/** Rows read straight from PostgreSQL, to check what a command did (or that a refused one did nothing). */

async function first<T extends object>(db: Database, sql: string, bind: unknown[]): Promise<T | undefined> {
  const rows = await db.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
  return rows[0];
}

/**
 * The seat numbers of a date in live (HELD or CONFIRMED) reservations, one
 * entry per reservation seat, ascending: a seat listed twice is sold twice.
 * Throws if a seat row's `live` flag disagrees with its reservation's status.
 */
export async function liveSeats(db: Database, dateId: number): Promise<number[]> {
  const rows = await db.sequelize.query<{ n: number; live: boolean; status: string }>(
    `SELECT rs.seat_number AS n, rs.live, r.status FROM reservation_seats rs JOIN reservations r ON r.id = rs.reservation_id
      WHERE rs.date_id = $1 AND (rs.live OR r.status IN ('HELD', 'CONFIRMED')) ORDER BY rs.seat_number, r.id`,
    { bind: [dateId], type: QueryTypes.SELECT },
  );
  for (const r of rows) {
    if (r.live !== ['HELD', 'CONFIRMED'].includes(r.status)) throw new Error(`seat ${r.n} of date ${dateId}: live is ${r.live} but its reservation is ${r.status}`);
  }
  return rows.map((r) => r.n);
}

/** A reservation's status, or undefined when there is no such reservation. */
export async function reservationStatus(db: Database, id: number): Promise<string | undefined> {
  return (await first<{ status: string }>(db, 'SELECT status FROM reservations WHERE id = $1', [id]))?.status;
}

export interface UserState {
  balance: number;
  ledger: number;
  reservations: number;
  live: number;
  payments: number;
}

/** Everything of a user that money and seat commands change, to compare before and after. */
export async function userState(db: Database, userId: number): Promise<UserState> {
  const state = await first<UserState>(
    db,
    `SELECT u.balance::bigint AS balance,
            (SELECT count(*)::int FROM wallet_ledger WHERE user_id = u.id) AS ledger,
            (SELECT count(*)::int FROM reservations WHERE user_id = u.id) AS reservations,
            (SELECT count(*)::int FROM reservations WHERE user_id = u.id AND status IN ('HELD', 'CONFIRMED')) AS live,
            (SELECT count(*)::int FROM payments WHERE user_id = u.id) AS payments
       FROM users u WHERE u.id = $1`,
    [userId],
  );
  if (!state) throw new Error(`no user ${userId}`);
  return state;
}

/** A session row: whether it is revoked, and how many spent refresh tokens it keeps. */
export async function sessionRow(db: Database, sessionId: string): Promise<{ userId: number; revoked: boolean; spent: number } | undefined> {
  const row = await first<{ user_id: number; revoked: boolean; spent: number }>(
    db,
    `SELECT user_id, revoked_at IS NOT NULL AS revoked, (SELECT count(*)::int FROM spent_refresh_tokens t WHERE t.session_id = s.id) AS spent
       FROM sessions s WHERE id = $1`,
    [sessionId],
  );
  return row && { userId: row.user_id, revoked: row.revoked, spent: row.spent };
}
