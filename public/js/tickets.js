/**
 * "My tickets": every reservation of the account (reservations:mine) with its
 * booking number, concert, performance time, seats, status, total and paid
 * time; cancel a hold; refund a paid ticket until the show starts, after a
 * confirmation that names the amount (reservation:cancel refunds a paid one).
 */

import { ApiError, call } from './api.js';
import { DEFAULT_TIME_ZONE, bookingNumber, formatDate, formatMoney, formatSeatList } from './format.js';
import { t } from './i18n.js';
import { actionButton, statusBadge } from './reservations-view.js';
import { describeError } from './messages.js';
import { $, announce, clearMessage, showMessage } from './ui.js';

/**
 * @param {object} deps
 * @param {() => import('socket.io-client').Socket} deps.socket
 * @param {(concertId: unknown) => {title: string, timeZone?: string} | undefined} deps.concert a concert's title, when known
 */
export function createTickets(deps) {
  let reservations = [];
  /** concertId → Map(dateId → startsAt): performance times (concert:dates lists the future ones). */
  const startsAt = new Map();
  const busy = new Set();
  let balance = null;

  const when = (r) => startsAt.get(String(r.concertId))?.get(String(r.dateId));
  // A date no longer listed has started (concert:dates lists future dates only): no refund then.
  const refundable = (r) => r.status === 'CONFIRMED' && when(r) !== undefined && Date.parse(when(r)) > Date.now();

  async function load() {
    const socket = deps.socket();
    const [mine, wallet] = await Promise.all([call(socket, 'reservations:mine', {}), call(socket, 'wallet:get', {})]);
    reservations = mine.reservations;
    balance = wallet.balance;
    const concertIds = [...new Set(reservations.map((r) => String(r.concertId)))].filter((id) => !startsAt.has(id));
    await Promise.all(
      concertIds.map(async (id) => {
        const concertId = reservations.find((r) => String(r.concertId) === id).concertId;
        try {
          const { dates } = await call(socket, 'concert:dates', { concertId });
          startsAt.set(id, new Map(dates.map((d) => [String(d.id), d.startsAt])));
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 'NOT_FOUND')) throw err;
          startsAt.set(id, new Map());
        }
      }),
    );
    render();
  }

  function field(list, label, value, testId) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    if (testId) dd.dataset.testid = testId;
    list.append(dt, dd);
  }

  function render() {
    $('tickets-balance').textContent = balance === null ? '–' : formatMoney(balance);
    $('tickets-empty').hidden = reservations.length > 0;
    $('ticket-list').replaceChildren(
      ...reservations.map((r) => {
        const concert = deps.concert(r.concertId);
        const zone = concert?.timeZone ?? DEFAULT_TIME_ZONE;
        const li = document.createElement('li');
        li.className = 'ticket card';
        li.dataset.status = r.status;
        li.dataset.testid = `ticket-${r.id}`;
        const head = document.createElement('h3');
        head.className = 'ticket-title';
        head.append(concert?.title ?? t('tickets.unknownConcert', { id: r.concertId }), ' ', statusBadge(r.status));
        const facts = document.createElement('dl');
        facts.className = 'ticket-facts';
        field(facts, t('tickets.booking'), bookingNumber(r.id), 'booking-number');
        if (when(r)) field(facts, t('tickets.when'), formatDate(when(r), zone));
        field(facts, t('tickets.seats'), formatSeatList(r.seats.map((s) => s.number)), 'ticket-seats');
        field(facts, t('tickets.total'), formatMoney(r.total), 'ticket-total');
        if (r.paidAt) field(facts, t('tickets.paidAt'), formatDate(r.paidAt, zone), 'ticket-paid-at');
        if (r.status === 'HELD') field(facts, t('tickets.holdUntil'), formatDate(r.expiresAt, zone));
        li.append(head, facts);
        if (r.status === 'HELD') li.append(actionButton('cancel', r, t('res.cancel'), 'secondary', busy.has(String(r.id))));
        if (refundable(r)) li.append(actionButton('refund', r, t('tickets.refund', { amount: formatMoney(r.total) }), 'secondary', busy.has(String(r.id))));
        return li;
      }),
    );
  }

  /** Asks first, naming the amount; resolves true when the buyer confirmed. */
  function confirmRefund(r) {
    const dialog = /** @type {HTMLDialogElement} */ ($('refund-dialog'));
    const amount = formatMoney(r.total);
    $('refund-question').textContent = t('tickets.refundQuestion', { booking: bookingNumber(r.id), amount });
    $('refund-confirm').textContent = t('tickets.refundConfirm', { amount });
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'refund'), { once: true });
      dialog.returnValue = '';
      dialog.showModal();
    });
  }

  /** Cancel a hold, or refund a paid ticket (the same command: a paid one is refunded to the wallet). */
  async function cancel(id, refund) {
    const r = reservations.find((x) => String(x.id) === String(id));
    if (!r || busy.has(String(id))) return;
    if (refund && !(await confirmRefund(r))) return;
    busy.add(String(id));
    render();
    clearMessage();
    try {
      const updated = await call(deps.socket(), 'reservation:cancel', { reservationId: r.id });
      reservations = reservations.map((x) => (String(x.id) === String(updated.id) ? updated : x));
      if (refund) {
        balance = (await call(deps.socket(), 'wallet:get', {})).balance;
        announce(t('tickets.refunded', { amount: formatMoney(r.total), balance: formatMoney(balance) }));
        showMessage(t('tickets.refunded', { amount: formatMoney(r.total), balance: formatMoney(balance) }), 'info');
      } else announce(t('res.canceled', { seats: formatSeatList(r.seats.map((s) => s.number)) }));
    } catch (err) {
      showMessage(describeError(err, { context: refund ? 'refund' : undefined }));
    } finally {
      busy.delete(String(id));
      render();
    }
  }

  $('ticket-list').addEventListener('click', (e) => {
    const button = e.target instanceof Element ? e.target.closest('button[data-action]') : null;
    if (!(button instanceof HTMLButtonElement) || button.disabled) return;
    void cancel(button.dataset.id, button.dataset.action === 'refund');
  });

  return {
    load,
    render,
    /** A reservation changed elsewhere (another tab, a hold that ran out): keep the list current. */
    onReservationUpdated(r) {
      if (!reservations.some((x) => String(x.id) === String(r.id))) reservations = [r, ...reservations];
      else reservations = reservations.map((x) => (String(x.id) === String(r.id) ? r : x));
      if (document.body.dataset.view === 'tickets') render();
    },
  };
}
