import type { Server } from 'socket.io';
import { groups } from '../protocol/groups';
import { AppError, toErrorBody, unavailable } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Authenticator } from './auth';
import type { Ack, Reply, ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../protocol/events';
import type { ClientIp } from './client-ip';
import type { AppSocket, Command, CommandContext, CommandRunner } from './command';
import type { DrainGate } from './drain-gate';
import { EncodedJson } from './encoded-json';

export type AppServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface SocketHooks {
  connected?(socket: AppSocket): void;
  disconnected?(socket: AppSocket): void;
}

export interface MountOptions {
  commands: Map<string, Command>;
  runner: CommandRunner;
  authenticator: Authenticator;
  metrics: Metrics;
  log: Logger;
  clientIp: ClientIp;
  /** A user's sockets on every instance; the oldest is closed past it. */
  maxSocketsPerUser: number;
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
  const { commands, runner, authenticator, metrics, hooks, gate } = options;
  const subscribed = options.subscribed ?? (() => Promise.resolve());
  const socketCommands = [...commands.values()].filter((c) => !c.httpOnly);

  io.use((socket, next) => {
    if (gate.draining) {
      next(new Error('UNAVAILABLE'));
      return;
    }
    const auth: unknown = socket.handshake.auth;
    const token = typeof auth === 'object' && auth !== null ? (auth as Record<string, unknown>)['token'] : undefined;
    authenticator.authenticate(token).then(
      ({ userId, sessionId }) => {
        socket.data.userId = userId;
        socket.data.sessionId = sessionId;
        socket.data.connectedAt = Date.now();
        next();
      },
      (err: unknown) => next(new Error(err instanceof AppError && err.code === 'UNAVAILABLE' ? 'UNAVAILABLE' : 'UNAUTHORIZED')),
    );
  });

  io.on('connection', (socket) => {
    // Checked before the socket is counted or tracked: from here on a revocation finds it and closes it.
    const sessionId = socket.data.sessionId;
    if (sessionId !== undefined && authenticator.isRevoked?.(sessionId)) {
      socket.disconnect(true);
      return;
    }
    const userId = socket.data.userId;
    const join = async (room: string) => {
      // A member already: joining again redoes the adapter's (and uWS's) subscription work on every command.
      if (!socket.rooms.has(room)) await socket.join(room);
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

    void ready.then(() => closeOldest(io, userId, options.maxSocketsPerUser)).catch((err: unknown) => options.log.warn({ err, userId }, 'counting the sockets of a user failed'));
    const ip = options.clientIp.of(socket.handshake.address, header(socket.handshake.headers['x-forwarded-for']));
    // One context per socket, not per command: nothing a command runs writes to it.
    const ctx: CommandContext = {
      userId,
      ip,
      // Read at each use: a session may be replaced on a live socket.
      get sessionId() {
        return socket.data.sessionId;
      },
      socket,
      join,
    };
    const run = async (command: Command, payload: unknown, ack: Ack | undefined) => {
      try {
        await ready;
        const outcome = await runner.execute(command, payload, ctx);
        // A pre-encoded reply goes out as its text (the socket parser); its toJSON is the same value.
        if (outcome.ok) ack?.(outcome.data instanceof EncodedJson ? (outcome.data.okReply() as unknown as Reply) : { ok: true, data: outcome.data });
        else ack?.({ ok: false, error: outcome.error });
      } finally {
        gate.leave();
      }
    };
    for (const command of socketCommands) {
      socket.on(command.name, (...args: unknown[]) => {
        const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
        if (!gate.enter()) {
          ack?.({ ok: false, error: toErrorBody(unavailable('this instance is shutting down; reconnect to another')) });
          return;
        }
        // A client may omit an empty payload: `emitWithAck('wallet:get')`.
        void run(command, args.length === 0 ? {} : args[0], ack);
      });
    }
    socket.onAny((event: string, ...args: unknown[]) => {
      if (commands.has(event) && !commands.get(event)?.httpOnly) return;
      const ack = args[args.length - 1];
      metrics.rejected.inc({ code: 'NOT_FOUND' });
      if (typeof ack === 'function') {
        (ack as Ack)({ ok: false, error: toErrorBody(new AppError('NOT_FOUND', `unknown event ${String(event).slice(0, 64)}`)) });
      }
    });
  });
}

/**
 * A reload or a new tab never locks a buyer out: past the cap, the user's
 * oldest sockets (on any instance) are closed, not the new one.
 */
async function closeOldest(io: AppServer, userId: number, max: number): Promise<void> {
  const sockets = await io.in(groups.user(userId)).fetchSockets();
  if (sockets.length <= max) return;
  sockets.sort((a, b) => a.data.connectedAt - b.data.connectedAt);
  for (const old of sockets.slice(0, sockets.length - max)) old.disconnect(true);
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : value);
