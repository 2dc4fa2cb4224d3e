import type { QueueStatus, QueueTick } from '../protocol/events';

/** The part of a QueueStatus a waiter tracks between ticks. */
export type TrackedEntry = Pick<QueueStatus, 'concertId' | 'status' | 'ticket' | 'opensAt' | 'paused' | 'tick' | 'position' | 'waiting' | 'etaSeconds' | 'expiresAt'>;

export type StepKind = 'applied' | 'stale' | 'gap';

export interface QueueTracker {
  /** 'gap': call queue:status and pass its answer to `reset`; 'buffered': no status yet. */
  onTick(tick: QueueTick): StepKind | 'buffered' | 'ignored';
  reset(status: QueueStatus): TrackedEntry;
  readonly entry: TrackedEntry | null;
  readonly position: number | null;
}

export interface QueuePositionModule {
  applyTick<E extends TrackedEntry>(entry: E, tick: QueueTick): { kind: StepKind; entry: E };
  createTracker(status?: QueueStatus): QueueTracker;
}

/**
 * Typed access, for Node clients (load generators, tests), to the one copy of
 * the position function: public/queue-position.js, which browsers load as is.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const QueuePosition = require('../../public/queue-position.js') as QueuePositionModule;
