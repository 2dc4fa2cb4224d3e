import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import type { Config } from './config';
import type { Logger } from './logger';
import { timePoolWaits, type Database } from './models/database';
import { CatalogRepository } from './models/catalog-repository';
import { CommandRunner, type Command } from './handlers/command';
import { Budgets } from './handlers/budgets';
import { ClientIp } from './handlers/client-ip';
import { HttpApi, MAX_SOCKET_MESSAGE_BYTES, json, ROUTES, type RawHandler } from './handlers/http';
import { apiDocs } from './handlers/api-docs';
import { DrainGate } from './handlers/drain-gate';
import { Dependencies, type Dependency } from './dependencies';
import { healthRoutes } from './handlers/health';
import { createMetrics } from './metrics';
import { mountSocket, type AppServer, type SocketHooks } from './handlers/socket';
import { explainedAuthenticator } from './handlers/auth';
import { Tokens } from './tokens';
import { catalogCommands } from './handlers/catalog';
import type { Engine } from './server/engine';
import { createNodeEngine } from './server/node-engine';
import { createUwsEngine, loadUws } from './server/uws-engine';
import { socketParser } from './server/socket-parser';
import type { Services } from './services';
import { createQueueModule } from './modules/queue';
import { createWallet } from './handlers/wallet';
import { createSocketPush } from './handlers/socket-push';
import { staticFiles } from './handlers/static-files';
import { AdminGuard, bearerOf, sameSecret } from './handlers/http-guards';
import { mountAdminLive } from './handlers/admin-live';
import { createLiveStats } from './modules/live-stats';
import { createSeatModule, type SeatModule } from './modules/seats';
import { createSaleModule } from './modules/sale';
import { createAccountsModule } from './modules/accounts';

export interface AppDeps {
  config: Config;
  log: Logger;
  db: Database;
  /** Present when REDIS_URL is set: shared queue store and cross-instance fan-out. */
  redis?: Redis;
  jwtSecret: string;
}

export interface App {
  engine: Engine;
  io: AppServer;
  services: Services;
  seats: SeatModule;
  /** Every mounted command by name: what REST, Socket.IO and the generated specs expose. */
  commands: ReadonlyMap<string, Command>;
  listen(port?: number, host?: string): Promise<number>;
  /** Counts commands in flight; draining once close() began. */
  gate: DrainGate;
  /**
   * Drain, then close: refuse new connections and commands (UNAVAILABLE), tell every socket
   * `server:draining`, let the commands already received finish (at most SHUTDOWN_GRACE_MS),
   * then stop the rooms and close the sockets. The database and Redis are the caller's.
   */
  close(): Promise<void>;
}

/** PROTOCOL.md: `admin:stats` about once a second. */
const ADMIN_STATS_INTERVAL_MS = 1000;

