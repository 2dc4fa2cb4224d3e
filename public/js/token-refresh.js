/**
 * Keeps the access token fresh: a minute before it expires the page trades its
 * single-use refresh token for a new pair (POST /sessions/refresh) and tells
 * its socket (`auth:refresh`), so a long wait in line never runs on a dead token.
 */

import { call, refresh } from './api.js';

const EARLY_MS = 60_000;
const MIN_DELAY_MS = 5_000;

/** Milliseconds since the epoch when the JWT expires, or null when it does not say. */
export function expiresAt(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return Number.isFinite(payload.exp) ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * @param {object} deps
 * @param {() => {token: string, refreshToken: string} | null} deps.user
 * @param {(pair: {token: string, refreshToken: string}) => void} deps.save
 * @param {() => import('socket.io-client').Socket | null} deps.socket
 * @param {(err: unknown) => void} deps.fail  the session could not be renewed (revoked, expired)
 */
export function createTokenRefresher({ user, save, socket, fail }) {
  let timer;
  let running = null;

  async function renew() {
    const current = user();
    if (!current) return;
    const pair = await refresh(current.refreshToken);
    save(pair);
    const s = socket();
    if (s?.connected) await call(s, 'auth:refresh', { token: pair.token });
  }

  function schedule() {
    clearTimeout(timer);
    const current = user();
    const exp = current ? expiresAt(current.token) : null;
    if (exp === null) return;
    timer = setTimeout(() => void now().catch(fail), Math.max(MIN_DELAY_MS, exp - EARLY_MS - Date.now()));
  }

  /**
   * Renew at once (one at a time: a refresh token is single-use), then schedule
   * the next. A failure schedules nothing: retrying a spent refresh token would
   * revoke the whole session.
   */
  function now() {
    running ??= renew()
      .then(schedule)
      .finally(() => {
        running = null;
      });
    return running;
  }

  return {
    schedule,
    now,
    stop() {
      clearTimeout(timer);
    },
  };
}
