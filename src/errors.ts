import type { ErrorBody, ErrorCode } from './protocol/errors';

export type { ErrorBody, ErrorCode } from './protocol/errors';

/** Every error code of the protocol, with its HTTP status: the one mapping. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  QUEUE_TOKEN_INVALID: 401,
  QUEUE_NOT_ACTIVE: 403,
  FORBIDDEN: 403,
  CHALLENGE_FAILED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NAME_TAKEN: 409,
  SEAT_UNAVAILABLE: 409,
  HOLD_LIMIT_EXCEEDED: 409,
  RESERVATION_NOT_PAYABLE: 409,
  INSUFFICIENT_BALANCE: 402,
  IDEMPOTENCY_CONFLICT: 409,
  QUEUE_FULL: 503,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** An expected rejection: mapped to its code, logged at info, never a stack trace on the wire. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds, for `Retry-After` on QUEUE_FULL / RATE_LIMITED / UNAVAILABLE. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** PROTOCOL.md: no error reply is larger than this, whatever the input. */
export const MAX_ERROR_BYTES = 4096;

export function toErrorBody(err: unknown): ErrorBody {
  if (!(err instanceof AppError)) return { code: 'INTERNAL', message: 'internal error' };
  const body: ErrorBody = err.details === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, details: err.details };
  // The last guard: a message or details built from a hostile input never makes a large reply.
  if (Buffer.byteLength(JSON.stringify(body)) <= MAX_ERROR_BYTES - 64) return body;
  return { code: err.code, message: err.message.slice(0, 512) };
}

export const notFound = (what: string): AppError => new AppError('NOT_FOUND', `${what} not found`);

/** A dependency is down or this instance is draining: nothing changed, try again (elsewhere) shortly. */
export const unavailable = (message: string, retryAfterSeconds = 1): AppError =>
  new AppError('UNAVAILABLE', message, { retryAfterMs: retryAfterSeconds * 1000 }, retryAfterSeconds);
