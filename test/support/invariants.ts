import { QueryTypes } from 'sequelize';
import type { Database } from '../../src/models/database';

/** The rows a check may look at: reservations of these concerts, wallets of these users. */
export interface InvariantScope {
  concertIds: readonly number[];
  userIds: readonly number[];
}

/**
 * The money and seat invariants, checked in the database over the rows of
 * `scope` only (test files run in parallel on one database, and one file's
 * leftovers must not fail another); returns the violations (empty when all hold).
 */
export async function checkInvariants(db: Database, scope: InvariantScope): Promise<string[]> {
  // Reservation checks bind the concerts as $1; the wallet check binds the users as $1.
  const q = <T extends object>(sql: string, ids: readonly number[] = scope.concertIds) =>
    db.sequelize.query<T>(sql, { bind: [[...ids]], type: QueryTypes.SELECT });
  const inConcerts = (r: string) => `${r}.concert_id = ANY($1::bigint[])`;
  const violations: string[] = [];
  const doubled = await q<{ date_id: number; seat_number: number }>(
    `SELECT rs.date_id, rs.seat_number FROM reservation_seats rs JOIN reservations r ON r.id = rs.reservation_id
      WHERE r.status IN ('HELD', 'CONFIRMED') AND ${inConcerts('r')} GROUP BY 1, 2 HAVING count(*) > 1`,
  );
  for (const d of doubled) violations.push(`seat ${d.seat_number} of date ${d.date_id} is in two live reservations`);
  const liveMismatch = await q<{ id: number }>(
    `SELECT r.id FROM reservations r JOIN reservation_seats rs ON rs.reservation_id = r.id
      WHERE rs.live <> (r.status IN ('HELD', 'CONFIRMED')) AND ${inConcerts('r')} GROUP BY r.id`,
  );
  for (const r of liveMismatch) violations.push(`reservation ${r.id}: seat liveness disagrees with its status`);
  const payments = await q<{ id: number; n: number }>(
    `SELECT r.id, (SELECT count(*)::int FROM payments p WHERE p.reservation_id = r.id) AS n FROM reservations r
      WHERE (r.status = 'CONFIRMED' OR r.paid_at IS NOT NULL) AND ${inConcerts('r')}`,
  );
  for (const p of payments) if (p.n !== 1) violations.push(`reservation ${p.id} has ${p.n} payments`);
  const unpaid = await q<{ id: number }>(
    `SELECT r.id FROM reservations r JOIN payments p ON p.reservation_id = r.id WHERE r.paid_at IS NULL AND ${inConcerts('r')}`,
  );
  for (const r of unpaid) violations.push(`reservation ${r.id} has a payment but was never confirmed`);
  const ledgers = await q<{ id: number; balance: number; sum: number }>(
    `SELECT u.id, u.balance, COALESCE(sum(CASE l.kind WHEN 'PAYMENT' THEN -l.amount ELSE l.amount END), 0)::bigint AS sum
       FROM users u LEFT JOIN wallet_ledger l ON l.user_id = u.id
      WHERE u.id = ANY($1::bigint[])
      GROUP BY u.id HAVING u.balance <> COALESCE(sum(CASE l.kind WHEN 'PAYMENT' THEN -l.amount ELSE l.amount END), 0)`,
    scope.userIds,
  );
  for (const l of ledgers) violations.push(`user ${l.id}: balance ${l.balance} but ledger sums to ${l.sum}`);
  const overdue = await q<{ id: number }>(
    `SELECT r.id FROM reservations r WHERE r.status = 'HELD' AND r.expires_at < now() - interval '2 seconds' AND ${inConcerts('r')}`,
  );
  for (const r of overdue) violations.push(`reservation ${r.id} is still HELD past expiresAt`);
  return violations;
}
