/** Time and timers behind one seam, so room logic runs on a fake clock in unit tests. */
export interface Clock {
  now(): number;
  /** A room's timer never keeps a process alive on its own: what it guards is durable and re-armed on start. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
