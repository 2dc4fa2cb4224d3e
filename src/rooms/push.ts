import type { ServerToClientEvents } from '../protocol/events';

/**
 * How rooms reach clients, without knowing socket.io. Each call is one
 * broadcast to a group (encoded once; on uWS one C++ publish), and reaches
 * sockets on every instance when the Redis adapter is installed.
 */
export interface Push {
  toUser<E extends keyof ServerToClientEvents>(userId: number, event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  toDate<E extends keyof ServerToClientEvents>(dateId: number, event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  toQueue<E extends keyof ServerToClientEvents>(concertId: number, event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
}
