/**
 * A periodic job that never overlaps itself: the next run is scheduled only
 * after the previous one settled, so a slow tick (a Redis round trip under
 * load) delays the next instead of stacking up concurrent ticks that would
 * race on the same room.
 */
export class Ticker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly intervalMs: number,
    private readonly job: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
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
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.run();
    }, this.intervalMs);
    // A waiting room alone must not keep a process alive that is shutting down.
    this.timer.unref();
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
