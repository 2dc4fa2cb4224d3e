/** Every error code a reply can carry (PROTOCOL.md, "Replies and errors"). */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'QUEUE_TOKEN_INVALID'
  | 'QUEUE_NOT_ACTIVE'
  | 'FORBIDDEN'
  | 'CHALLENGE_FAILED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NAME_TAKEN'
  | 'SEAT_UNAVAILABLE'
  | 'HOLD_LIMIT_EXCEEDED'
  | 'RESERVATION_NOT_PAYABLE'
  | 'INSUFFICIENT_BALANCE'
  | 'IDEMPOTENCY_CONFLICT'
  | 'QUEUE_FULL'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}
