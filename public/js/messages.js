/**
 * Human messages for every protocol error code (PROTOCOL.md "Replies and
 * errors") plus the client's own TIMEOUT / NETWORK. `context` lets a message
 * name what the user was doing.
 */

import { formatSeatList } from './format.js';

const MESSAGES = {
  VALIDATION_FAILED: () => 'That request was not accepted. Please check what you entered and try again.',
  UNAUTHORIZED: (e) => (e.context === 'signin' ? 'Wrong name or password.' : 'Your session has ended. Please sign in again.'),
  NAME_TAKEN: () => 'That name is taken. Sign in if it is yours, or choose another.',
  QUEUE_TOKEN_INVALID: () => 'Your place in line is no longer valid (it expired or belongs to another session). Join the line again to continue.',
  QUEUE_NOT_ACTIVE: () => "It isn't your turn yet: you are still in the waiting room. You will be let in automatically.",
  FORBIDDEN: (e) => (e.context === 'signup' ? 'Sign-up is turned off on this server.' : 'That belongs to another account.'),
  NOT_FOUND: () => 'We could not find that concert, date, seat or reservation. It may no longer be on sale.',
  SEAT_UNAVAILABLE: (e) => {
    const seats = e.details && Array.isArray(e.details.seatNumbers) ? e.details.seatNumbers : [];
    const which = seats.length ? `${formatSeatList(seats)} ${seats.length === 1 ? 'was' : 'were'}` : 'Some of those seats were';
    return `${which} just taken by someone else. Nothing was held: please pick other seats.`;
  },
  HOLD_LIMIT_EXCEEDED: (e) => {
    const limit = e.details && Number.isInteger(e.details.limit) ? e.details.limit : e.limit;
    return `You can hold at most ${limit ?? 'a few'} seats for one date, counting seats you already hold or bought.`;
  },
  RESERVATION_NOT_PAYABLE: () => 'This reservation can no longer be paid: its hold expired, it was canceled, or it is already paid.',
  INSUFFICIENT_BALANCE: () => 'Your wallet balance is too low for this payment. Add funds to your wallet, then pay again.',
  IDEMPOTENCY_CONFLICT: () => 'This request clashed with an earlier one. Please try again.',
  QUEUE_FULL: () => 'The waiting room is full right now. Please try again in a minute.',
  RATE_LIMITED: () => 'You are going a little fast. Wait a moment and try again.',
  INTERNAL: () => 'Something went wrong on our side. Please try again.',
  TIMEOUT: () => 'The server did not answer in time. Check your connection; we will resume when it is back.',
  NETWORK: () => 'Cannot reach the server. Check your connection and try again.',
};

/**
 * @param {{code?: string, message?: string, details?: any}} error
 * @param {{context?: string, limit?: number}} [extra]
 */
export function describeError(error, extra = {}) {
  const code = error && error.code ? error.code : 'INTERNAL';
  const make = MESSAGES[code] ?? MESSAGES.INTERNAL;
  return make({ ...extra, details: error ? error.details : undefined });
}

export const KNOWN_CODES = Object.keys(MESSAGES);
