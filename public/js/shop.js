/**
 * The seat view of an admitted buyer: the live seat map of one date, the
 * selection, holds with their countdown, payment and its confirmation (the
 * wallet panel is wallet.js). Every command is a socket event with an ack.
 */

import { ApiError, call, newIdempotencyKey } from './api.js';
import { describeError } from './messages.js';
import { DEFAULT_TIME_ZONE, formatCountdown, formatDate, formatMoney, formatSeatList } from './format.js';
import { t } from './i18n.js';
import { SeatGrid, SeatMapModel, gradesOf } from './seat-map.js';
import { renderReservations, showConfirmation } from './reservations-view.js';
import { createWallet } from './wallet.js';
import { $, announce, clearMessage, showMessage } from './ui.js';

/** Seconds left on a hold when the bar warns that it is about to be released. */
const WARN_AT_MS = 60_000;

const sameId = (a, b) => String(a) === String(b);
const QUEUE_CODES = new Set(['QUEUE_TOKEN_INVALID', 'QUEUE_NOT_ACTIVE']);

/**
 * @param {object} deps
 * @param {() => import('socket.io-client').Socket} deps.socket
 * @param {() => string | null} deps.queueToken
 * @param {(code: string) => void} deps.onQueueProblem  QUEUE_TOKEN_INVALID / QUEUE_NOT_ACTIVE from a seat command
 * @param {() => void} deps.onPaid                       a payment went through
 * @param {number} deps.maxSeats                         client-side cap on one selection
 */
