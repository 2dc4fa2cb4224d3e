import type { Socket } from 'socket.io-client';
import { TicketClient } from '../../src/client';
import { client } from './clients';
import { activeToken } from './queue';
import { signup, type TestUser } from './server';

/** A user admitted to a concert's seats (ACTIVE queue token) with a connected socket, on `server`. */
export interface Buyer<S extends { url: string } = { url: string }> extends TestUser {
  server: S;
  queueToken: string;
  socket: Socket;
  /** The typed client on the same socket. */
  client: TicketClient;
}

export interface BuyerOptions {
  /** Charged to the wallet before the buyer is returned. */
  balance?: number;
  /** How long admission may take (a cluster admits in small batches). */
  admitTimeoutMs?: number;
}

/** Signs up, waits until ACTIVE in the concert's waiting room, connects (closed by closeClients()). */
export async function buyer<S extends { url: string }>(server: S, concertId: number, options: BuyerOptions = {}): Promise<Buyer<S>> {
  const user = await signup(server);
  const queueToken = await activeToken(server, user, concertId, options.admitTimeoutMs);
  const socket = await client(server, user.token);
  const typed = new TicketClient(socket);
  if (options.balance) expect(await typed.charge(options.balance)).toMatchObject({ ok: true });
  return { ...user, server, queueToken, socket, client: typed };
}

/** seats:hold over the buyer's socket; the ack as received (loosely typed: tests read `data` of either outcome). */
export function hold(b: Buyer, dateId: number, seatNumbers: number[], timeoutMs = 20_000): Promise<any> {
  return new TicketClient(b.client.socket, timeoutMs).hold(b.queueToken, dateId, seatNumbers);
}

/** payment:pay over the buyer's socket; the ack as received. */
export function pay(b: Buyer, reservationId: number, idempotencyKey?: string): Promise<any> {
  return b.client.pay(b.queueToken, reservationId, idempotencyKey);
}
