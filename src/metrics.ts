import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One registry per app instance, so tests can run several apps in one process. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    commandDuration: new Histogram({
      name: 'tix_command_duration_seconds',
      help: 'Command latency by command and outcome (ok or error code)',
      labelNames: ['command', 'outcome'] as const,
      // Up to the clients' usual ack timeout: an overloaded sale's slow commands stay measurable.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    poolWait: new Histogram({
      name: 'tix_db_pool_wait_seconds',
      help: 'How long a query waited for a PostgreSQL connection, by pool (main: commands, commits: date rooms, keys: idempotency keys, journal: the waiting room writes)',
      labelNames: ['pool'] as const,
      buckets: LATENCY,
      registers: [registry],
    }),
    connectedSockets: new Gauge({ name: 'tix_connected_sockets', help: 'Socket.IO connections on this instance', registers: [registry] }),
    commitBatchSize: new Histogram({
      name: 'tix_date_room_batch_size',
      help: 'Commands committed per date-room transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    roomWait: new Histogram({
      name: 'tix_date_room_wait_seconds',
      help: 'How long the oldest command of a committed batch waited in its date room mailbox',
      buckets: LATENCY,
      registers: [registry],
    }),
    roomCommit: new Histogram({
      name: 'tix_date_room_commit_seconds',
      help: 'Duration of one date-room group commit (one transaction)',
      buckets: LATENCY,
      registers: [registry],
    }),
    forward: new Histogram({
      name: 'tix_room_forward_seconds',
      help: 'Commands forwarded between instances: round trip at the sender (side=request), work at the owner (side=serve)',
      labelNames: ['side', 'op', 'outcome'] as const,
      buckets: LATENCY,
      registers: [registry],
    }),
    fenceRejections: new Counter({
      name: 'tix_fence_rejections_total',
      help: 'Date-room commits refused because another instance took the date over (stale owner)',
      registers: [registry],
    }),
    leasesLost: new Counter({
      name: 'tix_date_leases_lost_total',
      help: 'Date-room leases this instance found taken over at renewal (it was paused or cut off)',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'tix_rejected_total',
      help: 'Requests and commands answered with an error code other than INTERNAL (logged at debug only)',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    holdsExpired: new Counter({ name: 'tix_holds_expired_total', help: 'Holds released by their timer', registers: [registry] }),
    queueAdmitted: new Counter({ name: 'tix_queue_admitted_total', help: 'Users admitted from waiting rooms', registers: [registry] }),
    queueDraws: new Counter({ name: 'tix_queue_draws_total', help: 'Opening draws (pre-queue shuffles) this instance made', registers: [registry] }),
    queueDrawn: new Counter({ name: 'tix_queue_drawn_total', help: 'Pre-queued users given a ticket by an opening draw here', registers: [registry] }),
    queueJournalBatch: new Histogram({
      name: 'tix_queue_journal_batch_size',
      help: 'Waiting-room rows per group commit of the default mode (no Redis): entries written or deleted in one statement',
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536],
      registers: [registry],
    }),
    queueJournalWrite: new Histogram({
      name: 'tix_queue_journal_write_seconds',
      help: 'Duration of one waiting-room group commit of the default mode (no Redis), one statement',
      buckets: LATENCY,
      registers: [registry],
    }),
    queueTickDuration: new Histogram({
      name: 'tix_queue_tick_duration_seconds',
      help: 'Time spent in one admission tick of one waiting room (store work + one broadcast)',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
