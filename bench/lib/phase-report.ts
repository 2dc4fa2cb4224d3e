import { Hist, type Summary } from './hist';
import { HISTS, type HistName, PhaseStats, type PhaseData } from './stats';
import type { OrderStats } from './watch';
import { buildTimeline, type PhaseTimeline } from './timeline';

export interface PhaseReport {
  seconds: number;
  counts: Record<string, number>;
  outcomes: Record<string, number>;
  /** Error replies and connect errors by event and code. */
  errors: Record<string, number>;
  latency: Record<HistName, Summary>;
  rates: { connectPerSec: number; holdsPerSec: number; holdsPeak: number; holdAttemptsPerSec: number; paymentsPerSec: number; cancelsPerSec: number };
  /** Commit → last watcher, per (date, version). */
  fanoutLast: Summary;
  commits: number;
  /** Mean watchers reached per commit. */
  watchersPerCommit: number;
  /** First → last receive of each queue:tick over all waiters. */
  tickSpread: Summary;
  ticks: number;
  order: OrderStats;
  generator: { cpuAvgPct: number; cpuPeakPct: number; loopP99PeakMs: number }[];
  /** Second by second, for the HTML report. */
  timeline: PhaseTimeline;
}

const ERROR_KEY = /^(connect-error|disconnect|crash|queue:|seats:|wallet:|payment:|reservation:|storm-)/;

export function phaseReport(parts: { data: PhaseData; load: PhaseReport['generator'][number] }[], seconds: number): PhaseReport {
  const s = PhaseStats.merge(parts.map((p) => p.data));
  const outcomes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const [k, n] of Object.entries(s.counts)) {
    if (k.startsWith('outcome:')) outcomes[k.slice(8)] = n;
    else if (ERROR_KEY.test(k) && !k.endsWith(':queue-expired-PAID')) errors[k] = n;
    else counts[k] = n;
  }
  const fanoutLast = new Hist();
  let reached = 0;
  for (const c of s.commits.values()) {
    fanoutLast.add(c.maxRecv - c.at);
    reached += c.n;
  }
  const tickSpread = new Hist();
  for (const t of s.ticks.values()) if (t.n > 1) tickSpread.add(t.max - t.min);
  const holds = s.rates.holds.rates();
  return {
    seconds,
    counts,
    outcomes,
    errors,
    latency: Object.fromEntries(HISTS.map((h) => [h, s.hists[h].summary()])) as Record<HistName, Summary>,
    rates: {
      connectPerSec: s.rates.connect.rates().mean,
      holdsPerSec: holds.mean,
      holdsPeak: holds.peak,
      holdAttemptsPerSec: s.rates.holdAttempts.rates().mean,
      paymentsPerSec: s.rates.payments.rates().mean,
      cancelsPerSec: s.rates.cancels.rates().mean,
    },
    fanoutLast: fanoutLast.summary(),
    commits: s.commits.size,
    watchersPerCommit: s.commits.size ? reached / s.commits.size : 0,
    tickSpread: tickSpread.summary(),
    ticks: s.ticks.size,
    order: s.order,
    generator: parts.map((p) => p.load),
    timeline: buildTimeline(s),
  };
}
