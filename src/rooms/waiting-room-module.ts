import type { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Command } from '../handlers/command';
import type { Metrics } from '../handlers/metrics';
import type { AppServer, SocketHooks } from '../handlers/socket';
import type { Tokens } from '../handlers/tokens';
import type { CatalogRepository } from '../models/catalog-repository';
import type { Push } from './push';
import type { QueueGate } from './queue-gate';

export interface WaitingRoomDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  tokens: Tokens;
  catalog: CatalogRepository;
  push: Push;
  io: AppServer;
  /** Set when REDIS_URL is: the Redis queue store, keys under config.redisPrefix. */
  redis?: Redis;
}

export interface WaitingRoomModule {
  gate: QueueGate;
  /** queue:join, queue:status, queue:leave (and their HTTP routes). */
  commands: Command[];
  /** Presence: connected sockets keep a user from going idle. */
  hooks: SocketHooks;
  /** Stop admission timers. */
  close(): Promise<void>;
}

/** Placeholder until the waiting room lands: every token passes the gate. */
export function createWaitingRooms(_deps: WaitingRoomDeps): WaitingRoomModule {
  return {
    gate: {
      requireActive: async () => undefined,
      releasePaid: async () => undefined,
      seatsChanged: () => undefined,
    },
    commands: [],
    hooks: {},
    close: async () => undefined,
  };
}
