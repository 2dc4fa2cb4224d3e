/**
 * The concert and date pickers (concerts:list, concert:dates): toggle buttons
 * with aria-pressed, the price range on each concert, and badges: sold out
 * (every seat paid: the contract's definition), all held (seats may come
 * free), sale not open yet.
 */

import { DEFAULT_TIME_ZONE, formatDate, formatPriceRange } from './format.js';
import { t } from './i18n.js';
import { $ } from './ui.js';

const zoneOf = (concert) => concert?.timeZone ?? DEFAULT_TIME_ZONE;

/** A date's state from its counts: SOLD_OUT when nothing is free or held, ALL_HELD when only holds stand between. */
export function dateState(d) {
  if (d.freeSeats > 0) return 'OPEN';
  return d.heldSeats > 0 ? 'ALL_HELD' : 'SOLD_OUT';
}

function badge(kind) {
  const span = document.createElement('span');
  span.className = 'badge';
  span.dataset.kind = kind;
  span.dataset.testid = `badge-${kind}`;
  span.textContent = t(kind === 'SOLD_OUT' ? 'badge.soldOut' : kind === 'ALL_HELD' ? 'badge.allHeld' : 'badge.preQueue');
  return span;
}

function choice(testId, id, pressed, title, lines, badges, disabled = false) {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'choice';
  button.dataset.testid = testId;
  button.dataset.id = String(id);
  button.setAttribute('aria-pressed', String(pressed));
  if (disabled) button.setAttribute('aria-disabled', 'true');
  const head = document.createElement('span');
  head.className = 'choice-head';
  const strong = document.createElement('strong');
  strong.className = 'choice-title';
  strong.textContent = title;
  head.append(strong, ...badges.map(badge));
  button.append(head);
  for (const [cls, text] of lines) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    button.append(span);
  }
  li.append(button);
  return li;
}

/**
 * @param {object[]} concerts ConcertSummary with minPrice/maxPrice
 * @param {unknown} selectedId
 * @param {Set<string>} soldOut concerts known to be sold out (queue:soldout, or every date sold out)
 */
export function renderConcerts(concerts, selectedId, soldOut = new Set()) {
  const list = $('concert-list');
  if (!concerts.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = t('browse.none');
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(
    ...concerts.map((c) => {
      const tz = zoneOf(c);
      const lines = [['choice-sub', t('browse.next', { venue: c.venue, when: formatDate(c.nextDateAt, tz), count: c.availableDates })]];
      if (Number.isInteger(c.minPrice)) lines.push(['choice-price', formatPriceRange(c.minPrice, c.maxPrice)]);
      const preQueue = c.opensAt && Date.parse(c.opensAt) > Date.now();
      if (preQueue) lines.push(['choice-sub', t('browse.opens', { when: formatDate(c.opensAt, tz) })]);
      const badges = soldOut.has(String(c.id)) ? ['SOLD_OUT'] : preQueue ? ['PRE_QUEUE'] : [];
      return choice(`concert-${c.id}`, c.id, String(c.id) === String(selectedId), c.title, lines, badges);
    }),
  );
}

/**
 * @param {{title: string, timeZone?: string}} concert
 * @param {{id: unknown, startsAt: string, totalSeats: number, freeSeats: number, heldSeats: number}[]} dates
 * @param {unknown} selectedId
 * @param {boolean} inLine the user already has a place in this concert's line
 */
export function renderDates(concert, dates, selectedId, inLine) {
  $('date-panel').hidden = false;
  $('date-title').textContent = t('browse.pickDate', { title: concert.title });
  $('date-list').replaceChildren(
    ...dates.map((d) => {
      const state = dateState(d);
      const sub = state === 'OPEN' ? t('browse.free', { free: d.freeSeats, total: d.totalSeats }) : state === 'ALL_HELD' ? t('browse.allHeld') : '';
      return choice(`date-${d.id}`, d.id, String(d.id) === String(selectedId), formatDate(d.startsAt, zoneOf(concert)), sub ? [['choice-sub', sub]] : [], state === 'OPEN' ? [] : [state]);
    }),
  );
  if (!dates.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = t('browse.noDates');
    $('date-list').replaceChildren(li);
  }
  const join = /** @type {HTMLButtonElement} */ ($('join-button'));
  const selected = dates.find((d) => String(d.id) === String(selectedId));
  // A sold-out date has nothing to wait for (an all-held one may: holds lapse).
  join.disabled = !selected || dateState(selected) === 'SOLD_OUT';
  join.textContent = inLine ? t('browse.return') : t('browse.join');
}
