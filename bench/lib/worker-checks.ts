import type { Check } from './invariants';
import type { VerifyResult } from './messages';
import type { PhaseReport } from './phase-report';

/**
 * Checks made from what the buyers saw (ordering, positions, wallets, reservations, error replies).
 * With several instances a stale delta may trail a snapshot a non-owner read from the database.
 */
export function workerChecks(sale: PhaseReport, storm: PhaseReport | undefined, verified: VerifyResult[], instances = 1): Check[] {
  const phases = storm ? [sale, storm] : [sale];
  const sum = (f: (p: PhaseReport) => number) => phases.reduce((n, p) => n + f(p), 0);
  const gaps = sum((p) => p.order.gaps);
  const stale = sum((p) => p.order.stale);
  const sessions = sum((p) => p.order.sessions);
  const deltas = sum((p) => p.order.deltas);
  const examples = phases.flatMap((p) => p.order.examples).slice(0, 3);
  const checks: Check[] = [
    {
      name: 'seats:changed arrive in version order without gaps (per watch session)',
      ok: gaps === 0 && (stale === 0 || instances > 1),
      detail: `${sessions} sessions, ${deltas} deltas, ${gaps} gaps, ${stale} stale (ignored)${examples.length ? ` (${examples.join('; ')})` : ''}`,
      skipped: sessions === 0 ? 'no watch session (seats:watch not available?)' : undefined,
    },
  ];
  const positionChecks = sum((p) => p.counts['position-checks'] ?? 0);
  const positionBad = sum((p) => p.counts['position-mismatches'] ?? 0);
  checks.push({
    name: 'waiting positions computed from queue:tick equal queue:status',
    ok: positionBad === 0,
    detail: `${positionChecks} comparisons, ${positionBad} differ`,
    skipped: positionChecks === 0 ? 'no comparison made (nobody waited long enough to poll)' : undefined,
  });
  const lostAdmissions = sum((p) => p.counts['admitted-without-push'] ?? 0);
  checks.push({ name: 'every admission pushed (queue:admitted)', ok: lostAdmissions === 0, detail: `${sum((p) => p.counts['admitted'] ?? 0)} admitted, ${lostAdmissions} found ACTIVE by polling only` });
  const wallet = verified.flatMap((v) => v.walletMismatches);
  const walletChecked = verified.reduce((n, v) => n + v.walletChecked, 0);
  checks.push({
    name: "each buyer's wallet (API) = its charges − payments + refunds, and its history sums to it",
    ok: wallet.length === 0,
    detail: wallet.length ? wallet.slice(0, 3).join('; ') : `${walletChecked} wallets`,
  });
  const reservations = verified.flatMap((v) => v.reservationMismatches);
  checks.push({
    name: "each buyer's reservations (API) end as the buyer was told",
    ok: reservations.length === 0,
    detail: reservations.length ? `${reservations.length}+: ${reservations.slice(0, 3).join('; ')}` : `${verified.reduce((n, v) => n + v.reservationsChecked, 0)} buyers`,
  });
  const broken = verified.reduce((n, v) => n + v.brokenSessions, 0);
  if (broken > 0) checks.push({ name: 'no watch session left broken', ok: false, detail: `${broken} sessions saw a gap and could not watch again` });
  const internal = Object.entries({ ...sale.errors, ...Object.fromEntries(Object.entries(storm?.errors ?? {}).map(([k, n]) => [`storm ${k}`, n])) }).filter(
    ([k]) => /INTERNAL|crash|ACK_TIMEOUT/.test(k),
  );
  checks.push({
    name: 'no INTERNAL error, ack timeout or generator crash',
    ok: internal.length === 0,
    detail: internal.length ? internal.map(([k, n]) => `${k} ×${n}`).join(', ') : 'none',
  });
  return checks;
}
