import type { HttpResult } from './server';

/** What PROTOCOL.md says replies and pushes look like, as jest matchers and assertions on the whole value. */

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function matcher(name: string, test: (v: unknown) => boolean): any {
  return { asymmetricMatch: test, toAsymmetricMatcher: () => name, toString: () => name };
}
/** Ids are opaque: numbers or strings, echoed as received. */
export const anId = () => matcher('Id', (v) => (Number.isSafeInteger(v) && (v as number) > 0) || (typeof v === 'string' && v.length > 0));
export const anInt = (min = 0) => matcher(`Integer>=${min}`, (v) => Number.isSafeInteger(v) && (v as number) >= min);
export const nonNegative = () => matcher('Number>=0', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
export const isoTime = () => matcher('ISO-8601 UTC', (v) => typeof v === 'string' && ISO_UTC.test(v) && !Number.isNaN(Date.parse(v)));

/** A whole Reservation, times as ISO-8601 UTC; `paidAt` only when `paid`. */
export function reservation(r: {
  id?: unknown;
  dateId: unknown;
  concertId: unknown;
  status: string;
  seats: { number: number; price: number }[];
  total: number;
  paid?: boolean;
}) {
  return {
    id: r.id ?? anId(),
    dateId: r.dateId,
    concertId: r.concertId,
    status: r.status,
    seats: r.seats,
    total: r.total,
    expiresAt: isoTime(),
    createdAt: isoTime(),
    ...(r.paid ? { paidAt: isoTime() } : {}),
  };
}

/** A whole SeatMap at any version. */
export function seatMap(dateId: unknown, concertId: unknown, startsAt: string, seats: { number: number; grade: string; price: number; status: string }[]) {
  return { dateId, concertId, startsAt, version: anInt(0), seats };
}

/** Seats 1..count of one grade and price, FREE unless `status` says otherwise. */
export function freeSeats(count: number, price: number, grade = 'GENERAL', status: (n: number) => string = () => 'FREE') {
  return Array.from({ length: count }, (_, i) => ({ number: i + 1, grade, price, status: status(i + 1) }));
}

/** Sale settings (PROTOCOL.md "Sale settings"), with the values given and any others well-formed. */
export function saleShape(over: Record<string, unknown> = {}) {
  return { opensAt: isoTime(), admitPerTick: anInt(1), maxActive: anInt(1), activeTtlSeconds: anInt(1), paused: false, challenge: 'off', ...over };
}

/** QueueStatus, exactly: `token` required (join), optional (status), or absent. */
export function expectQueueStatus(s: any, concertId: unknown, status: 'WAITING' | 'ACTIVE' | 'EXPIRED', token: 'required' | 'optional' = 'optional'): void {
  const keys = ['concertId', 'status', 'ticket', 'opensAt', 'paused', 'tick', 'position', 'waiting', 'etaSeconds'];
  if (token === 'required' || (token === 'optional' && s !== null && typeof s === 'object' && 'token' in s)) keys.push('token');
  if (status === 'ACTIVE') keys.push('expiresAt');
  expect(Object.keys(s ?? {}).sort()).toEqual(keys.sort());
  expect(s).toEqual({
    ...(keys.includes('token') ? { token: expect.any(String) } : {}),
    concertId,
    status,
    ticket: anInt(1),
    opensAt: isoTime(),
    paused: false,
    tick: anInt(0),
    position: status === 'WAITING' ? anInt(1) : 0,
    waiting: anInt(0),
    etaSeconds: status === 'WAITING' ? nonNegative() : 0,
    ...(status === 'ACTIVE' ? { expiresAt: isoTime() } : {}),
  });
  if (status === 'WAITING') expect(s.position).toBeLessThanOrEqual(s.waiting);
}

/** ErrorBody {code, message, details?}, with no stack trace leaked. */
export function expectErrorBody(error: any, code: string): void {
  expect(error?.code).toBe(code);
  expect(typeof error.message).toBe('string');
  expect(Object.keys(error).every((k) => ['code', 'message', 'details'].includes(k))).toBe(true);
  if ('details' in error) expect(typeof error.details).toBe('object');
  expect(JSON.stringify(error)).not.toMatch(/\n\s+at |\bat .*\.(ts|js):\d+/);
}

export function expectHttpError(res: HttpResult<any>, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(res.body)).toEqual(['error']);
  expectErrorBody(res.body.error, code);
  expect(res.headers.get('content-type') ?? '').toMatch(/application\/json/);
}

export function expectAckError(ack: any, code: string): void {
  expect({ ok: ack?.ok, code: ack?.error?.code }).toEqual({ ok: false, code });
  expect(Object.keys(ack).sort()).toEqual(['error', 'ok']);
  expectErrorBody(ack.error, code);
}

/** Asserts {ok: true, data} and nothing else; returns the data. */
export function expectAckOk(ack: any): any {
  expect(ack?.error).toBeUndefined();
  expect(Object.keys(ack ?? {}).sort()).toEqual(['data', 'ok']);
  expect(ack.ok).toBe(true);
  return ack.data;
}

/** seats:changed = {dateId, version, seats}; `at` (ms since epoch) is docs/api.md's documented addition. */
export function expectSeatsChanged(event: any, dateId: unknown, version: number, seats: { number: number; status: string }[]): void {
  const { at, ...rest } = event ?? {};
  if (at !== undefined) expect(typeof at).toBe('number');
  expect(rest).toEqual({ dateId, version, seats });
}
