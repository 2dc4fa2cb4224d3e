import { QueryTypes } from 'sequelize';
import type { Database } from '../../src/models/database';

/**
 * The money and seat invariants, checked in the database; returns the
 * violations (empty when all hold).
 */
export async function checkInvariants(db: Database): Promise<string[]> {
  const q = <T extends object>(sql: string) => db.sequelize.query<T>(sql, { type: QueryTypes.SELECT });
  const violations: string[] = [];
  const doubled = await q<{ date_id: number; seat_number: number }>(
    `SELECT rs.date_id, rs.seat_number FROM reservation_seats rs JOIN reservations r ON r.id = rs.reservation_id
      WHERE r.status IN ('HELD', 'CONFIRMED') GROUP BY 1, 2 HAVING count(*) > 1`,
  );
  for (const d of doubled) violations.push(`seat ${d.seat_number} of date ${d.date_id} is in two live reservations`);
  const liveMismatch = await q<{ id: number }>(
    `SELECT r.id FROM reservations r JOIN reservation_seats rs ON rs.reservation_id = r.id
      WHERE rs.live <> (r.status IN ('HELD', 'CONFIRMED')) GROUP BY r.id`,
  );
  for (const r of liveMismatch) violations.push(`reservation ${r.id}: seat liveness disagrees with its status`);
  const payments = await q<{ id: number; n: number }>(
    `SELECT r.id, (SELECT count(*)::int FROM payments p WHERE p.reservation_id = r.id) AS n FROM reservations r
      WHERE r.status = 'CONFIRMED' OR r.paid_at IS NOT NULL`,
  );
  for (const p of payments) if (p.n !== 1) violations.push(`reservation ${p.id} has ${p.n} payments`);
  const unpaid = await q<{ id: number }>(
    `SELECT r.id FROM reservations r JOIN payments p ON p.reservation_id = r.id WHERE r.paid_at IS NULL`,
  );
  for (const r of unpaid) violations.push(`reservation ${r.id} has a payment but was never confirmed`);
  const ledgers = await q<{ id: number; balance: number; sum: number }>(
    `SELECT u.id, u.balance, COALESCE(sum(CASE l.kind WHEN 'PAYMENT' THEN -l.amount ELSE l.amount END), 0)::bigint AS sum
       FROM users u LEFT JOIN wallet_ledger l ON l.user_id = u.id GROUP BY u.id HAVING u.balance <> COALESCE(sum(CASE l.kind WHEN 'PAYMENT' THEN -l.amount ELSE l.amount END), 0)`,
  );
  for (const l of ledgers) violations.push(`user ${l.id}: balance ${l.balance} but ledger sums to ${l.sum}`);
  const overdue = await q<{ id: number }>(`SELECT id FROM reservations WHERE status = 'HELD' AND expires_at < now() - interval '2 seconds'`);
  for (const r of overdue) violations.push(`reservation ${r.id} is still HELD past expiresAt`);
  return violations;
}
