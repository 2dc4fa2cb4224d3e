import type { Namespace } from 'socket.io';
import { AppError, toErrorBody } from '../errors';
import type { Logger } from '../logger';
import type { AdminClientToServerEvents, AdminServerToClientEvents, AdminSocketData, AdminStats, InterServerEvents } from '../protocol/events';
import { systemClock, type Clock } from '../timers/clock';
import { Ticker } from '../timers/ticker';
import type { ClientIp } from './client-ip';
import type { DrainGate } from './drain-gate';
import type { AdminGuard } from './http-guards';
import type { AppServer } from './socket';

export type AdminNamespace = Namespace<AdminClientToServerEvents, AdminServerToClientEvents, InterServerEvents, AdminSocketData>;

export interface AdminLiveOptions {
  /** Undefined while ADMIN_TOKEN is unset: every handshake is refused with NOT_FOUND, as the HTTP routes are. */
  guard?: AdminGuard;
  gate: DrainGate;
  clientIp: ClientIp;
  /** The figures of every concert on sale, as of now. */
  stats(): Promise<AdminStats[]>;
  intervalMs: number;
  log: Logger;
  clock?: Clock;
}

export interface AdminLive {
  namespace: AdminNamespace;
  close(): Promise<void>;
}

/**
 * The operator's live view: Socket.IO namespace `/admin`, `auth: {token: ADMIN_TOKEN}`,
 * `admin:stats` per concert on sale about once a second. Each instance pushes to its own
 * operator sockets only (a local emit), reading the figures itself: an operator gets one
 * push per concert per second whichever instance it reached, no leader is needed, and an
 * instance with no operator connected reads nothing.
 */
export function mountAdminLive(io: AppServer, options: AdminLiveOptions): AdminLive {
  const { guard, gate, log } = options;
  // The server's maps type the default namespace; this one speaks its own events.
  const namespace = io.of('/admin') as unknown as AdminNamespace;

  namespace.use((socket, next) => {
    if (gate.draining) return next(new Error('UNAVAILABLE'));
    if (!guard) return next(new Error('NOT_FOUND'));
    const auth: unknown = socket.handshake.auth;
    const token = typeof auth === 'object' && auth !== null ? (auth as Record<string, unknown>)['token'] : undefined;
    const forwarded = socket.handshake.headers['x-forwarded-for'];
    const ip = options.clientIp.of(socket.handshake.address, Array.isArray(forwarded) ? forwarded.join(', ') : forwarded);
    guard.checkToken(ip, typeof token === 'string' ? token : undefined).then(
      () => {
        socket.data.connectedAt = Date.now();
        next();
      },
      (err: unknown) => next(new Error(err instanceof AppError ? err.code : 'UNAUTHORIZED')),
    );
  });

  const push = async (emit: (stats: AdminStats) => void) => {
    for (const s of await options.stats()) emit(s);
  };
  namespace.on('connection', (socket) => {
    // The first figures at once: a page opened now need not wait for the next tick.
    push((s) => socket.emit('admin:stats', s)).catch((err: unknown) => log.warn({ err }, 'admin stats for a new operator failed'));
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = args[args.length - 1];
      if (typeof ack === 'function') {
        (ack as (reply: unknown) => void)({ ok: false, error: toErrorBody(new AppError('NOT_FOUND', `unknown event ${String(event).slice(0, 64)}`)) });
      }
    });
  });

  const ticker = new Ticker(
    options.intervalMs,
    async () => {
      if (namespace.sockets.size > 0) await push((s) => namespace.local.emit('admin:stats', s));
    },
    (err) => log.warn({ err }, 'admin stats failed'),
    options.clock ?? systemClock,
  );
  ticker.start();

  return {
    namespace,
    async close() {
      await ticker.stop();
      namespace.local.disconnectSockets(true);
    },
  };
}
