import type { Socket } from 'socket.io-client';
import { connect } from '../../src/client';

/** Sockets opened through client(); jest loads this module once per test file. */
const open: Socket[] = [];

/**
 * A connected socket.io client (the typed client's connect(): WebSocket only)
 * that closeClients() closes. Typed loosely, so tests can also send what the
 * protocol forbids; `new TicketClient(socket)` gives the typed commands.
 */
export async function client(server: { url: string }, token: string): Promise<Socket> {
  const socket: Socket = await connect(server.url, token);
  open.push(socket);
  return socket;
}

/** Closes every socket client() opened; files call it after each test. */
export function closeClients(): void {
  while (open.length) open.pop()?.close();
}

/** Emits with an ack; rejects if no ack arrives within `timeoutMs`. */
export function ask(socket: Socket, event: string, payload?: unknown, timeoutMs = 20_000): Promise<any> {
  const s = socket.timeout(timeoutMs);
  return payload === undefined ? s.emitWithAck(event) : s.emitWithAck(event, payload);
}

/** Every `event` payload the socket receives from now on, in order. */
export function record<T = any>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

/**
 * A barrier instead of a sleep: one acked command on `socket`. socket.io
 * delivers in order on one connection, so every push the server sent this
 * socket before answering has arrived when this resolves; "no push came" can
 * then be asserted without waiting for time to pass. (Through the Redis
 * adapter a push from another instance is not ordered with the answer.)
 */
export async function roundTrip(socket: Socket): Promise<void> {
  await ask(socket, 'wallet:get', {});
}
