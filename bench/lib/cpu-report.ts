import { AREAS, type Attribution } from './cpu-attribution';
import { median, type Sample } from './cpu-loop';

export interface PhaseFigure {
  phase: string;
  reps: number;
  commandsPerRep: number;
  commandsPerSecond: number;
  /** Median over repetitions of the process's CPU ÷ commands. */
  cpuUsPerCommand: number;
  /** The same, less what the server spends idle over as long (timers, ticks). */
  netUsPerCommand: number;
  /** cpuUsPerCommand ÷ the bare socket.io echo's µs per message. */
  timesEcho: number;
  /** Share of one core the measured process used during the phase. */
  cpuPct: number;
  errors: Record<string, number>;
  perRep: number[];
}

const IDLE = 'idle (per second)';

/** Medians over repetitions, per phase, in the order the phases ran. */
export function summarize(samples: Sample[], settings: Record<string, unknown>): { settings: Record<string, unknown>; idleUsPerSecond: number; phases: PhaseFigure[] } {
  const phases = [...new Set(samples.map((s) => s.phase))];
  const idleRate = (rep: number) => {
    const idle = samples.filter((s) => s.phase === IDLE)[rep];
    return idle ? idle.cpuUs / idle.wallMs : 0; // µs of CPU per ms of wall
  };
  const figures = phases
    .filter((p) => p !== IDLE)
    .map((phase) => {
      const runs = samples.filter((s) => s.phase === phase);
      const errors: Record<string, number> = {};
      for (const r of runs) for (const [k, n] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + n;
      const perRep = runs.map((r) => r.cpuUs / Math.max(1, r.commands));
      const own = phase.startsWith('baseline');
      return {
        phase,
        reps: runs.length,
        commandsPerRep: median(runs.map((r) => r.commands)),
        commandsPerSecond: median(runs.map((r) => r.commands / (r.wallMs / 1000))),
        cpuUsPerCommand: median(perRep),
        netUsPerCommand: own ? median(perRep) : median(runs.map((r, i) => (r.cpuUs - idleRate(i) * r.wallMs) / Math.max(1, r.commands))),
        timesEcho: NaN,
        cpuPct: median(runs.map((r) => (r.cpuUs / (r.wallMs * 1000)) * 100)),
        errors,
        perRep,
      };
    });
  const echo = figures.find((f) => f.phase.startsWith('baseline: socket.io'))?.cpuUsPerCommand ?? NaN;
  figures.forEach((f) => (f.timesEcho = f.cpuUsPerCommand / echo));
  const idleUsPerSecond = median(samples.filter((s) => s.phase === IDLE).map((s) => (s.cpuUs / s.wallMs) * 1000));
  console.log(`settings: ${JSON.stringify(settings)}`);
  console.log(`server idle: ${idleUsPerSecond.toFixed(0)} µs CPU per second`);
  console.table(
    figures.map((f) => ({
      phase: f.phase,
      'commands/rep': Math.round(f.commandsPerRep),
      'commands/s': Math.round(f.commandsPerSecond),
      'CPU µs/cmd': f.cpuUsPerCommand.toFixed(1),
      'net of idle': f.netUsPerCommand.toFixed(1),
      '× echo': f.timesEcho.toFixed(1),
      'CPU %': f.cpuPct.toFixed(0),
      errors: Object.entries(f.errors).map(([k, n]) => `${k}:${n}`).join(' '),
    })),
  );
  return { settings, idleUsPerSecond, phases: figures };
}

/** Each area's share of the profile, times the CPU per command measured in the same run: µs per command by area. */
export function printAttribution(rows: Attribution[], figures: PhaseFigure[]): void {
  console.log('server CPU per command (µs) by area: share of the main thread\'s self time × measured CPU µs/command');
  console.table(
    rows.map((r) => {
      const cpu = figures.find((f) => f.phase === r.phase)?.cpuUsPerCommand ?? NaN;
      return { phase: r.phase, 'CPU µs/cmd': cpu.toFixed(0), ...Object.fromEntries(AREAS.map((a) => [a, ((r.byArea[a] / 100) * cpu).toFixed(1)])) };
    }),
  );
  for (const r of rows) console.log(`${r.phase}:${r.top.length > 8 ? '\n  ' : ' '}${r.top.map((t) => `${t.pct.toFixed(1)}% ${t.frame} [${t.area}]`).join(r.top.length > 8 ? '\n  ' : '; ')}`);
}
