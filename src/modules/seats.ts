import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config';
import { notFound } from '../errors';
import type { Logger } from '../logger';
import type { Command } from '../handlers/command';
import type { Metrics } from '../metrics';
import { paymentCommands } from '../handlers/payments';
import { seatCommands } from '../handlers/seats';
import type { AppServer } from '../handlers/socket';
import type { WalletService } from '../handlers/wallet';
import type { CatalogRepository } from '../models/catalog-repository';
import type { Database } from '../models/database';
import { DateFenceRepository } from '../models/date-fence-repository';
import { ReservationRepository } from '../models/reservation-repository';
import { ReservationOwners } from '../models/reservation-owners';
import { DateGateway } from '../rooms/cluster/date-gateway';
import { DateOwnership } from '../rooms/cluster/date-ownership';
import { DateRoomRegistry } from '../rooms/date/date-room-registry';
import { groups } from '../protocol/groups';
import type { SeatMap } from '../protocol/events';
import type { Push } from '../rooms/push';
import type { QueueGate } from '../rooms/queue/queue-gate';
import { RoomRpc } from '../rooms/cluster/room-rpc';

export interface SeatModuleDeps {
  config: Config;
  db: Database;
  log: Logger;
  metrics: Metrics;
  push: Push;
  io: AppServer;
  gate: QueueGate;
  wallet: WalletService;
  catalog: CatalogRepository;
  /** Set with REDIS_URL: each date room has one owner among the instances. */
  redis?: Redis;
}

export interface SeatModule {
  rooms: DateRoomRegistry;
  commands: Command[];
  /** A date's seat map, from the room that owns it (as `seats:watch` reads it). */
  seatMap(dateId: number): Promise<SeatMap>;
  /** Opens dates with unpaid holds (joins the cluster first, with Redis) so their timers run. */
  start(): Promise<number>;
  close(): Promise<void>;
}

export function createSeatModule(deps: SeatModuleDeps): SeatModule {
  const { config, db, log, metrics, push, io, gate, wallet, catalog, redis } = deps;
  const rooms = new DateRoomRegistry({
    sequelize: db.commits,
    log: log.child({ component: 'date-room' }),
    push,
    holdTtlMs: config.holdTtlSeconds * 1000,
    maxSeatsPerUser: config.maxSeatsPerUser,
    idleMs: config.roomIdleMs,
    watchers: (dateId) => io.of('/').adapter.rooms.get(groups.date(dateId))?.size ?? 0,
    onSeatsChanged: (concertId) => gate.seatsChanged(concertId),
    onBatch: ({ size, waitMs, commitMs }) => {
      metrics.commitBatchSize.observe(size);
      metrics.roomWait.observe(waitMs / 1000);
      metrics.roomCommit.observe(commitMs / 1000);
    },
    maxBatch: config.dateRoomMaxBatch,
    onExpired: (count) => metrics.holdsExpired.inc(count),
    onFenceLost: (dateId) => {
      metrics.fenceRejections.inc();
      cluster?.ownership.lost(dateId);
      rooms.evict(dateId);
    },
  });
  // Reads for commands go through the main pool: the commits pool is the rooms' alone, so a burst
  // of snapshot or ownership reads never makes a room's group commit wait for a connection.
  const reads = new ReservationRepository(db.sequelize);
  const gateway = new DateGateway(rooms, reads);
  const owners = new ReservationOwners(reads);
  let cluster: { ownership: DateOwnership; rpc: RoomRpc } | undefined;

  // A date's concert never changes: remember it, so routing a command costs no query.
  const concerts = new Map<number, number>();
  const concertOf = async (dateId: number) => {
    const known = concerts.get(dateId);
    if (known !== undefined) return known;
    const date = await catalog.findDate(dateId);
    if (!date) throw notFound('date');
    concerts.set(dateId, date.concertId);
    return date.concertId;
  };

  if (redis) {
    const instanceId = config.instanceId ?? randomUUID();
    const ownership = new DateOwnership({
      redis,
      fences: new DateFenceRepository(db.sequelize),
      prefix: config.redisPrefix,
      instanceId,
      leaseMs: config.dateLeaseMs,
      log: log.child({ component: 'date-ownership', instanceId }),
      onLost: (dateId) => {
        metrics.leasesLost.inc();
        rooms.evict(dateId);
      },
    });
    const sub = redis.duplicate({ enableAutoPipelining: false });
    // The app's own connections log an outage; this one reconnects with them.
    sub.on('error', () => undefined);
    const rpc = new RoomRpc({
      pub: redis,
      sub,
      prefix: config.redisPrefix,
      instanceId,
      handle: (req) => gateway.serveForwarded(req),
      log,
      timed: (side, op, outcome, seconds) => metrics.forward.observe({ side, op, outcome }, seconds),
    });
    cluster = { ownership, rpc };
  }

  return {
    rooms,
    commands: [
      ...seatCommands({ gateway, gate, repo: reads, owners, concertOf }),
      ...paymentCommands({ gateway, gate, wallet, owners }),
    ],
    seatMap: (dateId) => gateway.send({ op: 'snapshot', dateId }),
    async start() {
      if (cluster) {
        await cluster.rpc.start();
        await cluster.ownership.readLive();
        gateway.joinCluster(cluster);
        rooms.startTakeovers(cluster.ownership);
      }
      return rooms.recover();
    },
    async close() {
      await rooms.close();
      if (cluster) {
        await cluster.ownership.close();
        await cluster.rpc.close();
      }
    },
  };
}
