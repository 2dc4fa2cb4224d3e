/** The waiting room: position, people waiting, ETA and progress, redrawn from the tracker's entry. */

import { $, announce } from './ui.js';
import { formatEta } from './format.js';

let lastAnnounced = { position: null, at: 0 };

/**
 * @param {{status: string, position: number | null, waiting: number, etaSeconds: number | null, ticket: number | null, opensAt?: string, paused?: boolean}} entry
 * @param {number} initialPosition the position when the user joined (for the progress bar)
 */
export function renderQueue(entry, initialPosition, concertLabel) {
  $('queue-concert').textContent = concertLabel;
  // Pre-queued: no place yet; it is drawn at random among everyone here at the opening.
  if (entry.status === 'WAITING' && entry.ticket === null) {
    const opens = new Date(entry.opensAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    $('queue-position').textContent = '–';
    $('queue-waiting').textContent = '–';
    $('queue-eta').textContent = `opens ${opens}`;
    $('queue-ticket').textContent = 'drawn at the opening';
    $('queue-state').textContent = `The line opens at ${opens}; your place is drawn at random among everyone here at the opening.`;
    return;
  }
  const position = Math.max(entry.status === 'WAITING' ? 1 : 0, entry.position);
  const waiting = Math.max(entry.waiting, entry.status === 'WAITING' ? position : 0);
  $('queue-position').textContent = entry.status === 'WAITING' ? String(position) : '–';
  $('queue-waiting').textContent = String(waiting);
  $('queue-eta').textContent = entry.status !== 'WAITING' ? 'now' : entry.paused ? 'paused' : formatEta(entry.etaSeconds);
  $('queue-ticket').textContent = `#${entry.ticket}`;

  const start = Math.max(initialPosition || position, position);
  // Joined at position p, now at q: (p - q) / p of the way; 100% once admitted.
  const percent = entry.status !== 'WAITING' ? 100 : Math.round(((start - position) / start) * 100);
  const progress = /** @type {HTMLProgressElement} */ ($('queue-progress'));
  progress.value = percent;
  progress.setAttribute('aria-valuetext', `${percent}% of the way to the front`);
  $('queue-progress-text').textContent = `${percent}%`;

  const state = $('queue-state');
  if (entry.status === 'ACTIVE') state.textContent = 'It is your turn! Opening the seat map…';
  else if (entry.soldOut) state.textContent = 'Every seat is held or sold right now. You keep your place: if a hold lapses, seats come back.';
  else if (position === 1) state.textContent = 'You are next in line.';
  else state.textContent = `${position - 1} ${position - 1 === 1 ? 'person is' : 'people are'} ahead of you.`;
  state.dataset.soldout = String(Boolean(entry.soldOut));

  // Announce the position when it changes, at most every 10 s (and always at the front).
  const now = Date.now();
  if (entry.status === 'WAITING' && position !== lastAnnounced.position && (now - lastAnnounced.at > 10_000 || position <= 1)) {
    announce(`You are number ${position} in line. Estimated wait ${formatEta(entry.etaSeconds)}.`);
    lastAnnounced = { position, at: now };
  }
}
