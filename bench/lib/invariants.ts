import { createHash } from 'node:crypto';
import { Client } from 'pg';

/** One end-of-run check; `skipped` says why it could not run (it then does not fail the run). */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  skipped?: string;
}

export interface Scope {
  concertIds: number[];
  dateIds: number[];
  userIds: number[];
}

const fingerprintHash = (s: string) => createHash('sha1').update(s).digest('hex');

/** The seat statuses the database implies (live reservation seats of HELD / CONFIRMED reservations), per date. */
export async function dbSeatStatuses(db: Client, dateIds: number[]): Promise<Map<number, string>> {
  const { rows } = await db.query<{ date_id: number; st: string }>(
    `SELECT s.date_id, CASE r.status WHEN 'CONFIRMED' THEN 'S' WHEN 'HELD' THEN 'H' ELSE 'F' END AS st
       FROM seats s
       LEFT JOIN reservation_seats rs ON rs.date_id = s.date_id AND rs.seat_number = s.number AND rs.live
       LEFT JOIN reservations r ON r.id = rs.reservation_id
      WHERE s.date_id = ANY($1) ORDER BY s.date_id, s.number, r.id`,
    [dateIds],
  );
  const out = new Map<number, string>();
  for (const r of rows) out.set(r.date_id, (out.get(r.date_id) ?? '') + r.st);
  return out;
}