/** http + socket.io + rooms, without listening: tests listen on port 0. */
export function createApp(deps: AppDeps): App {
  const { config, log, db, redis } = deps;
  const metrics = createMetrics();
  timePoolWaits(db.sequelize, (s) => metrics.poolWait.observe({ pool: 'main' }, s));
  timePoolWaits(db.commits, (s) => metrics.poolWait.observe({ pool: 'commits' }, s));
  timePoolWaits(db.keys, (s) => metrics.poolWait.observe({ pool: 'keys' }, s));
  timePoolWaits(db.journal, (s) => metrics.poolWait.observe({ pool: 'journal' }, s));
  const tokens = new Tokens(deps.jwtSecret, config.accessTokenTtlSeconds);
  const services: Services = { config, log, db, tokens, metrics, catalog: new CatalogRepository(db) };

  // A socket message past MAX_SOCKET_MESSAGE_BYTES closes that socket (engine.io, both engines): the
  // largest accepted message bounds the work one event can cost. The parser sends a pre-encoded
  // reply (a seat map) as its text instead of encoding it again for each socket.
  const io: AppServer = new Server({ serveClient: true, perMessageDeflate: false, transports: ['websocket', 'polling'], maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES, parser: socketParser });
  // Several instances: pushes reach sockets on every instance through Redis sharded pub/sub
  // (Redis 7): a date's, a user's or a queue's pushes go only to instances with members of that
  // room. Sockets' own rooms share the main channel (nothing pushes to one socket id across
  // instances), which spares a SSUBSCRIBE per connection.
  // Commands issued in one tick share one write: the queue checks, leases, RPC and publishes
  // of a busy instance are thousands per second, and a syscall each was a quarter of its CPU.
  const shared = redis?.duplicate({ enableAutoPipelining: true });
  // No retry limit: a room subscribed while Redis is down waits for it in the offline queue, so it is
  // live again when Redis returns (ioredis re-subscribes only what had succeeded).
  const subscriber = redis?.duplicate({ enableAutoPipelining: false, maxRetriesPerRequest: null });
  if (shared && subscriber) {
    ownSubscribeFailures(subscriber);
    io.adapter(createShardedAdapter(shared, subscriber, { subscriptionMode: 'dynamic', channelPrefix: `${config.redisPrefix}sio` }));
  }
  let clusterJoined = !redis;
  const dependencies = new Dependencies({
    log,
    probePostgres: () => db.sequelize.query('SELECT 1'),
    redis: shared && subscriber ? [shared, subscriber] : [],
    redisStarted: () => clusterJoined,
  });
  // The adapter subscribes a room's channel when its first member joins, without waiting. A PING
  // behind that SSUBSCRIBE on the same connection answers once Redis has it: after this, every
  // push to the room reaches the socket (a snapshot read next cannot miss a delta). Not forever:
  // with Redis down the command goes on, and answers UNAVAILABLE if it needs Redis.
  const subscribed = subscriber ? () => withinMs(subscriber.ping(), 500) : () => Promise.resolve();
  const budgets = new Budgets({ perUserPerSecond: config.rateLimitPerUser, perIpPerMinute: config.rateLimitPerIp, redis: shared, prefix: config.redisPrefix });
  const accounts = createAccountsModule({ config, log: log.child({ component: 'accounts' }), db, tokens, redis: shared, logins: budgets });
  const push = createSocketPush(io);
  const sale = createSaleModule({ config, log, db, catalog: services.catalog, redis: shared });
  const queue = createQueueModule({ config, log: log.child({ component: 'waiting-room' }), metrics, tokens, catalog: services.catalog, sales: sale.book, push, io, db, redis: shared, secret: deps.jwtSecret });
  const wallet = createWallet({ config, db, log });
  const seats = createSeatModule({ config, db, log, metrics, push, io, gate: queue.gate, wallet: wallet.service, catalog: services.catalog, redis: shared });

  const commands = new Map<string, Command>();
  for (const command of [...accounts.commands, ...catalogCommands(services), ...queue.commands, ...wallet.commands, ...seats.commands, ...sale.commands((id) => queue.counts(id))]) {
    if (commands.has(command.name)) throw new Error(`command ${command.name} declared twice`);
    commands.set(command.name, command);
  }
  // With Redis, the waiting room and the seats (queue store, date ownership, forwarding) need it.
  const needsRedis = new Set(redis ? [...queue.commands, ...seats.commands].map((c) => c.name) : []);
  const runner = new CommandRunner(log, metrics, {
    budgets,
    dependencies: { dependencies, needs: (command): Dependency[] => (needsRedis.has(command.name) ? ['postgres', 'redis'] : ['postgres']) },
  });
  const clientIp = new ClientIp(config.trustProxy);
  const gate = new DrainGate();
  const hooks: SocketHooks[] = [accounts.hooks, queue.hooks];
  const authenticator = explainedAuthenticator(accounts.authenticator, (err) => dependencies.explain(err, ['postgres']));
  mountSocket(io, { commands, runner, authenticator, metrics, log, clientIp, maxSocketsPerUser: config.maxSocketsPerUser, hooks, subscribed, gate });
  // One guard for the admin routes and the /admin handshake: failed guesses count once per address.
  const adminGuard = config.adminToken ? new AdminGuard(config.adminToken) : undefined;
  const adminLive = mountAdminLive(io, {
    guard: adminGuard,
    gate,
    clientIp,
    stats: createLiveStats({ catalog: services.catalog, queueCounts: (id) => queue.counts(id), seatMap: (id) => seats.seatMap(id) }),
    intervalMs: ADMIN_STATS_INTERVAL_MS,
    log: log.child({ component: 'admin-live' }),
  });

  const raw = new Map<string, RawHandler>([
    ...healthRoutes({ db, redis, gate, dependencies }),
    [
      '/metrics',
      async (req) => {
        // METRICS_TOKEN set: /metrics (internals of this instance) needs it as a bearer token.
        if (config.metricsToken && !sameSecret(bearerOf(req.headers['authorization']), config.metricsToken)) {
          metrics.rejected.inc({ code: 'UNAUTHORIZED' });
          return json(401, { error: { code: 'UNAUTHORIZED', message: 'metrics token required' } });
        }
        return { status: 200, headers: { 'content-type': metrics.registry.contentType }, body: await metrics.registry.metrics() };
      },
    ],
    ...staticFiles(),
    ...apiDocs(ROUTES, commands).handlers,
  ]);
  const http = new HttpApi({ commands, runner, authenticator, adminToken: config.adminToken, adminGuard, clientIp, log, metrics, raw, gate });
  const engine = pickEngine(config, io, (req) => http.handle(req), log);

  let closing: Promise<void> | undefined;
  let joining: Promise<void> | undefined;
  const drainAndClose = async (): Promise<void> => {
    const started = Date.now();
    const draining = gate.drain(config.shutdownGraceMs);
    // Spread the reconnects: every socket of this instance arrives at the others at once otherwise.
    // Local only: with the Redis adapter, io.emit would tell every instance's sockets.
    io.local.emit('server:draining', { reconnectInMs: 500 + Math.floor(Math.random() * 1000) });
    const finished = await draining;
    log.info({ finished, unanswered: gate.pending, drainMs: Date.now() - started }, 'drained');
    await joining;
    await engine.close();
    await adminLive.close();
    await queue.close();
    await seats.close();
    await sale.close();
    await accounts.close();
    await closeSocketsGently(io);
    await io.close().catch(() => undefined);
    dependencies.close();
    if (shared && subscriber) await Promise.all([shared.quit(), subscriber.quit()]).catch(() => undefined);
  };

  return {
    engine,
    io,
    services,
    seats,
    commands,
    gate,
    async listen(port = config.port, host = config.host) {
      const startSeats = async () => {
        const recovered = await seats.start();
        if (recovered > 0) log.info({ dates: recovered }, 'reopened dates with unpaid holds');
        clusterJoined = true;
      };
      await accounts.start();
      try {
        await startSeats();
      } catch (err) {
        // With Redis down at start the instance serves what needs PostgreSQL only (seat and queue
        // commands answer UNAVAILABLE) and joins the cluster once Redis answers.
        if (!redis) throw err;
        joining = retryUntil(startSeats, () => closing !== undefined, log, err);
      }
      return engine.listen(port, host);
    },
    close() {
      closing ??= drainAndClose();
      return closing;
    },
  };
}

