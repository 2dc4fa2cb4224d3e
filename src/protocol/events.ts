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
  /** Null while pre-queued: the opening draws it. */
  ticket: number | null;
  /** The sale's opening time. */
  opensAt: string;
  paused: boolean;
  tick: number;
  /** Null while pre-queued. */
  position: number | null;
  waiting: number;
  /** Null while pre-queued or paused. */
  etaSeconds: number | null;
  expiresAt?: string;
}

export interface QueueTick {
  concertId: number;
  tick: number;
  admitted: number;
  left: number[];
  waiting: number;
  /** Null while paused. */
  etaSecondsPerPosition: number | null;
  paused: boolean;
}

export type SaleChallenge = 'off' | 'pow';

/** A concert's sale settings (PROTOCOL.md "Sale settings, pre-queue and the operator"). */
export interface Sale {
  opensAt: string;
  admitPerTick: number;
  maxActive: number;
  activeTtlSeconds: number;
  paused: boolean;
  challenge: SaleChallenge;
}

export interface SaleStats {
  waiting: number;
  preQueued: number;
  active: number;
  admittedLastMinute: number;
  holds: number;
  sold: number;
  revenue: number;
  dates: { dateId: number; free: number; held: number; sold: number }[];
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
  'queue:status': (status: QueueStatus) => void;
  'seats:changed': (event: SeatsChanged) => void;
  'reservation:updated': (reservation: ReservationView) => void;
  /** This instance is shutting down: reconnect (to any instance) after about `reconnectInMs`. */
  'server:draining': (event: { reconnectInMs: number }) => void;
}

export type InterServerEvents = Record<string, never>;

/** One concert's live figures, pushed on the `/admin` namespace. */
export interface AdminStats {
  concertId: number;
  /** When the figures were read (ISO-8601). */
  at: string;
  stats: SaleStats;
}

/** The `/admin` namespace sends no commands: the operator's changes go through the HTTP API. */
export type AdminClientToServerEvents = Record<string, (payload: unknown, ack?: Ack) => void>;

export interface AdminServerToClientEvents {
  /** About once a second for every concert on sale. */
  'admin:stats': (event: AdminStats) => void;
}

export interface AdminSocketData {
  /** ms since epoch. */
  connectedAt: number;
}

export interface SocketData {
  userId: number;
  /** ms since epoch: which of a user's sockets is the oldest. */
  connectedAt: number;
  /** The session of the socket's access token; auth:refresh may change it (same user). */
  sessionId?: string;
}
