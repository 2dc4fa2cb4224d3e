import type { Sequelize } from 'sequelize';
import { HeldConnection } from '../../models/prepared';
import type { BatchInput, BatchResult, LoadedDate, ReservationRepository } from '../../models/reservation-repository';

/**
 * What a date room needs of the database: its date once, then one group
 * commit at a time. A refused commit writes nothing and throws as
 * `ReservationRepository.commitBatch` documents (FenceError, StaleStateError,
 * an AppError for a short balance).
 */
export interface DateRoomStore {
  loadDate(dateId: number): Promise<LoadedDate | null>;
  commitBatch(batch: BatchInput): Promise<BatchResult>;
  /** The room has nothing more to commit for now: give back what it kept between commits. */
  release?(): void;
}

/**
 * The repository with its commits bound to the rooms' own pool, so a room never picks a pool per call.
 * A busy room keeps one connection from one commit to the next (no pool acquire per commit) and gives it
 * back when its mailbox runs dry, so the pool's few connections go to the rooms that have work.
 */
export function bindStore(repo: ReservationRepository, pool: Sequelize): DateRoomStore {
  const held = new HeldConnection(pool);
  return {
    loadDate: (dateId) => repo.loadDate(dateId),
    commitBatch: (batch) => repo.commitBatch(held, batch),
    release: () => held.release(),
  };
}
