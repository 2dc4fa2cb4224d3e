/** Every error code a reply can carry (PROTOCOL.md, "Replies and errors"). */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHORIZED'
  | 'QUEUE_TOKEN_INVALID'
  | 'QUEUE_NOT_ACTIVE'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'SEAT_UNAVAILABLE'
  | 'HOLD_LIMIT_EXCEEDED'
  | 'RESERVATION_NOT_PAYABLE'
  | 'INSUFFICIENT_BALANCE'
  | 'IDEMPOTENCY_CONFLICT'
  | 'QUEUE_FULL'
  | 'RATE_LIMITED'
  | 'INTERNAL';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}
