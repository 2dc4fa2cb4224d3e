/**
 * The typed Node client of the ticketing server (built to dist/client): the
 * load generator and the tests drive the server through it. It speaks only
 * the wire contract (src/protocol) and needs socket.io-client.
 */
export type * from '../protocol/commands';
export type * from '../protocol/events';
export type { ErrorBody, ErrorCode } from '../protocol/errors';
export { commandNames } from '../protocol/commands';
export { AckTimeout, connect, send, type ConnectOptions, type TicketSocket } from './socket';
export { HttpError, request, type HttpReply, type RequestOptions } from './http';
export { refresh, signIn, signUp, type Session } from './session';
export { LineError, WaitingLine, joinQueue } from './waiting-line';
export { TicketClient } from './ticket-client';
export { QueuePosition, type QueueTracker, type TrackedEntry } from './queue-position';
export { solveChallenge } from './solve-challenge';
