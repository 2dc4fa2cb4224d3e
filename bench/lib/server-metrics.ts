/** Polls the server's GET /metrics (prom-client text) for CPU, RSS, sockets and group-commit batch sizes. */
export interface ServerSample {
  at: number;
  cpuSeconds: number;
  rssBytes: number;
  sockets: number;
  loopLagP99: number;
  batchSum: number;
  batchCount: number;
  commitSum: number;
  waitSum: number;
  /** tix_command_duration_seconds cumulative buckets: `command outcome` → le (s) → count. */
  commands: Map<string, Map<number, number>>;
}

/** Server-side latency of one command (ok outcome), from the histogram buckets: coarse but free of network and generator delay. */
export interface CommandLatency {
  count: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ServerUsage {
  samples: number;
  cpuAvgPct: number;
  cpuPeakPct: number;
  rssPeakMb: number;
  rssStartMb: number;
  socketsPeak: number;
  loopLagP99PeakMs: number;
  /** Commands per group-commit transaction over the window (tix_date_room_batch_size), when exported. */
  meanBatch?: number;
  /** Mean ms of one date-room commit (tix_date_room_commit_seconds) and of its oldest command's mailbox wait, over the window. */
  meanCommitMs?: number;
  meanRoomWaitMs?: number;
  /** Date-room commits per second over the window: with meanCommitMs, how much of the time a commit is in flight. */
  commitsPerSec?: number;
  /** Server-side latency per command over the window (ok replies). */
  commands: Record<string, CommandLatency>;
  error?: string;
}

function value(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export async function sampleServer(url: string): Promise<ServerSample> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  const text = await res.text();
  return {
    at: Date.now(),
    cpuSeconds: value(text, 'process_cpu_seconds_total') ?? NaN,
    rssBytes: value(text, 'process_resident_memory_bytes') ?? NaN,
    sockets: value(text, 'tix_connected_sockets') ?? NaN,
    loopLagP99: value(text, 'nodejs_eventloop_lag_p99_seconds') ?? NaN,
    batchSum: value(text, 'tix_date_room_batch_size_sum') ?? 0,
    batchCount: value(text, 'tix_date_room_batch_size_count') ?? 0,
    commitSum: value(text, 'tix_date_room_commit_seconds_sum') ?? 0,
    waitSum: value(text, 'tix_date_room_wait_seconds_sum') ?? 0,
    commands: commandBuckets(text),
  };
}

function commandBuckets(text: string): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  const re = /^tix_command_duration_seconds_bucket\{([^}]*)\} ([0-9.eE+-]+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels['outcome'] !== 'ok') continue;
    const le = labels['le'] === '+Inf' ? Infinity : Number(labels['le']);
    const key = String(labels['command']);
    if (!out.has(key)) out.set(key, new Map());
    out.get(key)?.set(le, Number(m[2]));
  }
  return out;
}

/** Percentiles of the commands run between two samples, interpolated inside the histogram's buckets. */
export function commandLatency(a: ServerSample, b: ServerSample): Record<string, CommandLatency> {
  const out: Record<string, CommandLatency> = {};
  for (const [command, after] of b.commands) {
    const before = a.commands.get(command);
    const bounds = [...after.keys()].sort((x, y) => x - y);
    const cum = bounds.map((le) => (after.get(le) ?? 0) - (before?.get(le) ?? 0));
    const count = cum[cum.length - 1] ?? 0;
    if (count <= 0) continue;
    const at = (p: number) => {
      const rank = p * count;
      for (let i = 0; i < bounds.length; i++) {
        if ((cum[i] ?? 0) < rank) continue;
        const hi = bounds[i] ?? Infinity;
        const lo = i === 0 ? 0 : (bounds[i - 1] ?? 0);
        if (!Number.isFinite(hi)) return lo * 1000;
        const below = i === 0 ? 0 : (cum[i - 1] ?? 0);
        const inBucket = (cum[i] ?? 0) - below;
        return (lo + ((hi - lo) * (rank - below)) / Math.max(1, inBucket)) * 1000;
      }
      return NaN;
    };
    out[command] = { count, p50Ms: at(0.5), p99Ms: at(0.99) };
  }
  return out;
}


/** Samples every `intervalMs` until stopped; `window()` summarises a span of the samples. */
export class ServerMonitor {
  readonly samples: ServerSample[] = [];
  private timer?: NodeJS.Timeout;
  private lastError?: string;

  constructor(private readonly url: string, private readonly intervalMs = 1000) {}

  start(): void {
    const tick = () => {
      sampleServer(this.url)
        .then((s) => this.samples.push(s))
        .catch((err: unknown) => {
          this.lastError = String(err);
        })
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  latest(): ServerSample | undefined {
    return this.samples[this.samples.length - 1];
  }

  /** CPU % of one core between consecutive samples (100 = one core busy). */
  cpuPct(a: ServerSample, b: ServerSample): number {
    return ((b.cpuSeconds - a.cpuSeconds) / Math.max(0.001, (b.at - a.at) / 1000)) * 100;
  }

  window(from = 0, to = Infinity): ServerUsage {
    const s = this.samples.filter((x) => x.at >= from && x.at <= to);
    if (s.length < 2) return { samples: s.length, cpuAvgPct: NaN, cpuPeakPct: NaN, rssPeakMb: NaN, rssStartMb: NaN, socketsPeak: NaN, loopLagP99PeakMs: NaN, commands: {}, error: this.lastError };
    const first = s[0] as ServerSample;
    const last = s[s.length - 1] as ServerSample;
    let peak = 0;
    for (let i = 1; i < s.length; i++) peak = Math.max(peak, this.cpuPct(s[i - 1] as ServerSample, s[i] as ServerSample));
    const batches = last.batchCount - first.batchCount;
    return {
      samples: s.length,
      cpuAvgPct: this.cpuPct(first, last),
      cpuPeakPct: peak,
      rssPeakMb: Math.max(...s.map((x) => x.rssBytes)) / 1e6,
      rssStartMb: first.rssBytes / 1e6,
      socketsPeak: Math.max(...s.map((x) => x.sockets)),
      loopLagP99PeakMs: Math.max(...s.map((x) => x.loopLagP99)) * 1000,
      meanBatch: batches > 0 ? (last.batchSum - first.batchSum) / batches : undefined,
      meanCommitMs: batches > 0 ? ((last.commitSum - first.commitSum) / batches) * 1000 : undefined,
      meanRoomWaitMs: batches > 0 ? ((last.waitSum - first.waitSum) / batches) * 1000 : undefined,
      commitsPerSec: batches / Math.max(0.001, (last.at - first.at) / 1000),
      commands: commandLatency(first, last),
      error: this.lastError,
    };
  }
}
