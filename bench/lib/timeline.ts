import { bandCounts } from './hist';
import { RATES, TIMED, type PhaseStats, type RateName, type TimedName } from './stats';

/** Upper edges of the latency bands of the report's heat maps (ms); one band more for anything slower. */
export const LATENCY_BANDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;
// A run of hours would draw thousands of columns nobody reads; past this the tail is cut.
const MAX_SECONDS = 3600;

export interface LatencySeries {
  p50: number[];
  p99: number[];
  /** Per second, the count in each of LATENCY_BANDS (and above the last). */
  bands: number[][];
}

/** One phase, second by second: what the HTML report draws. */
export interface PhaseTimeline {
  /** Epoch second of index 0. */
  start: number;
  seconds: number;
  rates: Record<RateName, number[]>;
  latency: Record<TimedName, LatencySeries>;
}

export function buildTimeline(s: PhaseStats): PhaseTimeline {
  const seen = [...RATES.flatMap((r) => [...s.rates[r].perSecond.keys()]), ...TIMED.flatMap((h) => [...s.hists[h].bySecond.keys()])];
  const start = seen.length ? Math.min(...seen) : 0;
  const seconds = seen.length ? Math.min(MAX_SECONDS, Math.max(...seen) - start + 1) : 0;
  const each = <T>(f: (second: number) => T) => Array.from({ length: seconds }, (_, i) => f(start + i));
  const rates = Object.fromEntries(RATES.map((r) => [r, each((sec) => s.rates[r].perSecond.get(sec) ?? 0)])) as Record<RateName, number[]>;
  const latency = Object.fromEntries(
    TIMED.map((h) => {
      const bySecond = s.hists[h].bySecond;
      return [
        h,
        {
          p50: each((sec) => bySecond.get(sec)?.percentile(50) ?? NaN),
          p99: each((sec) => bySecond.get(sec)?.percentile(99) ?? NaN),
          bands: each((sec) => {
            const hist = bySecond.get(sec);
            return hist ? bandCounts(hist.toJSON(), LATENCY_BANDS) : new Array<number>(LATENCY_BANDS.length + 1).fill(0);
          }),
        },
      ];
    }),
  ) as Record<TimedName, LatencySeries>;
  return { start, seconds, rates, latency };
}
