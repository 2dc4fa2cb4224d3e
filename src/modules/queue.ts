import type { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Command } from '../handlers/command';
import type { Metrics } from '../metrics';
import { queueCommands } from '../handlers/queue';
import type { AppServer, SocketHooks } from '../handlers/socket';
import type { Tokens } from '../tokens';
import type { CatalogRepository } from '../models/catalog-repository';
import { isPostgresDown } from '../dependencies';
import type { Database } from '../models/database';
import { QueueEntryRepository } from '../models/queue-entry-repository';
import { DurableQueueStore } from '../rooms/queue/durable-queue-store';
import { groups } from '../protocol/groups';
import type { Push } from '../rooms/push';
import type { QueueGate } from '../rooms/queue/queue-gate';
import { QueueDoor } from '../rooms/queue/queue-door';
import { priorRate, type QueueCounts } from '../rooms/queue/queue-store';
import { RedisQueueStore } from '../rooms/queue/redis-queue-store';
import { systemClock } from '../timers/clock';
import { WaitingRoomRegistry } from '../rooms/queue/waiting-room-registry';
import type { SaleBook } from '../rooms/queue/sale-book';
import { createDrawChannel } from './draw-channel';

export interface QueueModuleDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  tokens: Tokens;
  catalog: CatalogRepository;
  push: Push;
  io: AppServer;
  db: Database;
  sales: SaleBook;
  /** Set when REDIS_URL is: the Redis queue store, keys under config.redisPrefix. */
  redis?: Redis;
  /** Signs the door's challenges (the server's secret; a label keeps the two uses apart). */
  secret: string;
}

export interface QueueModule {
  gate: QueueGate;
  /** queue:join, queue:challenge, queue:status, queue:leave (and their HTTP routes). */
  commands: Command[];
  /** Presence: connected sockets keep a user from going idle. */
  hooks: SocketHooks;
  /** Live figures of a concert's waiting room, for the operator. */
  counts(concertId: number): Promise<QueueCounts>;
  /** Stop admission timers. */
  close(): Promise<void>;
}

/**
 * One waiting room per concert, on the in-process store kept durable in
 * PostgreSQL (DurableQueueStore), or on Redis when it
 * is configured (then several instances share the rooms and a lease lets one
 * of them admit per concert).
 */
export function createQueueModule(deps: QueueModuleDeps): QueueModule {
  const { config, log, io } = deps;
  const prior = priorRate(config.queueAdmitBatch, config.queueAdmitIntervalMs);
  // Without Redis the single instance keeps its rooms in memory and every change in PostgreSQL.
  const store = deps.redis
    ? new RedisQueueStore(deps.redis, config.redisPrefix, prior)
    : new DurableQueueStore({
        repository: new QueueEntryRepository(deps.db),
        priorRate: prior,
        log,
        clock: systemClock,
        isOutage: isPostgresDown,
        drawChunk: config.queueDrawMoveBatch,
        onBatch: ({ entries, ms }) => {
          deps.metrics.queueJournalBatch.observe(entries);
          deps.metrics.queueJournalWrite.observe(ms / 1000);
        },
      });
  const door = new QueueDoor({
    secret: deps.secret,
    cost: config.queueChallengeCost,
    ttlMs: config.queueChallengeTtlSeconds * 1000,
    // The concert's own sale setting; QUEUE_CHALLENGE is its default.
    challengeOn: async (concertId) => ((await deps.sales.get(concertId))?.challenge ?? config.queueChallenge) === 'pow',
    entriesPerIp: config.queueEntriesPerIp,
    redis: deps.redis,
    prefix: config.redisPrefix,
    clock: systemClock,
  });
  // With Redis, the opening's draw is told through one message, not one adapter publish per user.
  const drawChannel = deps.redis ? createDrawChannel({ io, redis: deps.redis, prefix: config.redisPrefix, log }) : undefined;
  const waitingRooms = new WaitingRoomRegistry({
    ...deps,
    store,
    door,
    tellDrawn: drawChannel?.tell,
    joinBroadcast: (userId, concertId) => io.in(groups.user(userId)).socketsJoin(groups.queue(concertId)),
    leaveBroadcast: (userId, concertId) => io.in(groups.user(userId)).socketsLeave(groups.queue(concertId)),
  });
  const started = waitingRooms.start().catch((err: unknown) => log.error({ err }, 'waiting rooms did not start'));
  return {
    gate: waitingRooms,
    commands: queueCommands(waitingRooms),
    hooks: {
      connected: (socket) => waitingRooms.connected(socket.data.userId),
      disconnected: (socket) => waitingRooms.disconnected(socket.data.userId),
    },
    counts: (concertId) => store.counts(concertId, Date.now()),
    async close() {
      await started;
      await waitingRooms.close();
      await drawChannel?.close();
    },
  };
}
