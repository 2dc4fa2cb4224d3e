import type { Server } from 'socket.io';
import { groups } from '../protocol/groups';
import { AppError, toErrorBody, unavailable } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Tokens } from '../tokens';
import type { Ack, ClientToServerEvents, InterServerEvents, Reply, ServerToClientEvents, SocketData } from '../protocol/events';
import type { AppSocket, Command, CommandRunner } from './command';
import type { DrainGate } from './drain-gate';

export type AppServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface SocketHooks {
  connected?(socket: AppSocket): void;
  disconnected?(socket: AppSocket): void;
}

export interface MountOptions {
  commands: Map<string, Command>;
  runner: CommandRunner;
  tokens: Tokens;
  metrics: Metrics;
  log: Logger;
  /** Commands per second per socket; bursts of twice that pass. */
  rateLimit: number;
  hooks: SocketHooks[];
  /** Resolves once the room subscriptions asked for so far are live on every instance's path (Redis). */
  subscribed?: () => Promise<void>;
  /** Counts commands in flight; refuses new connections and commands while draining. */
  gate: DrainGate;
}

/**
 * Handshake auth, then every command event mounted once per socket. Each
 * event acks exactly once; an event without an ack callback still runs; an
 * unknown event, a non-object payload or a flood never throws.
 */
export function mountSocket(io: AppServer, options: MountOptions): void {
  const { commands, runner, tokens, metrics, hooks, gate } = options;
  const subscribed = options.subscribed ?? (() => Promise.resolve());
  const socketCommands = [...commands.values()].filter((c) => !c.httpOnly);

  io.use((socket, next) => {
    if (gate.draining) {
      next(new Error('UNAVAILABLE'));
      return;
    }
    try {
      const auth: unknown = socket.handshake.auth;
      const token = typeof auth === 'object' && auth !== null ? (auth as Record<string, unknown>)['token'] : undefined;
      socket.data.userId = tokens.verifyUser(token);
      next();
    } catch {
      next(new Error('UNAUTHORIZED'));
    }
  });

  io.on('connection', (socket) => {
    const userId = socket.data.userId;
    const join = async (room: string) => {
      await socket.join(room);
      await subscribed();
    };
    // Commands wait for the user's room: an admission or a reservation push it triggers must reach this socket.
    const ready = join(groups.user(userId)).catch(() => undefined);
    metrics.connectedSockets.inc();
    for (const hook of hooks) hook.connected?.(socket);
    socket.on('disconnect', () => {
      metrics.connectedSockets.dec();
      for (const hook of hooks) hook.disconnected?.(socket);
    });

    const bucket = new TokenBucket(options.rateLimit, options.rateLimit * 2);
    for (const command of socketCommands) {
      socket.on(command.name, (...args: unknown[]) => {
        const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
        const reply = (r: Reply) => ack?.(r);
        if (!bucket.take()) {
          reply({ ok: false, error: toErrorBody(new AppError('RATE_LIMITED', 'too many commands; slow down')) });
          return;
        }
        if (!gate.enter()) {
          reply({ ok: false, error: toErrorBody(unavailable('this instance is shutting down; reconnect to another')) });
          return;
        }
        // A client may omit an empty payload: `emitWithAck('wallet:get')`.
        const payload = args.length === 0 ? {} : args[0];
        void ready
          .then(() => runner.execute(command, payload, { userId, socket, join }))
          .then((outcome) => reply(outcome.ok ? { ok: true, data: outcome.data } : { ok: false, error: outcome.error }))
          .finally(() => gate.leave());
      });
    }
    socket.onAny((event: string, ...args: unknown[]) => {
      if (commands.has(event) && !commands.get(event)?.httpOnly) return;
      const ack = args[args.length - 1];
      if (typeof ack === 'function') {
        (ack as Ack)({ ok: false, error: toErrorBody(new AppError('NOT_FOUND', `unknown event ${String(event).slice(0, 64)}`)) });
      }
    });
  });
}

/** Per-socket flood control; refills continuously. */
class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
