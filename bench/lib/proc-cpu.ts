import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of another process, in µs, every thread included (the event loop,
 * libuv's pool, V8's GC and compiler threads): the sum of each thread's
 * /proc/<pid>/task/<tid>/schedstat (ns on CPU). Falls back to /proc/<pid>/stat
 * (utime + stime, 10 ms ticks) where schedstat is missing.
 */
export function processCpuUs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1000;
  } catch {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  }
}

/** The monotonic clock V8's CPU profiles are stamped with (µs), for cutting a profile into phases. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);