export function createShop(deps) {
  let model = null;
  let dateId = null;
  let early = []; // deltas that arrive before the snapshot
  let watching = null; // the seats:watch in flight
  let sessionOpen = true;
  let activeUntil = null;
  let clockOffset = 0; // server clock minus ours, from fresh replies
  const selected = new Set();
  const reservations = new Map();
  const busy = new Set();
  const payKeys = new Map();
  let holding = false;
  const expiryChecked = new Set();
  let concert = null;
  let dates = [];
  let warned = null; // the hold whose 60 s warning has been given

  const grid = new SeatGrid($('seat-grid'), toggle);
  const wallet = createWallet({ run: (event, payload) => run(event, payload), fail: (err) => fail(err) });
  const now = () => Date.now() + clockOffset;
  const mySeats = () => {
    const mine = new Set();
    for (const r of reservations.values()) {
      if (sameId(r.dateId, dateId) && (r.status === 'HELD' || r.status === 'CONFIRMED')) for (const s of r.seats) mine.add(s.number);
    }
    return mine;
  };
  const state = () => ({ selected, mine: mySeats() });

  async function run(event, payload) {
    try {
      return await call(deps.socket(), event, payload);
    } catch (err) {
      if (err instanceof ApiError && QUEUE_CODES.has(err.code)) deps.onQueueProblem(err.code);
      throw err;
    }
  }

  function fail(err, extra) {
    showMessage(describeError(err, { limit: deps.maxSeats, ...extra }));
  }

  // ---- seat map -------------------------------------------------------------

  async function watch() {
    if (watching) return watching;
    const forDate = dateId;
    watching = (async () => {
      try {
        const snapshot = await run('seats:watch', { dateId: forDate, queueToken: deps.queueToken() });
        if (!sameId(forDate, dateId)) return;
        const replay = [...early, ...(model && sameId(model.dateId, forDate) ? model.takePending() : [])];
        early = [];
        model = new SeatMapModel(snapshot);
        replay.sort((a, b) => a.version - b.version).forEach((d) => model.apply(d));
        model.takePending(); // a hole left after the snapshot: the next delta resyncs
        grid.build(model, state());
        renderGrades();
        pruneSelection();
        renderSide();
      } catch (err) {
        if (!(err instanceof ApiError && QUEUE_CODES.has(err.code))) fail(err);
      } finally {
        watching = null;
      }
    })();
    return watching;
  }

  function onSeatsChanged(delta) {
    if (!sameId(delta.dateId, dateId)) return;
    if (!model || watching) {
      early.push(delta);
      return;
    }
    const result = model.apply(delta);
    if (result.kind === 'gap') {
      void watch(); // missed a change set: fresh snapshot, then replay what is buffered
      return;
    }
    if (result.kind !== 'applied') return;
    grid.update(model, state(), result.changed);
    pruneSelection();
    renderSelection();
  }

  /** Selected seats someone else just took leave the selection, with a word why. */
  function pruneSelection() {
    const lost = [...selected].filter((n) => model && model.seats.get(n)?.status !== 'FREE');
    if (!lost.length) return;
    for (const n of lost) selected.delete(n);
    grid.update(model, state(), lost);
    announce(t('seat.lost', { list: formatSeatList(lost), count: lost.length }));
  }

  function toggle(number) {
    if (!model || !sessionOpen) return;
    const seat = model.seats.get(number);
    if (!seat) return;
    if (selected.has(number)) selected.delete(number);
    else if (seat.status !== 'FREE') return;
    else if (selected.size + heldCount() >= deps.maxSeats) {
      showMessage(describeError({ code: 'HOLD_LIMIT_EXCEEDED' }, { limit: deps.maxSeats }));
      return;
    } else selected.add(number);
    grid.update(model, state(), [number]);
    renderSelection();
    announce(t('seat.selectedAnnounce', { number, what: t(selected.has(number) ? 'seat.selectedWord' : 'seat.unselectedWord'), count: selected.size }));
  }

  const heldCount = () => mySeats().size;

  // ---- holds and payment ------------------------------------------------------

  async function hold() {
    if (!selected.size || holding) return;
    const seatNumbers = [...selected].sort((a, b) => a - b);
    holding = true;
    renderSelection();
    clearMessage();
    try {
      const r = await run('seats:hold', { dateId, seatNumbers, queueToken: deps.queueToken() });
      clockOffset = Date.parse(r.createdAt) - Date.now();
      reservations.set(String(r.id), r);
      for (const n of seatNumbers) selected.delete(n);
      announce(t('res.held', { seats: formatSeatList(seatNumbers), countdown: formatCountdown(Date.parse(r.expiresAt) - now()) }));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'SEAT_UNAVAILABLE' && Array.isArray(err.details?.seatNumbers)) {
        for (const n of err.details.seatNumbers) selected.delete(n);
      }
      if (!(err instanceof ApiError && QUEUE_CODES.has(err.code))) fail(err);
    } finally {
      holding = false;
      if (model) grid.update(model, state());
      renderSide();
    }
  }

  async function pay(id) {
    const r = reservations.get(String(id));
    if (!r || busy.has(String(id))) return;
    // One key per payment attempt: a retry after a lost answer cannot pay twice.
    const key = payKeys.get(String(id)) ?? newIdempotencyKey();
    payKeys.set(String(id), key);
    busy.add(String(id));
    renderSide();
    clearMessage();
    try {
      const result = await run('payment:pay', { reservationId: r.id, queueToken: deps.queueToken(), idempotencyKey: key });
      payKeys.delete(String(id));
      reservations.set(String(result.reservation.id), result.reservation);
      wallet.set(result.balance);
      showConfirmation(result);
      announce(t('confirm.announce', { seats: formatSeatList(result.reservation.seats.map((s) => s.number)) }));
      deps.onPaid();
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'TIMEOUT')) payKeys.delete(String(id)); // a definite answer: next try is a new request
      if (!(err instanceof ApiError && QUEUE_CODES.has(err.code))) fail(err);
      if (err instanceof ApiError && err.code === 'RESERVATION_NOT_PAYABLE') void loadReservations();
    } finally {
      busy.delete(String(id));
      if (model) grid.update(model, state());
      renderSide();
    }
  }

  async function cancel(id) {
    if (busy.has(String(id))) return;
    busy.add(String(id));
    renderSide();
    clearMessage();
    try {
      const r = await run('reservation:cancel', { reservationId: reservations.get(String(id))?.id ?? id });
      reservations.set(String(r.id), r);
      announce(t('res.canceled', { seats: formatSeatList(r.seats.map((s) => s.number)) }));
    } catch (err) {
      fail(err);
    } finally {
      busy.delete(String(id));
      if (model) grid.update(model, state());
      renderSide();
    }
  }

  async function loadReservations() {
    try {
      const { reservations: list } = await run('reservations:mine', {});
      for (const r of list) reservations.set(String(r.id), r);
      if (model) grid.update(model, state());
      renderSide();
    } catch (err) {
      fail(err);
    }
  }

  // ---- rendering --------------------------------------------------------------------

  const zone = () => concert?.timeZone ?? DEFAULT_TIME_ZONE;
  /** This date's unpaid holds, the one that runs out first first. */
  const openHolds = () =>
    [...reservations.values()].filter((r) => sameId(r.dateId, dateId) && r.status === 'HELD').sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt));

  function renderSelection() {
    const numbers = [...selected].sort((a, b) => a - b);
    const total = numbers.reduce((sum, n) => sum + (model?.seats.get(n)?.price ?? 0), 0);
    $('selection-summary').textContent = numbers.length
      ? t('bar.selection', { seats: formatSeatList(numbers), total: formatMoney(total) })
      : t('bar.none', { more: Math.max(0, deps.maxSeats - heldCount()) });
    const button = /** @type {HTMLButtonElement} */ ($('hold-button'));
    button.disabled = !numbers.length || holding || !sessionOpen;
    button.textContent = holding ? t('bar.holding') : numbers.length ? t('bar.hold', { count: numbers.length }) : t('bar.holdNone');
    const live = t(sessionOpen ? 'seats.live' : 'seats.ended');
    $('seats-subtitle').textContent = model ? t('seats.subtitle', { free: model.freeCount(), total: model.seats.size, live }) : t('seats.loading');
    const option = model ? [.../** @type {HTMLSelectElement} */ ($('date-select')).options].find((o) => o.value === String(dateId)) : undefined;
    if (option) option.textContent = t('seats.option', { when: formatDate(model.startsAt, zone()), free: model.freeCount() });
    renderAvailability();
  }

  /** Nothing free: say whether that is for good (sold out) or for now (held, may come free). */
  function renderAvailability() {
    const note = $('all-held');
    const free = model ? model.freeCount() : 1;
    const held = model ? [...model.seats.values()].some((seat) => seat.status === 'HELD') : false;
    note.hidden = free > 0;
    note.dataset.kind = held ? 'ALL_HELD' : 'SOLD_OUT';
    note.textContent = free > 0 ? '' : t(held ? 'seats.allHeld' : 'seats.soldOut');
  }

  function renderGrades() {
    const list = $('grade-legend');
    list.replaceChildren(
      ...(model ? gradesOf(model) : []).map((g) => {
        const li = document.createElement('li');
        const swatch = document.createElement('span');
        swatch.className = 'seat-swatch';
        swatch.dataset.status = 'FREE';
        swatch.dataset.grade = String(g.colour);
        swatch.setAttribute('aria-hidden', 'true');
        const text = document.createElement('span');
        text.textContent = `${g.grade} ${formatMoney(g.price)}`;
        li.append(swatch, ' ', text);
        return li;
      }),
    );
  }

  /** The sticky bar's hold part: the first hold to run out, its countdown, Pay, and the 60 s warning. */
  function renderBar() {
    const hold = sessionOpen ? openHolds()[0] : undefined;
    const pay = /** @type {HTMLButtonElement} */ ($('pay-button'));
    $('bar-timer').hidden = !hold;
    pay.hidden = !hold;
    if (!hold) {
      $('hold-warning').hidden = true;
      return;
    }
    pay.dataset.id = String(hold.id);
    pay.textContent = t('bar.pay', { total: formatMoney(hold.total) });
    pay.disabled = busy.has(String(hold.id));
    const left = Date.parse(hold.expiresAt) - now();
    $('hold-countdown').textContent = left > 0 ? formatCountdown(left) : t('bar.releasing');
    const warn = left <= WARN_AT_MS;
    $('hold-warning').hidden = !warn;
    $('hold-warning').textContent = warn ? t('bar.warning') : '';
    document.querySelector('.sticky-bar')?.setAttribute('data-warning', String(warn));
    if (warn && warned !== String(hold.id)) {
      warned = String(hold.id);
      announce(t('bar.warning'));
    }
    if (left <= 0 && !expiryChecked.has(String(hold.id))) {
      // A hold past its time: the server releases it and pushes the change; ask once if it did not.
      expiryChecked.add(String(hold.id));
      setTimeout(() => {
        if (reservations.get(String(hold.id))?.status === 'HELD') void loadReservations();
      }, 2000);
    }
  }

  function renderSide() {
    renderActiveTime();
    renderSelection();
    renderBar();
    const list = [...reservations.values()].filter((r) => sameId(r.dateId, dateId)).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    renderReservations($('reservation-list'), list.slice(0, 6), { busy: (id) => busy.has(String(id)) });
    $('reservations-empty').hidden = list.length > 0;
  }

  function renderActiveTime() {
    $('active-time').textContent = sessionOpen && activeUntil ? t('seats.timeLeft', { countdown: formatCountdown(Date.parse(activeUntil) - now()) }) : '';
  }

  function everySecond() {
    if (document.body.dataset.view !== 'seats') return;
    renderActiveTime();
    renderBar();
  }
  setInterval(everySecond, 1000);

  function renderHead() {
    $('seats-title').textContent = concert ? concert.title : t('seats.title');
    const select = /** @type {HTMLSelectElement} */ ($('date-select'));
    select.replaceChildren(
      ...dates.map((d) => new Option(t('seats.option', { when: formatDate(d.startsAt, zone()), free: d.freeSeats }), String(d.id), false, sameId(d.id, dateId))),
    );
  }

  // ---- wiring --------------------------------------------------------------------

  $('hold-button').addEventListener('click', () => void hold());
  $('pay-button').addEventListener('click', (e) => {
    const button = /** @type {HTMLButtonElement} */ (e.currentTarget);
    if (!button.disabled && button.dataset.id) void pay(button.dataset.id);
  });
  $('reservation-list').addEventListener('click', (e) => {
    const button = e.target instanceof Element ? e.target.closest('button[data-action]') : null;
    if (!(button instanceof HTMLButtonElement) || button.disabled) return;
    if (button.dataset.action === 'cancel') void cancel(button.dataset.id);
  });

  return {
    /** Open the seat view for one date of the concert (also on reconnect: a fresh snapshot). */
    async enter({ concert: shown, dates: known, dateId: chosen, expiresAt }) {
      concert = shown ?? concert;
      dates = known ?? dates;
      const changed = !sameId(chosen, dateId);
      if (changed && dateId !== null) void call(deps.socket(), 'seats:unwatch', { dateId }).catch(() => undefined);
      if (changed) {
        model = null;
        early = [];
        selected.clear();
        $('seat-grid').replaceChildren();
      }
      dateId = chosen;
      sessionOpen = true;
      activeUntil = expiresAt ?? activeUntil;
      $('session-ended').hidden = true;
      $('confirmation').hidden = true;
      renderHead();
      renderSide();
      await Promise.all([watch(), loadReservations(), wallet.load()]);
    },
    onSeatsChanged,
    onReservationUpdated(r) {
      const before = reservations.get(String(r.id));
      reservations.set(String(r.id), r);
      if (before && before.status === 'HELD' && r.status === 'EXPIRED') {
        announce(t('res.expired', { seats: formatSeatList(r.seats.map((s) => s.number)) }));
      }
      if (model) grid.update(model, state());
      renderSide();
    },
    /** The queue entry ended (paid, timed out, left): no more holds or payments with it. */
    endSession(text) {
      sessionOpen = false;
      selected.clear();
      $('session-ended-text').textContent = text;
      $('session-ended').hidden = false;
      if (model) grid.update(model, state());
      renderSide();
    },
    leave() {
      if (dateId !== null && deps.socket()?.connected) void call(deps.socket(), 'seats:unwatch', { dateId }).catch(() => undefined);
      dateId = null;
      model = null;
      early = [];
    },
    get dateId() {
      return dateId;
    },
    /** The language changed: every text this view wrote. */
    redraw() {
      renderHead();
      if (model) {
        grid.update(model, state());
        renderGrades();
      }
      renderSide();
      wallet.render();
    },
  };
}
