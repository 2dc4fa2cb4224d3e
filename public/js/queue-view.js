/**
 * The waiting room: position, people waiting, ETA and progress, redrawn from
 * the tracker's entry. The ETA is shown only once admissions have been seen
 * (`entry.measured`): before that the server's figure is its configured
 * ceiling, not a measurement, and "less than 10 seconds" would be a promise
 * nobody made.
 */

import { $, announce } from './ui.js';
import { formatCountdown, formatEta, formatTime } from './format.js';
import { t } from './i18n.js';

let lastAnnounced = { position: null, at: 0 };

/**
 * @param {{status: string, position: number | null, waiting: number, etaSeconds: number | null, ticket: number | null, opensAt?: string, paused?: boolean, soldOut?: boolean, measured?: boolean}} entry
 * @param {number} initialPosition the position when the user joined (for the progress bar)
 * @param {string} concertLabel
 * @param {string} timeZone the venue's
 */
export function renderQueue(entry, initialPosition, concertLabel, timeZone) {
  $('queue-concert').textContent = concertLabel;
  document.body.dataset.prequeue = String(entry.status === 'WAITING' && entry.ticket === null);
  // Pre-queued: no place yet; it is drawn at random among everyone here at the opening.
  if (entry.status === 'WAITING' && entry.ticket === null) {
    const opens = formatTime(entry.opensAt, timeZone);
    $('queue-position').textContent = '–';
    $('queue-waiting').textContent = '–';
    $('queue-eta').textContent = t('queue.opens', { when: opens });
    $('queue-ticket').textContent = t('queue.drawn');
    $('queue-state').textContent = t('queue.preQueue', { when: opens });
    renderOpening(entry);
    return;
  }
  const position = Math.max(entry.status === 'WAITING' ? 1 : 0, entry.position);
  const waiting = Math.max(entry.waiting, entry.status === 'WAITING' ? position : 0);
  $('queue-position').textContent = entry.status === 'WAITING' ? String(position) : '–';
  $('queue-waiting').textContent = String(waiting);
  const eta = entry.measured ? formatEta(entry.etaSeconds) : t('queue.measuring');
  $('queue-eta').textContent = entry.status !== 'WAITING' ? t('queue.now') : entry.paused ? t('queue.paused') : eta;
  $('queue-ticket').textContent = `#${entry.ticket}`;

  const start = Math.max(initialPosition || position, position);
  // Joined at position p, now at q: (p - q) / p of the way; 100% once admitted.
  const percent = entry.status !== 'WAITING' ? 100 : Math.round(((start - position) / start) * 100);
  const progress = /** @type {HTMLProgressElement} */ ($('queue-progress'));
  progress.value = percent;
  progress.setAttribute('aria-valuetext', t('queue.progressText', { percent }));
  $('queue-progress-text').textContent = `${percent}%`;

  const state = $('queue-state');
  if (entry.status === 'ACTIVE') state.textContent = t('queue.yourTurn');
  else if (entry.soldOut) state.textContent = t('queue.soldOut');
  else if (position === 1) state.textContent = t('queue.next');
  else state.textContent = t('queue.ahead', { count: position - 1 });
  state.dataset.soldout = String(Boolean(entry.soldOut));

  // Announce the position when it changes, at most every 10 s (and always at the front).
  const now = Date.now();
  if (entry.status === 'WAITING' && position !== lastAnnounced.position && (now - lastAnnounced.at > 10_000 || position <= 1)) {
    announce(t('queue.announce', { position, eta }));
    lastAnnounced = { position, at: now };
  }
}

/** The pre-queue's countdown to the opening, in the state line's own element (redrawn every second by the caller). */
export function renderOpening(entry) {
  const left = Date.parse(entry.opensAt) - Date.now();
  $('queue-progress-text').textContent = left > 0 ? t('queue.opensIn', { countdown: formatCountdown(left) }) : '…';
  const progress = /** @type {HTMLProgressElement} */ ($('queue-progress'));
  progress.value = 0;
  progress.setAttribute('aria-valuetext', $('queue-progress-text').textContent);
}
