import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Hist, RateWindow, TimedHist, type HistData } from './hist';
import { newOrderStats, type OrderStats } from './watch';

export const HISTS = ['connect', 'join', 'joinToAdmit', 'admitPush', 'tickLatency', 'hold', 'holdOk', 'charge', 'pay', 'cancel', 'fanout', 'expiryLag'] as const;
export const RATES = ['connect', 'holds', 'holdAttempts', 'payments', 'cancels', 'admissions', 'expiries'] as const;
/** Latencies also kept per second (the HTML report's histograms over time). */
export const TIMED = ['admitPush', 'holdOk', 'pay', 'fanout'] as const;
export type HistName = (typeof HISTS)[number];
export type RateName = (typeof RATES)[number];
export type TimedName = (typeof TIMED)[number];
const timed = (h: HistName): h is TimedName => (TIMED as readonly string[]).includes(h);

/** Per commit (date, version): server commit time and the last receive time over every watcher. */
export interface CommitFanout {
  at: number;
  maxRecv: number;
  n: number;
}

/** Per queue tick: first and last receive time over every waiter (a spread, with no server timestamp). */
export interface TickFanout {
  min: number;
  max: number;
  n: number;
}

export interface PhaseData {
  hists: Record<HistName, HistData>;
  /** Per second (epoch seconds) of the TIMED latencies. */
  timeline: Record<TimedName, Record<number, HistData>>;
  rates: Record<RateName, Record<number, number>>;
  counts: Record<string, number>;
  commits: Record<string, CommitFanout>;
  ticks: Record<string, TickFanout>;
  order: OrderStats;
}

/** What one worker measured in one phase (sale or storm); the parent merges these. */
export class PhaseStats {
  readonly hists = Object.fromEntries(HISTS.map((h) => [h, timed(h) ? new TimedHist() : new Hist()])) as Record<HistName, Hist> & Record<TimedName, TimedHist>;
  readonly rates = Object.fromEntries(RATES.map((r) => [r, new RateWindow()])) as Record<RateName, RateWindow>;
  readonly counts: Record<string, number> = {};
  readonly commits = new Map<string, CommitFanout>();
  readonly ticks = new Map<string, TickFanout>();
  readonly order: OrderStats = newOrderStats();

  count(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }

  /** Keys starting with `max:` merge by maximum instead of sum. */
  max(key: string, value: number): void {
    const k = `max:${key}`;
    this.counts[k] = Math.max(this.counts[k] ?? 0, value);
  }

  commit(dateId: number, version: number, at: number, recv: number): void {
    const key = `${dateId}:${version}`;
    const c = this.commits.get(key);
    if (c) {
      c.maxRecv = Math.max(c.maxRecv, recv);
      c.n++;
    } else this.commits.set(key, { at, maxRecv: recv, n: 1 });
  }

  tick(concertId: number, tick: number, recv: number): void {
    const key = `${concertId}:${tick}`;
    const t = this.ticks.get(key);
    if (t) {
      t.min = Math.min(t.min, recv);
      t.max = Math.max(t.max, recv);
      t.n++;
    } else this.ticks.set(key, { min: recv, max: recv, n: 1 });
  }

  toJSON(): PhaseData {
    return {
      hists: Object.fromEntries(HISTS.map((h) => [h, this.hists[h].toJSON()])) as Record<HistName, HistData>,
      timeline: Object.fromEntries(TIMED.map((h) => [h, this.hists[h].secondsJSON()])) as Record<TimedName, Record<number, HistData>>,
      rates: Object.fromEntries(RATES.map((r) => [r, this.rates[r].toJSON()])) as Record<RateName, Record<number, number>>,
      counts: this.counts,
      commits: Object.fromEntries(this.commits),
      ticks: Object.fromEntries(this.ticks),
      order: this.order,
    };
  }

  static merge(parts: PhaseData[]): PhaseStats {
    const out = new PhaseStats();
    for (const p of parts) {
      for (const h of HISTS) out.hists[h].merge(p.hists[h]);
      for (const h of TIMED) out.hists[h].mergeSeconds(p.timeline[h]);
      for (const r of RATES) out.rates[r].merge(p.rates[r]);
      for (const [k, n] of Object.entries(p.counts)) {
        if (k.startsWith('max:')) out.max(k.slice(4), n);
        else out.count(k, n);
      }
      for (const [k, c] of Object.entries(p.commits)) {
        const o = out.commits.get(k);
        if (o) {
          o.maxRecv = Math.max(o.maxRecv, c.maxRecv);
          o.n += c.n;
        } else out.commits.set(k, { ...c });
      }
      for (const [k, t] of Object.entries(p.ticks)) {
        const o = out.ticks.get(k);
        if (o) {
          o.min = Math.min(o.min, t.min);
          o.max = Math.max(o.max, t.max);
          o.n += t.n;
        } else out.ticks.set(k, { ...t });
      }
      out.order.sessions += p.order.sessions;
      out.order.deltas += p.order.deltas;
      out.order.gaps += p.order.gaps;
      out.order.stale += p.order.stale;
      out.order.examples.push(...p.order.examples.slice(0, 5 - out.order.examples.length));
    }
    return out;
  }
}

export interface ProcessLoad {
  cpuPct: number;
  loopP99Ms: number;
}

/** This process's CPU (% of one core) and event-loop delay since the last call: a saturated generator shows here. */
export class LoadMeter {
  private last = process.cpuUsage();
  private lastAt = Date.now();
  private readonly loop = monitorEventLoopDelay({ resolution: 10 });
  readonly samples: ProcessLoad[] = [];

  constructor() {
    this.loop.enable();
  }

  sample(): ProcessLoad {
    const now = Date.now();
    const cpu = process.cpuUsage(this.last);
    this.last = process.cpuUsage();
    const pct = ((cpu.user + cpu.system) / 1000 / Math.max(1, now - this.lastAt)) * 100;
    this.lastAt = now;
    const s = { cpuPct: pct, loopP99Ms: this.loop.percentile(99) / 1e6 };
    this.loop.reset();
    this.samples.push(s);
    return s;
  }

  summary(): { cpuAvgPct: number; cpuPeakPct: number; loopP99PeakMs: number } {
    const s = this.samples;
    if (s.length === 0) return { cpuAvgPct: NaN, cpuPeakPct: NaN, loopP99PeakMs: NaN };
    return {
      cpuAvgPct: s.reduce((a, x) => a + x.cpuPct, 0) / s.length,
      cpuPeakPct: Math.max(...s.map((x) => x.cpuPct)),
      loopP99PeakMs: Math.max(...s.map((x) => x.loopP99Ms)),
    };
  }
}