export async function dbChecks(db: Client, scope: Scope): Promise<Check[]> {
  const { concertIds, dateIds, userIds } = scope;
  const checks: Check[] = [];
  const add = (name: string, bad: unknown[], describe: (x: any) => string, okDetail: string) =>
    checks.push({ name, ok: bad.length === 0, detail: bad.length === 0 ? okDetail : `${bad.length}: ${bad.slice(0, 5).map(describe).join('; ')}` });

  const totals = (
    await db.query(
      `SELECT count(*)::int AS reservations,
              count(*) FILTER (WHERE status = 'CONFIRMED')::int AS confirmed,
              count(*) FILTER (WHERE status = 'EXPIRED')::int AS expired,
              count(*) FILTER (WHERE status = 'CANCELED')::int AS canceled,
              count(*) FILTER (WHERE status = 'HELD')::int AS held
         FROM reservations WHERE concert_id = ANY($1)`,
      [concertIds],
    )
  ).rows[0];
  const summary = `${totals.reservations} reservations (${totals.confirmed} confirmed, ${totals.canceled} canceled, ${totals.expired} expired, ${totals.held} held)`;

  const doubles = await db.query(
    `SELECT date_id, seat_number, count(*)::int AS n FROM reservation_seats
      WHERE live AND date_id = ANY($1) GROUP BY 1, 2 HAVING count(*) > 1`,
    [dateIds],
  );
  const flags = await db.query(
    `SELECT rs.reservation_id, rs.seat_number, rs.live, r.status FROM reservation_seats rs JOIN reservations r ON r.id = rs.reservation_id
      WHERE r.concert_id = ANY($1) AND rs.live <> (r.status IN ('HELD', 'CONFIRMED')) LIMIT 20`,
    [concertIds],
  );
  add('no seat in two live reservations', [...doubles.rows, ...flags.rows], (x) =>
    x.n ? `date ${x.date_id} seat ${x.seat_number} in ${x.n} live reservations` : `reservation ${x.reservation_id} (${x.status}) seat ${x.seat_number} live=${x.live}`,
  `${summary}; none`);

  const payments = await db.query(
    `SELECT r.id, r.status, r.total, count(p.id)::int AS n, coalesce(sum(p.amount), 0)::bigint AS paid
       FROM reservations r LEFT JOIN payments p ON p.reservation_id = r.id
      WHERE r.concert_id = ANY($1) GROUP BY r.id
     HAVING (r.status = 'CONFIRMED' AND (count(p.id) <> 1 OR coalesce(sum(p.amount), 0) <> r.total))
         OR (r.status IN ('HELD', 'EXPIRED') AND count(p.id) > 0) OR count(p.id) > 1`,
    [concertIds],
  );
  const ledgerPerPayment = await db.query(
    `SELECT r.id, r.status,
            (SELECT count(*) FROM payments p WHERE p.reservation_id = r.id)::int AS payments,
            (SELECT count(*) FROM wallet_ledger l WHERE l.reservation_id = r.id AND l.kind = 'PAYMENT')::int AS debits,
            (SELECT count(*) FROM wallet_ledger l WHERE l.reservation_id = r.id AND l.kind = 'REFUND')::int AS refunds
       FROM reservations r WHERE r.concert_id = ANY($1)`,
    [concertIds],
  );
  const badLedger = ledgerPerPayment.rows.filter(
    (x) => x.debits !== x.payments || x.refunds !== (x.status === 'CANCELED' ? x.payments : 0),
  );
  add('one payment per CONFIRMED reservation', [...payments.rows, ...badLedger], (x) =>
    x.debits === undefined ? `reservation ${x.id} ${x.status} total ${x.total}: ${x.n} payments of ${x.paid}` : `reservation ${x.id} ${x.status}: ${x.payments} payments, ${x.debits} PAYMENT and ${x.refunds} REFUND ledger rows`,
  `${totals.confirmed} confirmed, each with one payment of its total and one PAYMENT ledger row`);

  const wallets = await db.query(
    `SELECT u.id, u.balance,
            coalesce(sum(CASE l.kind WHEN 'PAYMENT' THEN -l.amount ELSE l.amount END), 0)::bigint AS ledger,
            (SELECT x.balance_after FROM wallet_ledger x WHERE x.user_id = u.id ORDER BY x.id DESC LIMIT 1) AS last_after
       FROM users u LEFT JOIN wallet_ledger l ON l.user_id = u.id
      WHERE u.id = ANY($1) GROUP BY u.id`,
    [userIds],
  );
  const badWallets = wallets.rows.filter((w) => Number(w.ledger) !== Number(w.balance) || (w.last_after !== null && Number(w.last_after) !== Number(w.balance)));
  add('wallet ledger sums to balance (CHARGE + REFUND − PAYMENT)', badWallets, (w) => `user ${w.id}: balance ${w.balance}, ledger ${w.ledger}, last balance_after ${w.last_after}`,
    `${wallets.rows.length} wallets`);

  const overdue = (
    await db.query(
      `SELECT count(*)::int AS n, max(extract(epoch FROM now() - expires_at))::float AS lag
         FROM reservations WHERE concert_id = ANY($1) AND status = 'HELD' AND expires_at < now() - interval '1 second'`,
      [concertIds],
    )
  ).rows[0];
  const ended = (
    await db.query(
      `SELECT count(*) FILTER (WHERE ended_at IS NOT NULL)::int AS n,
              count(*) FILTER (WHERE ended_at > expires_at + interval '1 second')::int AS late,
              max(extract(epoch FROM ended_at - expires_at))::float AS max_lag
         FROM reservations WHERE concert_id = ANY($1) AND status = 'EXPIRED'`,
      [concertIds],
    )
  ).rows[0];
  const lagText = ended.n > 0 ? `; ${ended.n} expired, ended_at − expires_at max ${(ended.max_lag * 1000).toFixed(0)} ms` : '; ended_at not recorded';
  checks.push({
    name: 'no HELD reservation alive past expires_at + 1 s',
    ok: overdue.n === 0 && (ended.late ?? 0) === 0,
    detail:
      overdue.n > 0
        ? `${overdue.n} still HELD, up to ${overdue.lag.toFixed(1)} s past expiry${lagText}`
        : ended.late > 0
          ? `${ended.late} expired more than 1 s late${lagText}`
          : `none at the end${lagText}`,
  });
  return checks;
}

