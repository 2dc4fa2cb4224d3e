import type { Sequelize } from 'sequelize';
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
}

/** The repository with its commits bound to the rooms' own pool, so a room never picks a pool per call. */
export function bindStore(repo: ReservationRepository, pool: Sequelize): DateRoomStore {
  return {
    loadDate: (dateId) => repo.loadDate(dateId),
    commitBatch: (batch) => repo.commitBatch(pool, batch),
  };
}
