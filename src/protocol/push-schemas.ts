import type { AdminServerToClientEvents, ServerToClientEvents } from './events';

/**
 * JSON Schemas of the server-to-client events, for the AsyncAPI document and
 * for tests that check real pushes against it. Keyed by the typed event map:
 * a push event added to ServerToClientEvents without a schema here fails
 * typecheck, and the spec test validates received pushes against these.
 */
export interface PushSchema {
  /** Who receives it (PROTOCOL.md, "Socket.IO events"). */
  to: string;
  payload: Record<string, unknown>;
}

const id = { type: 'integer', minimum: 1 } as const;
const time = { type: 'string', format: 'date-time' } as const;
const seatStatus = { type: 'string', enum: ['FREE', 'HELD', 'SOLD'] } as const;

export const reservationSchema = {
  type: 'object',
  required: ['id', 'dateId', 'concertId', 'status', 'seats', 'total', 'expiresAt', 'createdAt'],
  properties: {
    id,
    dateId: id,
    concertId: id,
    status: { type: 'string', enum: ['HELD', 'CONFIRMED', 'CANCELED', 'EXPIRED'] },
    seats: {
      type: 'array',
      items: { type: 'object', required: ['number', 'price'], properties: { number: { type: 'integer' }, price: { type: 'integer' } } },
    },
    total: { type: 'integer' },
    expiresAt: time,
    createdAt: time,
    paidAt: time,
  },
} as const;

export const PUSH_SCHEMAS: Record<keyof ServerToClientEvents, PushSchema> = {
  'queue:tick': {
    to: 'everyone waiting for the concert, one broadcast per tick',
    payload: {
      type: 'object',
      required: ['concertId', 'tick', 'admitted', 'left', 'waiting', 'etaSecondsPerPosition', 'paused'],
      properties: {
        concertId: id,
        tick: { type: 'integer', minimum: 0, description: 'grows by one per tick of this concert' },
        admitted: { type: 'integer', minimum: 0, description: 'tickets up to this one are admitted' },
        left: { type: 'array', items: { type: 'integer' }, description: 'tickets that left or expired this tick' },
        waiting: { type: 'integer', minimum: 0 },
        etaSecondsPerPosition: { type: ['number', 'null'], minimum: 0, description: 'null while paused' },
        paused: { type: 'boolean', description: 'admissions paused by the operator' },
      },
    },
  },
  'queue:admitted': {
    to: 'the admitted user',
    payload: { type: 'object', required: ['concertId', 'expiresAt'], properties: { concertId: id, expiresAt: time } },
  },
  'queue:expired': {
    to: 'the user whose entry ended',
    payload: {
      type: 'object',
      required: ['concertId', 'reason'],
      properties: { concertId: id, reason: { type: 'string', enum: ['TIMEOUT', 'PAID', 'IDLE', 'LEFT'] } },
    },
  },
  'queue:status': {
    to: 'one pre-queued user, when the sale opens',
    payload: {
      type: 'object',
      required: ['concertId', 'status', 'ticket', 'opensAt', 'paused', 'tick', 'position', 'waiting', 'etaSeconds'],
      properties: {
        token: { type: 'string' },
        concertId: id,
        status: { type: 'string', enum: ['WAITING', 'ACTIVE', 'EXPIRED'] },
        ticket: { type: ['integer', 'null'], description: 'the place drawn at the opening; null while pre-queued' },
        opensAt: time,
        paused: { type: 'boolean' },
        tick: { type: 'integer', minimum: 0 },
        position: { type: ['integer', 'null'], minimum: 0 },
        waiting: { type: 'integer', minimum: 0 },
        etaSeconds: { type: ['number', 'null'], minimum: 0 },
        expiresAt: time,
      },
    },
  },
  'queue:soldout': {
    to: 'every waiting user of the concert',
    payload: { type: 'object', required: ['concertId'], properties: { concertId: id } },
  },
  'seats:changed': {
    to: 'every socket watching the date',
    payload: {
      type: 'object',
      required: ['dateId', 'version', 'seats', 'at'],
      properties: {
        dateId: id,
        version: { type: 'integer', minimum: 0, description: 'equals the SeatMap version after this change' },
        seats: {
          type: 'array',
          description: 'only the seats that changed',
          items: { type: 'object', required: ['number', 'status'], properties: { number: { type: 'integer' }, status: seatStatus } },
        },
        at: { type: 'integer', description: 'server time of the commit, ms since epoch' },
      },
    },
  },
  'reservation:updated': { to: 'every socket of the owner', payload: reservationSchema },
  'server:draining': {
    to: 'every socket of an instance that is shutting down',
    payload: {
      type: 'object',
      required: ['reconnectInMs'],
      properties: { reconnectInMs: { type: 'integer', minimum: 0, description: 'reconnect (to any instance) after about this long; the place in line is kept' } },
    },
  },
};

const count = { type: 'integer', minimum: 0 } as const;

/** Pushes of the operator's `/admin` namespace (PROTOCOL.md "Sale settings, pre-queue and the operator"). */
export const ADMIN_PUSH_SCHEMAS: Record<keyof AdminServerToClientEvents, PushSchema> = {
  'admin:stats': {
    to: 'every operator socket, about once a second for every concert on sale',
    payload: {
      type: 'object',
      required: ['concertId', 'at', 'stats'],
      properties: {
        concertId: id,
        at: time,
        stats: {
          type: 'object',
          required: ['waiting', 'preQueued', 'active', 'admittedLastMinute', 'holds', 'sold', 'revenue', 'dates'],
          properties: {
            waiting: count,
            preQueued: { ...count, description: 'joined before the opening, waiting for the draw' },
            active: count,
            admittedLastMinute: count,
            holds: { ...count, description: 'seats held and not paid' },
            sold: { ...count, description: 'seats sold' },
            revenue: { ...count, description: "sum of the sold seats' prices, in won" },
            dates: {
              type: 'array',
              description: 'the dates not started yet, soonest first',
              items: {
                type: 'object',
                required: ['dateId', 'free', 'held', 'sold'],
                properties: { dateId: id, free: count, held: count, sold: count },
              },
            },
          },
        },
      },
    },
  },
};
