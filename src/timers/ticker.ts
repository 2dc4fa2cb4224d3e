import { systemClock, type Clock } from './clock';

/**
 * A periodic job that never overlaps itself: the next run is scheduled only
 * after the previous one settled, so a slow tick (a Redis round trip under
 * load) delays the next instead of stacking up concurrent ticks that would
 * race on the same room.
 */
export class Ticker {
  private timer: unknown;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly intervalMs: number,
    private readonly job: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  get active(): boolean {
    return !this.stopped;
  }

  /** Starts ticking; the first run is one interval from now. Idempotent. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (!this.running) this.schedule();
  }

  /** No further run starts; resolves once a run in flight (if any) settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.run();
    }, this.intervalMs);
  }

  private async run(): Promise<void> {
    try {
      await this.job();
    } catch (err) {
      this.onError(err);
    }
    this.running = undefined;
    if (!this.stopped) this.schedule();
  }
}
