import { systemClock, type Clock } from './clock';

/**
 * Coalesces bursts per key: the job runs once, `delayMs` after the first call
 * of a burst, and calls during that wait (or while the job runs) fold into at
 * most one more run. Seat changes arrive in bursts of hundreds per second; the
 * sold-out check they trigger is a database query, so it must not run per call.
 */
export class KeyedDebounce<K> {
  private readonly pending = new Map<K, unknown>();
  private readonly inFlight = new Map<K, Promise<void>>();
  private readonly again = new Set<K>();
  private closed = false;

  constructor(
    private readonly delayMs: number,
    private readonly job: (key: K) => Promise<void>,
    private readonly onError: (err: unknown, key: K) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  trigger(key: K): void {
    if (this.closed || this.pending.has(key)) return;
    if (this.inFlight.has(key)) {
      this.again.add(key);
      return;
    }
    this.pending.set(key, this.clock.setTimeout(() => this.fire(key), this.delayMs));
  }

  /** Drops pending runs and waits for running ones. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.pending.values()) this.clock.clearTimeout(timer);
    this.pending.clear();
    this.again.clear();
    await Promise.all(this.inFlight.values());
  }

  private fire(key: K): void {
    this.pending.delete(key);
    const run = this.job(key)
      .catch((err: unknown) => this.onError(err, key))
      .finally(() => {
        this.inFlight.delete(key);
        if (this.again.delete(key)) this.trigger(key);
      });
    this.inFlight.set(key, run);
  }
}
