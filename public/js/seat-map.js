import { formatMoney } from './format.js';
import { t } from './i18n.js';

/**
 * The live seat map of one date: a `seats:watch` snapshot plus `seats:changed`
 * deltas applied strictly in version order. A delta older than the map is
 * ignored; one that skips a version means a push was missed, and the caller
 * watches again for a fresh snapshot (deltas that arrive meanwhile are kept
 * and replayed on top of it).
 */
export class SeatMapModel {
  /** @param {{dateId: unknown, concertId: unknown, startsAt: string, version: number, seats: {number: number, grade: string, price: number, status: string}[]}} snapshot */
  constructor(snapshot) {
    this.dateId = snapshot.dateId;
    this.concertId = snapshot.concertId;
    this.startsAt = snapshot.startsAt;
    this.version = snapshot.version;
    /** @type {Map<number, {number: number, grade: string, price: number, status: string}>} */
    this.seats = new Map(snapshot.seats.map((s) => [s.number, { ...s }]));
    /** @type {Map<number, {version: number, seats: {number: number, status: string}[]}>} */
    this.pending = new Map();
  }

  /**
   * Applies a delta (and any buffered ones that follow it).
   * @returns {{kind: 'stale' | 'gap' | 'applied', changed: number[]}}
   */
  apply(delta) {
    if (delta.version <= this.version) return { kind: 'stale', changed: [] };
    if (delta.version > this.version + 1) {
      this.pending.set(delta.version, delta);
      return { kind: 'gap', changed: [] };
    }
    const changed = this.applyOne(delta);
    for (let next = this.pending.get(this.version + 1); next; next = this.pending.get(this.version + 1)) {
      this.pending.delete(next.version);
      changed.push(...this.applyOne(next));
    }
    return { kind: 'applied', changed };
  }

  /** Deltas newer than a fresh snapshot, to replay on top of it. */
  takePending() {
    const list = [...this.pending.values()].sort((a, b) => a.version - b.version);
    this.pending.clear();
    return list;
  }

  applyOne(delta) {
    const changed = [];
    for (const { number, status } of delta.seats) {
      const seat = this.seats.get(number);
      if (seat && seat.status !== status) {
        seat.status = status;
        changed.push(number);
      }
    }
    this.version = delta.version;
    return changed;
  }

  freeCount() {
    let n = 0;
    for (const seat of this.seats.values()) if (seat.status === 'FREE') n++;
    return n;
  }
}

const STATUS_WORD = { FREE: 'seat.free', HELD: 'seat.held', SOLD: 'seat.sold' };
const STATUS_ICON = { FREE: '', HELD: '◔', SOLD: '✕' };
/** Colours for grades, dearest first (styles.css: --grade-0 …); more grades than colours repeat. */
export const GRADE_COLOURS = 6;

/**
 * The grades of a map, dearest first: [{grade, price, colour}] (a grade with
 * several prices is listed once per price).
 */
export function gradesOf(model) {
  const byKey = new Map();
  for (const seat of model.seats.values()) byKey.set(`${seat.grade}|${seat.price}`, { grade: seat.grade, price: seat.price });
  return [...byKey.values()].sort((a, b) => b.price - a.price || a.grade.localeCompare(b.grade)).map((g, i) => ({ ...g, colour: i % GRADE_COLOURS }));
}

/** How one seat reads, to the eye and to a screen reader. */
export function seatView(seat, { mine, selected }) {
  const word = t(mine ? (seat.status === 'SOLD' ? 'seat.boughtByYou' : 'seat.heldByYou') : STATUS_WORD[seat.status] ?? 'seat.held');
  const icon = selected ? '✓' : mine ? '★' : STATUS_ICON[seat.status] ?? '';
  const price = seat.price !== undefined ? t('seat.price', { grade: seat.grade ?? '', price: formatMoney(seat.price) }) : '';
  return { label: `${t('seat.label', { number: seat.number, word })}${seat.status === 'FREE' ? price : ''}`, word, icon };
}

/** Columns of the hall: its shape is kept at every width (the grid scales, it never re-wraps). */
export const hallColumns = (count) => (count <= 10 ? count : count <= 100 ? 10 : count <= 400 ? 20 : 40);

