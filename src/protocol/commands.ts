import type { ErrorBody } from './errors';
import type { QueueStatus, ReservationView, SeatMap, ServerToClientEvents } from './events';

/** The waiting room's proof-of-work challenge (ALTCHA format), as GET /queue/challenge hands it out. */
export interface QueueChallenge {
  algorithm: string;
  challenge: string;
  salt: string;
  signature: string;
  maxnumber: number;
}

export interface ConcertSummary {
  id: number;
  title: string;
  venue: string;
  nextDateAt: string;
  availableDates: number;
  /** The sale's opening time: its stored setting, else the concert's creation. */
  opensAt: string;
  /** The cheapest and dearest seat of the future dates, in won: the buyer's page shows the range on the concert's card. */
  minPrice: number;
  maxPrice: number;
}

export interface DateSummary {
  id: number;
  startsAt: string;
  totalSeats: number;
  freeSeats: number;
  heldSeats: number;
}

export interface WalletEntry {
  id: number;
  kind: 'CHARGE' | 'PAYMENT' | 'REFUND';
  /** Positive; `kind` gives the direction. */
  amount: number;
  balanceAfter: number;
  at: string;
}

export interface PaymentReceipt {
  payment: { id: number; amount: number; at: string };
  reservation: ReservationView;
  balance: number;
}

type Nothing = Record<string, never>;

/**
 * Every client-to-server Socket.IO event of PROTOCOL.md: what it takes and the
 * `data` of its successful ack. The server validates payloads with its own
 * schemas; this map is what clients are typed with.
 */
export interface ClientCommands {
  'queue:challenge': { payload: { concertId: number }; data: { challenge: QueueChallenge } };
  'queue:join': { payload: { concertId: number; solution?: string }; data: QueueStatus & { token: string } };
  'auth:refresh': { payload: { token: string }; data: Nothing };
  'queue:status': { payload: { queueToken: string }; data: QueueStatus };
  'queue:leave': { payload: { queueToken: string }; data: Nothing };
  'concerts:list': { payload: Nothing; data: { concerts: ConcertSummary[] } };
  'concert:dates': { payload: { concertId: number }; data: { dates: DateSummary[] } };
  'seats:watch': { payload: { dateId: number; queueToken: string }; data: SeatMap };
  'seats:unwatch': { payload: { dateId: number }; data: Nothing };
  'seats:hold': { payload: { dateId: number; seatNumbers: number[]; queueToken: string }; data: ReservationView };
  'reservation:cancel': { payload: { reservationId: number }; data: ReservationView };
  'reservations:mine': { payload: Nothing; data: { reservations: ReservationView[] } };
  'wallet:charge': { payload: { amount: number; idempotencyKey?: string }; data: { balance: number } };
  'wallet:get': { payload: Nothing; data: { balance: number; history: WalletEntry[] } };
  'payment:pay': { payload: { reservationId: number; queueToken: string; idempotencyKey?: string }; data: PaymentReceipt };
}

export type CommandName = keyof ClientCommands;
export type CommandPayload<E extends CommandName> = ClientCommands[E]['payload'];
export type CommandData<E extends CommandName> = ClientCommands[E]['data'];
export type CommandReply<E extends CommandName> = { ok: true; data: CommandData<E> } | { ok: false; error: ErrorBody };

/** The map socket.io-client is typed with: each command carries its payload and an ack. */
export type ClientEmitEvents = { [E in CommandName]: (payload: CommandPayload<E>, ack: (reply: CommandReply<E>) => void) => void };

/** The same events the other way, for a client's `socket.on`. */
export type ClientListenEvents = ServerToClientEvents;

/**
 * The command names at run time (a test compares them with what the server
 * mounts); a name missing here or one too many fails to compile.
 */
export const commandNames = Object.keys({
  'queue:challenge': true,
  'queue:join': true,
  'auth:refresh': true,
  'queue:status': true,
  'queue:leave': true,
  'concerts:list': true,
  'concert:dates': true,
  'seats:watch': true,
  'seats:unwatch': true,
  'seats:hold': true,
  'reservation:cancel': true,
  'reservations:mine': true,
  'wallet:charge': true,
  'wallet:get': true,
  'payment:pay': true,
} satisfies Record<CommandName, true>) as CommandName[];
