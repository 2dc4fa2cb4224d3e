/** The concert and date pickers (concerts:list, concert:dates): toggle buttons with aria-pressed. */

import { formatDate } from './format.js';
import { $ } from './ui.js';

function choice(testId, id, pressed, title, sub) {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'choice';
  button.dataset.testid = testId;
  button.dataset.id = String(id);
  button.setAttribute('aria-pressed', String(pressed));
  button.innerHTML = '<strong class="choice-title"></strong><span class="choice-sub"></span>';
  button.querySelector('.choice-title').textContent = title;
  button.querySelector('.choice-sub').textContent = sub;
  li.append(button);
  return li;
}

export function renderConcerts(concerts, selectedId) {
  const list = $('concert-list');
  if (!concerts.length) {
    list.innerHTML = '<li class="muted">Nothing is on sale right now.</li>';
    return;
  }
  list.replaceChildren(
    ...concerts.map((c) =>
      choice(
        `concert-${c.id}`,
        c.id,
        String(c.id) === String(selectedId),
        c.title,
        `${c.venue} · next ${formatDate(c.nextDateAt)} · ${c.availableDates} date${c.availableDates === 1 ? '' : 's'}`,
      ),
    ),
  );
}

/**
 * @param {{title: string}} concert
 * @param {{id: unknown, startsAt: string, totalSeats: number, freeSeats: number}[]} dates
 * @param {unknown} selectedId
 * @param {boolean} inLine the user already has a place in this concert's line
 */
export function renderDates(concert, dates, selectedId, inLine) {
  $('date-panel').hidden = false;
  $('date-title').textContent = `Pick a date for ${concert.title}`;
  $('date-list').replaceChildren(
    ...dates.map((d) =>
      choice(
        `date-${d.id}`,
        d.id,
        String(d.id) === String(selectedId),
        formatDate(d.startsAt),
        d.freeSeats > 0 ? `${d.freeSeats} of ${d.totalSeats} seats free` : 'No free seats right now',
      ),
    ),
  );
  if (!dates.length) $('date-list').innerHTML = '<li class="muted">No upcoming dates.</li>';
  const join = /** @type {HTMLButtonElement} */ ($('join-button'));
  join.disabled = selectedId === null || selectedId === undefined;
  join.textContent = inLine ? 'Return to your place in line' : 'Join the waiting room';
}
