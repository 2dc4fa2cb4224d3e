/** Another instance owns the date (or nobody can be found to): the caller routes again. */
export class NotOwnerError extends Error {
  constructor(readonly dateId: number) {
    super(`this instance does not own date ${dateId}`);
  }
}

/**
 * Who runs a date's room. `free`: nobody holds the lease and another live
 * instance is the date's preferred owner; a command sent there makes it take
 * the lease.
 */
export type Claim = { self: true; fence: number } | { self: false; owner: string; free?: true };

/**
 * What the date rooms need from cluster ownership (rooms/cluster implements
 * it): with several instances a room opens only under its date's lease, and
 * every commit carries the lease's fence.
 */
export interface DateLeases {
  /** The fence of a lease this instance holds, or undefined. */
  fence(dateId: number): number | undefined;
  /** Names the owner; with `take`, a free lease is taken by this instance. */
  acquire(dateId: number, take?: boolean): Promise<Claim>;
  release(dateId: number): Promise<void>;
}
