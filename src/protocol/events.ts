import type { ErrorBody } from './errors';

/** Wire shapes of PROTOCOL.md. Ids are numbers; times are ISO-8601 strings in UTC. */
export type SeatStatus = 'FREE' | 'HELD' | 'SOLD';
export type ReservationStatus = 'HELD' | 'CONFIRMED' | 'CANCELED' | 'EXPIRED';
export type QueueEntryStatus = 'WAITING' | 'ACTIVE' | 'EXPIRED';
export type ExpiryReason = 'TIMEOUT' | 'PAID' | 'IDLE' | 'LEFT';

export interface SeatView {
  number: number;
  grade: string;
  price: number;
  status: SeatStatus;
}

export interface SeatMap {
  dateId: number;
  concertId: number;
  startsAt: string;
  version: number;
  seats: SeatView[];
}

export interface ReservationView {
  id: number;
  dateId: number;
  concertId: number;
  status: ReservationStatus;
  seats: { number: number; price: number }[];
  total: number;
  expiresAt: string;
  createdAt: string;
  paidAt?: string;
}

export interface QueueStatus {
  token?: string;
  concertId: number;
  status: QueueEntryStatus;
  ticket: number;
  tick: number;
  position: number;
  waiting: number;
  etaSeconds: number;
  expiresAt?: string;
}

export interface QueueTick {
  concertId: number;
  tick: number;
  admitted: number;
  left: number[];
  waiting: number;
  etaSecondsPerPosition: number;
}

export interface SeatsChanged {
  dateId: number;
  version: number;
  seats: { number: number; status: SeatStatus }[];
  /** Server time of the commit (ms since epoch), for fan-out latency measurements. */
  at: number;
}

export type Ack = (reply: Reply) => void;
export type Reply = { ok: true; data: unknown } | { ok: false; error: ErrorBody };

/** Every client-to-server event takes one payload and an ack; payloads are `unknown` until validated. */
export type ClientToServerEvents = Record<string, (payload: unknown, ack?: Ack) => void>;

export interface ServerToClientEvents {
  'queue:tick': (tick: QueueTick) => void;
  'queue:admitted': (event: { concertId: number; expiresAt: string }) => void;
  'queue:expired': (event: { concertId: number; reason: ExpiryReason }) => void;
  'queue:soldout': (event: { concertId: number }) => void;
  'seats:changed': (event: SeatsChanged) => void;
  'reservation:updated': (reservation: ReservationView) => void;
  /** This instance is shutting down: reconnect (to any instance) after about `reconnectInMs`. */
  'server:draining': (event: { reconnectInMs: number }) => void;
}

export type InterServerEvents = Record<string, never>;

export interface SocketData {
  userId: number;
}
