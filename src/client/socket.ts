import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { ClientEmitEvents, ClientListenEvents, CommandName, CommandPayload, CommandReply } from '../protocol/commands';

/** A socket.io-client socket typed both ways with the protocol's events. */
export type TicketSocket = Socket<ClientListenEvents, ClientEmitEvents>;

export type ConnectOptions = Partial<ManagerOptions & SocketOptions>;

/** No ack came in time: the command may or may not have run (retry with an idempotency key). */
export class AckTimeout extends Error {
  constructor(readonly event: string, readonly timeoutMs: number) {
    super(`no ack for ${event} within ${timeoutMs} ms`);
    this.name = 'AckTimeout';
  }
}

/**
 * Opens a socket as PROTOCOL.md advises: WebSocket only (no sticky sessions
 * needed behind a load balancer), the access token in `auth`, and no
 * automatic reconnection unless asked (a reconnect must ask queue:status
 * again). Rejects with the server's reason: `UNAUTHORIZED` for a bad token.
 */
export function connect(url: string, token?: string, options: ConnectOptions = {}): Promise<TicketSocket> {
  return new Promise((resolve, reject) => {
    const socket: TicketSocket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: token === undefined ? {} : { token }, ...options });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Sends one command and resolves with its ack as received; rejects with AckTimeout. */
export async function send<E extends CommandName>(socket: TicketSocket, event: E, payload: CommandPayload<E>, timeoutMs = 20_000): Promise<CommandReply<E>> {
  // socket.io's emit types cannot follow a generic event name; ClientEmitEvents is what checks callers.
  const timed = socket.timeout(timeoutMs) as unknown as { emitWithAck(event: string, payload: unknown): Promise<CommandReply<E>> };
  try {
    return await timed.emitWithAck(event, payload);
  } catch {
    throw new AckTimeout(event, timeoutMs);
  }
}
