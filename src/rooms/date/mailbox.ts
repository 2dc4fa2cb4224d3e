/**
 * A serial mailbox that hands everything waiting to one `drain` call at a
 * time. Messages never interleave: the next batch starts only after the
 * previous drain settled, whatever it awaited. This is what lets a date room
 * commit a batch in one transaction (group commit) and still behave as if
 * each message ran alone.
 */
export class Mailbox<M> {
  private queue: M[] = [];
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | undefined;

  constructor(
    private readonly drain: (batch: M[]) => Promise<void>,
    private readonly maxBatch = 512,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  post(message: M): void {
    this.queue.push(message);
    if (!this.running) this.start();
  }

  /** Resolves when everything posted so far has been drained. */
  whenIdle(): Promise<void> {
    return this.running ? this.idle : Promise.resolve();
  }

  private start(): void {
    this.running = true;
    this.idle = new Promise((resolve) => (this.resolveIdle = resolve));
    // Start after the current I/O phase, so messages that arrived together share the first batch.
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = this.queue.length <= this.maxBatch ? [] : this.queue.slice(this.maxBatch);
      // drain must settle every message itself; a throw here would be a bug, not a message failure.
      await this.drain(batch).catch(() => undefined);
    }
    this.running = false;
    this.resolveIdle?.();
  }
}
