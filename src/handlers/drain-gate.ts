/**
 * Counts the commands an instance has received and not yet answered, and
 * once draining refuses new ones: every command that got in is answered with
 * its real outcome before the pools and stores it needs are closed.
 */
export class DrainGate {
  private inFlight = 0;
  private closing = false;
  private waiters: (() => void)[] = [];

  get draining(): boolean {
    return this.closing;
  }

  get pending(): number {
    return this.inFlight;
  }

  /** False once draining: the caller answers UNAVAILABLE instead of running the command. */
  enter(): boolean {
    if (this.closing) return false;
    this.inFlight += 1;
    return true;
  }

  leave(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  /** Refuses new commands from now on; resolves when the last admitted one left, or after `graceMs`. */
  async drain(graceMs: number): Promise<boolean> {
    this.closing = true;
    if (this.inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      new Promise<boolean>((resolve) => this.waiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    return settled;
  }
}
