/**
 * The seat view of an admitted buyer: the live seat map of one date, the
 * selection, holds with their countdown, payment and its confirmation (the
 * wallet panel is wallet.js). Every command is a socket event with an ack.
 */

import { ApiError, call, newIdempotencyKey } from './api.js';
import { describeError } from './messages.js';
import { formatCountdown, formatDate, formatMoney, formatSeatList } from './format.js';
import { SeatGrid, SeatMapModel } from './seat-map.js';
import { renderReservations, showConfirmation, tickCountdowns } from './reservations-view.js';
import { createWallet } from './wallet.js';
import { $, announce, clearMessage, showMessage } from './ui.js';

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
    announce(`${formatSeatList(lost)} ${lost.length === 1 ? 'was' : 'were'} just taken by someone else and left your selection.`);
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
    announce(`Seat ${number} ${selected.has(number) ? 'selected' : 'unselected'}. ${selected.size} selected.`);
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
      announce(`${formatSeatList(seatNumbers)} held for you. Pay within ${formatCountdown(Date.parse(r.expiresAt) - now())}.`);
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
      announce(`Payment confirmed. ${formatSeatList(result.reservation.seats.map((s) => s.number))} bought.`);
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
      announce(`Hold on ${formatSeatList(r.seats.map((s) => s.number))} canceled.`);
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

  function renderSelection() {
    const numbers = [...selected].sort((a, b) => a - b);
    const total = numbers.reduce((sum, n) => sum + (model?.seats.get(n)?.price ?? 0), 0);
    $('selection-summary').textContent = numbers.length ? `${formatSeatList(numbers)} · ${formatMoney(total)}` : `No seats selected. You can pick up to ${Math.max(0, deps.maxSeats - heldCount())} more.`;
    const button = /** @type {HTMLButtonElement} */ ($('hold-button'));
    button.disabled = !numbers.length || holding || !sessionOpen;
    button.textContent = holding ? 'Holding…' : numbers.length ? `Hold ${numbers.length} seat${numbers.length === 1 ? '' : 's'}` : 'Hold seats';
    const live = sessionOpen ? 'updated live' : 'your turn has ended';
    $('seats-subtitle').textContent = model ? `${model.freeCount()} of ${model.seats.size} seats free · ${live}` : 'Loading seats…';
    const option = model ? [.../** @type {HTMLSelectElement} */ ($('date-select')).options].find((o) => o.value === String(dateId)) : undefined;
    if (option) option.textContent = `${formatDate(model.startsAt)} (${model.freeCount()} free)`;
  }

  function renderSide() {
    renderActiveTime();
    renderSelection();
    const list = [...reservations.values()].filter((r) => sameId(r.dateId, dateId)).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    renderReservations($('reservation-list'), list.slice(0, 6), { busy: (id) => busy.has(String(id)), canPay: sessionOpen, now });
    $('reservations-empty').hidden = list.length > 0;
  }

  function renderActiveTime() {
    $('active-time').textContent = sessionOpen && activeUntil ? `Time left to shop: ${formatCountdown(Date.parse(activeUntil) - now())}` : '';
  }

  function everySecond() {
    if (document.body.dataset.view !== 'seats') return;
    renderActiveTime();
    for (const id of tickCountdowns($('reservation-list'), now())) {
      // A hold past its time: the server releases it and pushes the change; ask once if it did not.
      if (expiryChecked.has(id)) continue;
      expiryChecked.add(id);
      setTimeout(() => {
        if (reservations.get(id)?.status === 'HELD') void loadReservations();
      }, 2000);
    }
  }
  setInterval(everySecond, 1000);

  // ---- wiring --------------------------------------------------------------------

  $('hold-button').addEventListener('click', () => void hold());
  $('reservation-list').addEventListener('click', (e) => {
    const button = e.target instanceof Element ? e.target.closest('button[data-action]') : null;
    if (!(button instanceof HTMLButtonElement) || button.disabled) return;
    if (button.dataset.action === 'pay') void pay(button.dataset.id);
    if (button.dataset.action === 'cancel') void cancel(button.dataset.id);
  });

  return {
    /** Open the seat view for one date of the concert (also on reconnect: a fresh snapshot). */
    async enter({ concert, dates, dateId: chosen, expiresAt }) {
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
      $('seats-title').textContent = concert ? concert.title : 'Choose your seats';
      const select = /** @type {HTMLSelectElement} */ ($('date-select'));
      select.replaceChildren(
        ...dates.map((d) => new Option(`${formatDate(d.startsAt)} (${d.freeSeats} free)`, String(d.id), false, sameId(d.id, chosen))),
      );
      renderSide();
      await Promise.all([watch(), loadReservations(), wallet.load()]);
    },
    onSeatsChanged,
    onReservationUpdated(r) {
      const before = reservations.get(String(r.id));
      reservations.set(String(r.id), r);
      if (before && before.status === 'HELD' && r.status === 'EXPIRED') {
        announce(`Your hold on ${formatSeatList(r.seats.map((s) => s.number))} expired and the seats were released.`);
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
  };
}
