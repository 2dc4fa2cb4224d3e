/** The buyer's reservations for the current date (side panel of the seat view) and the payment confirmation. */

import { formatMoney, formatSeatList } from './format.js';
import { t } from './i18n.js';

const ICON = { HELD: '◔', CONFIRMED: '✔', CANCELED: '⊘', EXPIRED: '◷' };

/** The status badge of a reservation: icon and word, never colour alone. */
export function statusBadge(status) {
  const span = document.createElement('span');
  span.className = 'badge';
  span.dataset.status = status;
  const icon = document.createElement('span');
  icon.setAttribute('aria-hidden', 'true');
  icon.textContent = ICON[status] ?? '';
  const text = document.createElement('span');
  text.className = 'badge-text';
  text.textContent = t(`res.${status}`);
  span.append(icon, ' ', text);
  return span;
}

/**
 * @param {HTMLElement} list
 * @param {object[]} reservations newest first
 * @param {{busy: (id: unknown) => boolean}} options whether a command for that reservation is in flight
 */
export function renderReservations(list, reservations, { busy }) {
  const focused = document.activeElement instanceof HTMLElement && list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : undefined;
  list.replaceChildren(
    ...reservations.map((r) => {
      const li = document.createElement('li');
      li.className = 'reservation';
      li.dataset.status = r.status;
      li.dataset.testid = `reservation-${r.id}`;
      const title = document.createElement('p');
      title.className = 'reservation-title';
      const seats = document.createElement('span');
      seats.className = 'reservation-seats';
      seats.textContent = `${formatSeatList(r.seats.map((s) => s.number))} · ${formatMoney(r.total)}`;
      title.append(statusBadge(r.status), ' ', seats);
      li.append(title);
      if (r.status === 'HELD') li.append(actionButton('cancel', r, t('res.cancel'), 'secondary', busy(r.id)));
      return li;
    }),
  );
  if (focused) {
    const again = list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
    if (again instanceof HTMLElement) again.focus();
  }
}

export function actionButton(action, r, label, kind, disabled) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = kind;
  button.dataset.action = action;
  button.dataset.id = String(r.id);
  button.dataset.focusKey = `${action}:${r.id}`;
  button.dataset.testid = `${action}-${r.id}`;
  button.textContent = label;
  button.disabled = disabled;
  return button;
}

/** The payment confirmation: what was bought, what it cost, the balance left. Focus moves to it. */
export function showConfirmation(result) {
  const text = document.getElementById('confirmation-text');
  const box = document.getElementById('confirmation');
  if (!text || !box) return;
  text.textContent = t('confirm.text', {
    seats: formatSeatList(result.reservation.seats.map((s) => s.number)),
    count: result.reservation.seats.length,
    amount: formatMoney(result.payment.amount),
    payment: result.payment.id,
    balance: formatMoney(result.balance),
  });
  box.hidden = false;
  box.focus();
}
