import type { Logger } from '../../logger';
import type { StoredDraw } from '../../models/queue-entry-repository';
import type { Clock } from '../../timers/clock';

export interface DrawRewriteDeps {
  /** Reports the rows of drawn entries `from`..`to` under their tickets (MemoryQueueStore.restate). */
  restate(concertId: number, draw: StoredDraw, from: number, to: number): void;
  /** The journal: wait for what was reported, then report the draw's record as done. */
  committed(): Promise<void>;
  drawDone(concertId: number, first: number): void;
  clock: Clock;
  log: Logger;
  /** Entries per write: small enough that a join behind one waits a few milliseconds. */
  chunk: number;
  retryMs: number;
}

/**
 * Moves a recorded draw's rows from pre-queue keys to tickets after the draw was told, a
 * chunk per group commit so joins and ticks interleave with it. Until it is done the draw's
 * record is what makes the tickets durable (a rebuild applies it), so stopping halfway, by a
 * crash or by close, loses nothing: the next start moves the rest.
 */
export class DrawRewrite {
  private readonly running = new Set<Promise<void>>();
  /** Rewrites sleeping before a retry: close wakes them (a fake clock never would). */
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  constructor(private readonly deps: DrawRewriteDeps) {}

  start(concertId: number, draw: StoredDraw): void {
    const run = this.run(concertId, draw).catch((err: unknown) => this.deps.log.error({ err, concertId }, 'draw rows not moved; the next start moves them'));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Resolves once every rewrite started so far has finished or stopped. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** Stops at the next chunk; the record stays for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.sleepers) wake();
    await this.settled();
  }

  private async run(concertId: number, draw: StoredDraw): Promise<void> {
    const started = performance.now();
    // The draw's record first: a row under a ticket written without it would be a second entry of that user.
    if (!(await this.written())) return;
    for (let from = 0; from < draw.keys.length; from += this.deps.chunk) {
      if (this.closed) return;
      this.deps.restate(concertId, draw, from, from + this.deps.chunk);
      if (!(await this.written())) return;
    }
    this.deps.drawDone(concertId, draw.first);
    if (!(await this.written())) return;
    this.deps.log.info({ concertId, entries: draw.keys.length, ms: Math.round(performance.now() - started) }, 'drawn entries moved to their tickets');
  }

  /** Whether what was reported is written; while PostgreSQL is down it waits and retries, until closed. */
  private async written(): Promise<boolean> {
    for (;;) {
      try {
        await this.deps.committed();
        return true;
      } catch {
        if (this.closed) return false;
        await this.sleep();
      }
      if (this.closed) return false;
    }
  }

  private sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.deps.clock.clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      this.sleepers.add(wake);
      const timer = this.deps.clock.setTimeout(wake, this.deps.retryMs);
    });
  }
}
