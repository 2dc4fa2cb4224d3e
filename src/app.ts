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
import { createMetrics } from './metrics';
import { mountSocket, type AppServer, type SocketHooks } from './handlers/socket';
import { Tokens } from './tokens';
import { catalogCommands } from './handlers/catalog';
import type { Engine } from './server/engine';
import { createNodeEngine } from './server/node-engine';
import { createUwsEngine, loadUws } from './server/uws-engine';
import type { Services } from './services';
import { createQueueModule } from './modules/queue';
import { createWallet } from './handlers/wallet';
import { createSocketPush } from './handlers/socket-push';
import { staticFiles } from './handlers/static-files';
import { bearerOf, sameSecret } from './handlers/http-guards';
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
  /** Stop accepting, finish in-flight commands, close sockets. The database is the caller's. */
  close(): Promise<void>;
}

/** http + socket.io + rooms, without listening: tests listen on port 0. */
export function createApp(deps: AppDeps): App {
  const { config, log, db, redis } = deps;
  const metrics = createMetrics();
  timePoolWaits(db.sequelize, (s) => metrics.poolWait.observe({ pool: 'main' }, s));
  timePoolWaits(db.commits, (s) => metrics.poolWait.observe({ pool: 'commits' }, s));
  const tokens = new Tokens(deps.jwtSecret, config.accessTokenTtlSeconds);
  const services: Services = { config, log, db, tokens, metrics, catalog: new CatalogRepository(db) };

  // A socket message past MAX_SOCKET_MESSAGE_BYTES closes that socket (engine.io, both engines): the
  // largest accepted message bounds the work one event can cost.
  const io: AppServer = new Server({ serveClient: true, perMessageDeflate: false, transports: ['websocket', 'polling'], maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES });
  // Several instances: pushes reach sockets on every instance through Redis sharded pub/sub
  // (Redis 7): a date's, a user's or a queue's pushes go only to instances with members of that
  // room. Sockets' own rooms share the main channel (nothing pushes to one socket id across
  // instances), which spares a SSUBSCRIBE per connection.
  // Commands issued in one tick share one write: the queue checks, leases, RPC and publishes
  // of a busy instance are thousands per second, and a syscall each was a quarter of its CPU.
  const shared = redis?.duplicate({ enableAutoPipelining: true });
  const subscriber = redis?.duplicate({ enableAutoPipelining: false });
  if (shared && subscriber) {
    io.adapter(createShardedAdapter(shared, subscriber, { subscriptionMode: 'dynamic', channelPrefix: `${config.redisPrefix}sio` }));
  }
  // The adapter subscribes a room's channel when its first member joins, without waiting. A PING
  // behind that SSUBSCRIBE on the same connection answers once Redis has it: after this, every
  // push to the room reaches the socket (a snapshot read next cannot miss a delta).
  const subscribed = subscriber ? () => subscriber.ping().then(() => undefined) : () => Promise.resolve();
  const budgets = new Budgets({ perUserPerSecond: config.rateLimitPerUser, perIpPerMinute: config.rateLimitPerIp, redis: shared, prefix: config.redisPrefix });
  const accounts = createAccountsModule({ config, log: log.child({ component: 'accounts' }), db, tokens, redis: shared, logins: budgets });
  const push = createSocketPush(io);
  const sale = createSaleModule({ config, log, db, catalog: services.catalog, redis: shared });
  const queue = createQueueModule({ config, log: log.child({ component: 'waiting-room' }), metrics, tokens, catalog: services.catalog, sales: sale.book, push, io, redis: shared, secret: deps.jwtSecret });
  const wallet = createWallet({ config, db, log });
  const seats = createSeatModule({ config, db, log, metrics, push, io, gate: queue.gate, wallet: wallet.service, catalog: services.catalog, redis: shared });

  const commands = new Map<string, Command>();
  for (const command of [...accounts.commands, ...catalogCommands(services), ...queue.commands, ...wallet.commands, ...seats.commands, ...sale.commands((id) => queue.counts(id))]) {
    if (commands.has(command.name)) throw new Error(`command ${command.name} declared twice`);
    commands.set(command.name, command);
  }
  const runner = new CommandRunner(log, metrics, budgets);
  const clientIp = new ClientIp(config.trustProxy);
  const hooks: SocketHooks[] = [accounts.hooks, queue.hooks];
  mountSocket(io, { commands, runner, authenticator: accounts.authenticator, metrics, log, clientIp, maxSocketsPerUser: config.maxSocketsPerUser, hooks, subscribed });

  const raw = new Map<string, RawHandler>([
    ['/health', () => health(db, redis)],
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
  const http = new HttpApi({ commands, runner, authenticator: accounts.authenticator, adminToken: config.adminToken, clientIp, log, metrics, raw });
  const engine = pickEngine(config, io, (req) => http.handle(req), log);

  return {
    engine,
    io,
    services,
    seats,
    commands,
    async listen(port = config.port, host = config.host) {
      await accounts.start();
      const recovered = await seats.start();
      if (recovered > 0) log.info({ dates: recovered }, 'reopened dates with unpaid holds');
      return engine.listen(port, host);
    },
    async close() {
      await engine.close();
      await queue.close();
      await seats.close();
      await sale.close();
      await accounts.close();
      await io.close().catch(() => undefined);
      if (shared && subscriber) await Promise.all([shared.quit(), subscriber.quit()]).catch(() => undefined);
    },
  };
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

async function health(db: Database, redis?: Redis) {
  try {
    await db.sequelize.query('SELECT 1');
    if (redis) await redis.ping();
    return json(200, { status: 'ok' });
  } catch {
    return json(503, { status: 'unavailable' });
  }
}
