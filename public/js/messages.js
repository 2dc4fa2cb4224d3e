/**
 * Human messages for every protocol error code (PROTOCOL.md "Replies and
 * errors") plus the client's own TIMEOUT / NETWORK, in the page's language.
 * `context` lets a message name what the user was doing.
 */

import { formatSeatList } from './format.js';
import { DICTIONARIES, t } from './i18n.js';

/**
 * @param {{code?: string, message?: string, details?: any}} error
 * @param {{context?: string, limit?: number}} [extra]
 */
export function describeError(error, extra = {}) {
  const code = error && error.code && `err.${error.code}` in DICTIONARIES.en ? error.code : 'INTERNAL';
  const details = error ? error.details : undefined;
  if (extra.context && `err.${code}.${extra.context}` in DICTIONARIES.en) return t(`err.${code}.${extra.context}`);
  if (code === 'SEAT_UNAVAILABLE') {
    const seats = details && Array.isArray(details.seatNumbers) ? details.seatNumbers : [];
    return t('err.SEAT_UNAVAILABLE', { seats: seats.length ? formatSeatList(seats) : t('err.SEAT_UNAVAILABLE.some'), count: seats.length || 2 });
  }
  if (code === 'HOLD_LIMIT_EXCEEDED') {
    const limit = details && Number.isInteger(details.limit) ? details.limit : extra.limit;
    return t('err.HOLD_LIMIT_EXCEEDED', { limit: limit ?? '?' });
  }
  return t(`err.${code}`);
}

export const KNOWN_CODES = Object.keys(DICTIONARIES.en).filter((k) => k.startsWith('err.') && k.split('.').length === 2).map((k) => k.slice(4));
