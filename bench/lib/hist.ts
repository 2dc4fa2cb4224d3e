/**
 * A mergeable latency histogram: log buckets 2% wide over 1 µs … ~20 min, so
 * workers can ship counts instead of samples and the parent adds them up.
 * Percentiles are exact to about ±1%.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = 1100;

export interface HistData {
  counts: Record<number, number>;
  count: number;
  sum: number;
  min: number;
  max: number;
}

export interface Summary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class Hist {
  private counts = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  /** Records a value in milliseconds (negative values are clamped to 0). */
  add(ms: number): void {
    const v = Math.max(0, ms);
    const us = v * 1000;
    const index = us < 1 ? 0 : Math.min(BUCKETS, 1 + Math.floor(Math.log(us) / LOG_GROWTH));
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
    this.count += 1;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(other: HistData | Hist): this {
    const entries = other instanceof Hist ? [...other.counts] : Object.entries(other.counts).map(([k, n]) => [Number(k), n] as const);
    for (const [k, n] of entries) this.counts.set(k, (this.counts.get(k) ?? 0) + n);
    this.count += other.count;
    this.sum += other.sum;
    if (other.count > 0) {
      this.min = Math.min(this.min, other.min);
      this.max = Math.max(this.max, other.max);
    }
    return this;
  }

  static from(data: HistData | undefined): Hist {
    const h = new Hist();
    if (data) h.merge(data);
    return h;
  }

  toJSON(): HistData {
    return { counts: Object.fromEntries(this.counts), count: this.count, sum: this.sum, min: this.min, max: this.max };
  }

  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (const k of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(k) ?? 0;
      if (seen >= rank) {
        // Geometric middle of the bucket, clamped to what was actually seen.
        const mid = k === 0 ? 0 : Math.pow(GROWTH, k - 0.5) / 1000;
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  summary(): Summary {
    if (this.count === 0) return { count: 0, mean: NaN, min: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN };
    return {
      count: this.count,
      mean: this.sum / this.count,
      min: this.min,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.max,
    };
  }
}

/** A bucket's representative value: the geometric middle, as percentile() reports it. */
const bucketMs = (k: number) => (k === 0 ? 0 : Math.pow(GROWTH, k - 0.5) / 1000);

/** Counts per band: band i holds values up to `edgesMs[i]` (and above the previous edge); one more band for the rest. */
export function bandCounts(data: HistData, edgesMs: readonly number[]): number[] {
  const out = new Array<number>(edgesMs.length + 1).fill(0);
  for (const [k, n] of Object.entries(data.counts)) {
    const v = bucketMs(Number(k));
    const i = edgesMs.findIndex((edge) => v <= edge);
    out[i < 0 ? edgesMs.length : i]! += n;
  }
  return out;
}

/** A Hist that also keeps one Hist per wall-clock second: latency over time, for the HTML report. */
export class TimedHist extends Hist {
  readonly bySecond = new Map<number, Hist>();

  override add(ms: number, at = Date.now()): void {
    super.add(ms);
    const second = Math.floor(at / 1000);
    let h = this.bySecond.get(second);
    if (!h) this.bySecond.set(second, (h = new Hist()));
    h.add(ms);
  }

  secondsJSON(): Record<number, HistData> {
    return Object.fromEntries([...this.bySecond].map(([s, h]) => [s, h.toJSON()]));
  }

  mergeSeconds(data: Record<number, HistData>): void {
    for (const [s, d] of Object.entries(data)) {
      const second = Number(s);
      const h = this.bySecond.get(second);
      if (h) h.merge(d);
      else this.bySecond.set(second, Hist.from(d));
    }
  }
}

/** Event counts per one-second window, for peak rates. */
export class RateWindow {
  readonly perSecond = new Map<number, number>();

  mark(at = Date.now(), n = 1): void {
    const s = Math.floor(at / 1000);
    this.perSecond.set(s, (this.perSecond.get(s) ?? 0) + n);
  }

  merge(data: Record<number, number>): void {
    for (const [s, n] of Object.entries(data)) this.perSecond.set(Number(s), (this.perSecond.get(Number(s)) ?? 0) + n);
  }

  toJSON(): Record<number, number> {
    return Object.fromEntries(this.perSecond);
  }

  /** Highest count in any full second, and the mean rate between the first and last event. */
  rates(): { peak: number; mean: number; total: number; seconds: number } {
    const keys = [...this.perSecond.keys()].sort((a, b) => a - b);
    const total = [...this.perSecond.values()].reduce((a, b) => a + b, 0);
    if (keys.length === 0) return { peak: 0, mean: 0, total: 0, seconds: 0 };
    const seconds = (keys[keys.length - 1] ?? 0) - (keys[0] ?? 0) + 1;
    return { peak: Math.max(...this.perSecond.values()), mean: total / seconds, total, seconds };
  }
}
