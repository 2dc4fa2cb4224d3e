/**
 * What survives a reload, in localStorage: the user token and, per concert,
 * the queue token (so a reload returns to the same place in line) and the
 * chosen date. Storage can be unavailable (private modes): then nothing persists.
 */

const USER_KEY = 'tix.user';
const queueKey = (concertId) => `tix.queue.${concertId}`;
const CURRENT_KEY = 'tix.current';

function read(key) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null || value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or disabled: the session still works, it just won't survive a reload
  }
}

/** @returns {{id: unknown, name: string, token: string} | null} */
export const loadUser = () => read(USER_KEY);
export const saveUser = (user) => write(USER_KEY, user);

/**
 * The queue entry of one concert.
 * @returns {{token: string, dateId: unknown, initialPosition: number} | null}
 */
export const loadQueue = (concertId) => read(queueKey(concertId));
export const saveQueue = (concertId, entry) => write(queueKey(concertId), entry);
export const forgetQueue = (concertId) => write(queueKey(concertId), null);

/** The concert the user is currently in line for (or shopping at). */
export const loadCurrent = () => read(CURRENT_KEY);
export const saveCurrent = (current) => write(CURRENT_KEY, current);

/** Concert titles seen in the listing, by id: {title, timeZone}. */
const TITLES_KEY = 'tix.titles';
export const loadTitles = () => read(TITLES_KEY) ?? {};
export const saveTitles = (titles) => write(TITLES_KEY, { ...loadTitles(), ...titles });

/** Sign out: forget the user and every queue entry. */
export function clearAll() {
  try {
    for (const key of Object.keys(localStorage)) if (key.startsWith('tix.')) localStorage.removeItem(key);
  } catch {
    // nothing to clear
  }
}
