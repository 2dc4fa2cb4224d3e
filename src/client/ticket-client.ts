import type { CommandName, CommandPayload, CommandReply } from '../protocol/commands';
import { connect, send, type ConnectOptions, type TicketSocket } from './socket';
import { WaitingLine } from './waiting-line';

/**
 * A buyer's connection: every command typed by the protocol's map, and the
 * steps of a purchase (join the line, hold, pay). Commands resolve with the
 * ack as received ({ok, data} or {ok: false, error}); only a missing ack
 * rejects (AckTimeout).
 *
 *   const session = await signUp(url, 'ada', 'correct horse battery');
 *   const client = await TicketClient.connect(url, session.token);
 *   const line = await client.joinLine(concertId);
 *   await line.whenActive();
 *   const held = await client.hold(line.queueToken, dateId, [7, 8]);
 *   if (held.ok) await client.pay(line.queueToken, held.data.id);
 */
export class TicketClient {
  constructor(
    readonly socket: TicketSocket,
    readonly ackTimeoutMs = 20_000,
  ) {}

  /** Rejects with the server's reason (`UNAUTHORIZED`) when the token is refused. */
  static async connect(url: string, token: string, options: ConnectOptions & { ackTimeoutMs?: number } = {}): Promise<TicketClient> {
    const { ackTimeoutMs, ...socketOptions } = options;
    return new TicketClient(await connect(url, token, socketOptions), ackTimeoutMs);
  }

  send<E extends CommandName>(event: E, payload: CommandPayload<E>): Promise<CommandReply<E>> {
    return send(this.socket, event, payload, this.ackTimeoutMs);
  }

  /** Joins the concert's waiting room (solving the door's challenge if asked); rejects with LineError. */
  joinLine(concertId: number): Promise<WaitingLine> {
    return WaitingLine.join(this.socket, concertId, this.ackTimeoutMs);
  }

  hold(queueToken: string, dateId: number, seatNumbers: number[]): Promise<CommandReply<'seats:hold'>> {
    return this.send('seats:hold', { dateId, seatNumbers, queueToken });
  }

  /** A retry with the same `idempotencyKey` answers the first payment again and pays nothing more. */
  pay(queueToken: string, reservationId: number, idempotencyKey?: string): Promise<CommandReply<'payment:pay'>> {
    return this.send('payment:pay', { reservationId, queueToken, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
  }

  charge(amount: number, idempotencyKey?: string): Promise<CommandReply<'wallet:charge'>> {
    return this.send('wallet:charge', { amount, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
  }

  close(): void {
    this.socket.close();
  }
}