/**
 * The grid of seat buttons. Buttons are created once per snapshot and updated
 * in place, so keyboard focus survives live updates. One tab stop for the
 * whole grid (roving tabindex); arrow keys, Home and End move between seats.
 */
export class SeatGrid {
  /**
   * @param {HTMLElement} container
   * @param {(number: number) => void} onToggle
   */
  constructor(container, onToggle) {
    this.container = container;
    this.onToggle = onToggle;
    this.buttons = new Map();
    this.focusNumber = null;
    container.addEventListener('click', (e) => {
      const button = e.target instanceof Element ? e.target.closest('button.seat') : null;
      if (!button) return;
      this.setFocus(Number(button.dataset.number), false);
      if (button.getAttribute('aria-disabled') !== 'true') this.onToggle(Number(button.dataset.number));
    });
    container.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** Rebuild for a new snapshot (a new date or a resync). */
  build(model, state) {
    const keepFocus = this.container.contains(document.activeElement);
    this.container.replaceChildren();
    this.container.style.setProperty('--cols', String(hallColumns(model.seats.size)));
    this.buttons.clear();
    const colour = new Map(gradesOf(model).map((g) => [`${g.grade}|${g.price}`, g.colour]));
    for (const seat of model.seats.values()) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'seat';
      button.dataset.number = String(seat.number);
      button.dataset.testid = `seat-${seat.number}`;
      button.dataset.grade = String(colour.get(`${seat.grade}|${seat.price}`) ?? 0);
      button.tabIndex = -1;
      button.innerHTML = '<span class="seat-num"></span><span class="seat-icon" aria-hidden="true"></span><span class="seat-word" aria-hidden="true"></span>';
      button.querySelector('.seat-num').textContent = String(seat.number);
      this.container.append(button);
      this.buttons.set(seat.number, button);
    }
    if (this.focusNumber === null || !this.buttons.has(this.focusNumber)) this.focusNumber = model.seats.keys().next().value ?? null;
    this.update(model, state);
    if (keepFocus) this.setFocus(this.focusNumber, true);
  }

  /** Refresh the given seats (all when omitted). */
  update(model, state, numbers = model.seats.keys()) {
    for (const number of numbers) {
      const seat = model.seats.get(number);
      const button = this.buttons.get(number);
      if (!seat || !button) continue;
      const mine = state.mine.has(number);
      const selected = state.selected.has(number);
      const view = seatView(seat, { mine, selected });
      button.dataset.status = seat.status;
      button.dataset.mine = String(mine);
      button.dataset.selected = String(selected);
      button.setAttribute('aria-label', view.label);
      button.setAttribute('aria-pressed', String(selected));
      button.setAttribute('aria-disabled', String(seat.status !== 'FREE' && !selected));
      button.title = view.label;
      // Drawn by CSS (attr()), not text: the button's visible text stays its number, which its name contains (axe).
      button.querySelector('.seat-icon').dataset.icon = view.icon;
      button.querySelector('.seat-word').dataset.word = t(selected ? 'seat.picked' : mine ? 'seat.yours' : STATUS_WORD[seat.status] ?? 'seat.held');
    }
    for (const [number, button] of this.buttons) button.tabIndex = number === this.focusNumber ? 0 : -1;
  }

  setFocus(number, move) {
    if (number === null || !this.buttons.has(number)) return;
    this.focusNumber = number;
    for (const [n, button] of this.buttons) button.tabIndex = n === number ? 0 : -1;
    if (move) this.buttons.get(number).focus();
  }

  columns() {
    const template = getComputedStyle(this.container).gridTemplateColumns;
    return Math.max(1, template.split(' ').filter(Boolean).length);
  }

  onKey(e) {
    if (!(e.target instanceof Element) || !e.target.closest('button.seat')) return;
    const numbers = [...this.buttons.keys()];
    const index = numbers.indexOf(this.focusNumber);
    const cols = this.columns();
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -index, End: numbers.length - 1 - index };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = Math.min(numbers.length - 1, Math.max(0, index + moves[e.key]));
    this.setFocus(numbers[next], true);
  }
}
