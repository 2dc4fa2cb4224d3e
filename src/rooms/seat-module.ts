import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Command } from '../handlers/command';
import type { Metrics } from '../handlers/metrics';
import { paymentCommands } from '../handlers/payments';
import { seatCommands } from '../handlers/seats';
import type { AppServer } from '../handlers/socket';
import type { WalletService } from '../handlers/wallet';
import type { Database } from '../models/database';
import { DateRooms } from './date-rooms';
import { rooms as groups, type Push } from './push';
import type { QueueGate } from './queue-gate';

export interface SeatModuleDeps {
  config: Config;
  db: Database;
  log: Logger;
  metrics: Metrics;
  push: Push;
  io: AppServer;
  gate: QueueGate;
  wallet: WalletService;
}

export interface SeatModule {
  rooms: DateRooms;
  commands: Command[];
  /** Reopens dates with unpaid holds so their timers run after a restart. */
  recover(): Promise<number>;
  close(): Promise<void>;
}

export function createSeats({ config, db, log, metrics, push, io, gate, wallet }: SeatModuleDeps): SeatModule {
  const rooms = new DateRooms({
    sequelize: db.commits,
    log: log.child({ component: 'date-room' }),
    push,
    holdTtlMs: config.holdTtlSeconds * 1000,
    maxSeatsPerUser: config.maxSeatsPerUser,
    idleMs: config.roomIdleMs,
    watchers: (dateId) => io.of('/').adapter.rooms.get(groups.date(dateId))?.size ?? 0,
    onSeatsChanged: (concertId) => gate.seatsChanged(concertId),
    onBatch: (size) => metrics.commitBatchSize.observe(size),
    maxBatch: config.dateRoomMaxBatch,
  });
  return {
    rooms,
    commands: [...seatCommands({ rooms, gate, wallet }), ...paymentCommands({ rooms, gate, wallet })],
    recover: () => rooms.recover(),
    close: () => rooms.close(),
  };
}
