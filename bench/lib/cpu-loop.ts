import { monotonicUs, processCpuUs } from './proc-cpu';
import type { Window } from './cpu-attribution';

/** One phase of one repetition: commands run, the CPU the measured process spent on them. */
export interface Sample {
  phase: string;
  commands: number;
  errors: Record<string, number>;
  wallMs: number;
  cpuUs: number;
}

/** Who pays: a server process by pid, or this process (the `pg` baseline). */
export type CpuSource = { pid: number } | 'self';

const cpuOf = (source: CpuSource): number => {
  if (source !== 'self') return processCpuUs(source.pid);
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** A command that came back refused: counted by code, left out of the figures. */
export class Refused extends Error {}

/**
 * Runs `op` from `lanes` closed loops at once: for `seconds`, or over `items`
 * (each item once). `op` returns how many commands it sent; a refusal
 * (Refused) is counted by its code, anything else stops the run.
 */
export class Meter {
  readonly samples: Sample[] = [];
  readonly windows: Window[] = [];

  constructor(
    private readonly wanted: (phase: string) => boolean,
    private readonly source: (phase: string) => CpuSource,
  ) {}

  async loop(phase: string, lanes: number, seconds: number, op: (lane: number) => Promise<number>): Promise<Sample | undefined> {
    const until = Date.now() + seconds * 1000;
    return this.measure(phase, async (count) => {
      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          while (Date.now() < until) await count(() => op(lane));
        }),
      );
    });
  }

  async each<T>(phase: string, lanes: number, items: readonly T[], op: (item: T) => Promise<number>): Promise<Sample | undefined> {
    let next = 0;
    return this.measure(phase, async (count) => {
      await Promise.all(
        Array.from({ length: Math.min(lanes, items.length) }, async () => {
          while (next < items.length) {
            const item = items[next++] as T;
            await count(() => op(item));
          }
        }),
      );
    });
  }

  /** CPU over a quiet stretch: what the process spends with no command (timers, ticks). */
  async idle(phase: string, seconds: number): Promise<Sample | undefined> {
    return this.measure(phase, () => new Promise((r) => setTimeout(r, seconds * 1000)));
  }

  private async measure(phase: string, run: (count: (op: () => Promise<number>) => Promise<void>) => Promise<void>): Promise<Sample | undefined> {
    if (!this.wanted(phase)) return undefined;
    const source = this.source(phase);
    const errors: Record<string, number> = {};
    let commands = 0;
    const count = async (op: () => Promise<number>) => {
      try {
        // Not `commands += await op()`: that reads `commands` before the await and loses the other lanes' counts.
        const sent = await op();
        commands += sent;
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        errors[err.message] = (errors[err.message] ?? 0) + 1;
      }
    };
    const cpu0 = cpuOf(source);
    const from = monotonicUs();
    await run(count);
    const to = monotonicUs();
    const sample: Sample = { phase, commands, errors, wallMs: (to - from) / 1000, cpuUs: cpuOf(source) - cpu0 };
    this.samples.push(sample);
    this.windows.push({ phase, fromUs: from, toUs: to, commands });
    return sample;
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