/** Samples overdue holds while the sale runs ("released within 1 s" under load, not only at the end). */
export class ExpirySampler {
  samples = 0;
  worstOverdue = 0;
  worstLagS = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly db: Client, private readonly concertIds: () => number[]) {}

  start(intervalMs = 1000): void {
    const tick = async () => {
      const r = await this.db.query(
        `SELECT count(*)::int AS n, coalesce(max(extract(epoch FROM clock_timestamp() - expires_at)), 0)::float AS lag
           FROM reservations WHERE concert_id = ANY($1) AND status = 'HELD' AND expires_at < clock_timestamp() - interval '1 second'`,
        [this.concertIds()],
      );
      this.samples++;
      this.worstOverdue = Math.max(this.worstOverdue, r.rows[0].n);
      this.worstLagS = Math.max(this.worstLagS, r.rows[0].lag);
    };
    const loop = () => {
      this.timer = setTimeout(() => void tick().catch(() => undefined).finally(() => this.timer && loop()), intervalMs);
    };
    loop();
  }

  stop(): Check {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return {
      name: 'holds released within 1 s of expiresAt, sampled during the run',
      ok: this.worstOverdue === 0,
      detail: this.worstOverdue === 0 ? `${this.samples} samples, none overdue` : `up to ${this.worstOverdue} overdue at once, worst ${this.worstLagS.toFixed(1)} s past expiry (${this.samples} samples)`,
    };
  }
}

/**
 * Compares three views of each date's seats: the database, a fresh API
 * snapshot (`seats:watch` by a checker user) and every buyer's delta-kept map.
 */
export function mapChecks(
  db: Map<number, string> | undefined,
  api: Map<number, { version: number; print: string }>,
  watchers: Record<string, Record<string, number>>,
  dbVersions: Map<number, number> | undefined,
): Check[] {
  const checks: Check[] = [];
  const soldBad: string[] = [];
  const versionBad: string[] = [];
  for (const [dateId, snap] of api) {
    const truth = db?.get(dateId);
    if (truth !== undefined && truth !== snap.print) {
      const diff = [...truth].flatMap((c, i) => (c === snap.print[i] ? [] : [`seat ${i + 1} db ${c} api ${snap.print[i] ?? '-'}`]));
      soldBad.push(`date ${dateId}: ${diff.length} differ (${diff.slice(0, 3).join(', ')})`);
    }
    const v = dbVersions?.get(dateId);
    if (v !== undefined && v !== snap.version) versionBad.push(`date ${dateId}: api v${snap.version}, db v${v}`);
  }
  const count = (s: string, c: string) => [...s].filter((x) => x === c).length;
  const sold = [...api.values()].reduce((n, s) => n + count(s.print, 'S'), 0);
  checks.push(
    db
      ? { name: 'SOLD seats = seats of CONFIRMED reservations (API map vs database)', ok: soldBad.length === 0, detail: soldBad.length ? soldBad.join('; ') : `${sold} sold, HELD and FREE agree too` }
      : { name: 'SOLD seats = seats of CONFIRMED reservations (API map vs database)', ok: true, detail: '', skipped: 'no database access' },
  );
  if (dbVersions) checks.push({ name: 'SeatMap.version = concert_dates.version', ok: versionBad.length === 0, detail: versionBad.join('; ') || 'equal' });
  let agree = 0;
  const disagree: string[] = [];
  for (const [dateId, prints] of Object.entries(watchers)) {
    const want = api.get(Number(dateId));
    if (!want) continue;
    const wantHash = fingerprintHash(want.print);
    for (const [hash, n] of Object.entries(prints)) {
      if (hash === wantHash) agree += n;
      else disagree.push(`date ${dateId}: ${n} watchers`);
    }
  }
  checks.push({
    name: "every watcher's delta-kept map equals the final snapshot",
    ok: disagree.length === 0,
    detail: disagree.length ? disagree.join('; ') : `${agree} maps`,
    skipped: agree + disagree.length === 0 ? 'no buyer still watching (run with --stay-watching to compare every map)' : undefined,
  });
  return checks;
}