/**
 * io.close() drops each connection with whatever it has not written yet, acks included: close them
 * first the gentle way (each after its pending packets), waiting a second at most.
 */
async function closeSocketsGently(io: AppServer): Promise<void> {
  io.local.disconnectSockets(true);
  const deadline = Date.now() + 1000;
  while (io.engine.clientsCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** After `failure`, runs `attempt` a second apart until it succeeds or `stopped()`. */
async function retryUntil(attempt: () => Promise<void>, stopped: () => boolean, log: Logger, failure: unknown): Promise<void> {
  log.error({ err: failure }, 'cannot join the cluster (Redis unavailable); seat and queue commands answer UNAVAILABLE until it answers');
  for (let tries = 2; !stopped(); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      await attempt();
      log.warn({ tries }, 'joined the cluster: Redis answers');
      return;
    } catch {
      // still down: the first failure was logged
    }
  }
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
async function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * The socket.io Redis adapter fires SSUBSCRIBE / SUNSUBSCRIBE without handling their promises: one
 * that fails (Redis down, or closed at shutdown) would be an unhandled rejection, which ends the
 * process. The failure is harmless here: the subscription waits in the offline queue meanwhile.
 */
function ownSubscribeFailures(client: Redis): void {
  for (const name of ['ssubscribe', 'sunsubscribe'] as const) {
    const original = client[name].bind(client) as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(client, name, {
      value: (...args: unknown[]) => {
        const sent = original(...args);
        sent.catch(() => undefined);
        return sent;
      },
    });
  }
}

function pickEngine(config: Config, io: AppServer, handle: (req: import('./handlers/http').HttpRequest) => Promise<import('./handlers/http').HttpResponse>, log: Logger): Engine {
  if (config.wsEngine !== 'node') {
    const loaded = loadUws();
    if ('uws' in loaded) return createUwsEngine(loaded.uws, loaded.description, io, handle);
    if (config.wsEngine === 'uws') throw new Error(`WS_ENGINE=uws but uWebSockets.js does not load: ${loaded.error}`);
    log.warn({ reason: loaded.error }, 'uWebSockets.js does not load here; using node:http');
  }
  return createNodeEngine(io, handle);
}
