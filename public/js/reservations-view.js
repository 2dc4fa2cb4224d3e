/** The buyer's reservations for the current date: holds with a countdown, pay and cancel; paid ones. */

import { formatCountdown, formatMoney, formatSeatList } from './format.js';

const BADGE = {
  HELD: { icon: '◔', text: 'Held, not paid yet' },
  CONFIRMED: { icon: '✔', text: 'Paid' },
  CANCELED: { icon: '⊘', text: 'Canceled' },
  EXPIRED: { icon: '◷', text: 'Hold expired' },
};

/**
 * @param {HTMLElement} list
 * @param {object[]} reservations newest first
 * @param {(id: unknown) => boolean} busy whether a command for that reservation is in flight
 * @param {boolean} canPay the queue entry is still ACTIVE
 */
export function renderReservations(list, reservations, { busy, canPay, now }) {
  const focused = document.activeElement instanceof HTMLElement && list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : undefined;
  list.replaceChildren(
    ...reservations.map((r) => {
      const li = document.createElement('li');
      li.className = 'reservation';
      li.dataset.status = r.status;
      li.dataset.testid = `reservation-${r.id}`;
      const badge = BADGE[r.status] ?? { icon: '', text: r.status };
      const title = document.createElement('p');
      title.className = 'reservation-title';
      title.innerHTML = '<span class="badge"><span aria-hidden="true"></span> <span class="badge-text"></span></span> <span class="reservation-seats"></span>';
      title.querySelector('.badge').dataset.status = r.status;
      title.querySelector('.badge > span[aria-hidden]').textContent = badge.icon;
      title.querySelector('.badge-text').textContent = badge.text;
      title.querySelector('.reservation-seats').textContent = `${formatSeatList(r.seats.map((s) => s.number))} · ${formatMoney(r.total)}`;
      li.append(title);
      if (r.status === 'HELD') {
        const timer = document.createElement('p');
        timer.className = 'small';
        timer.append('Pay within ');
        const countdown = document.createElement('strong');
        countdown.dataset.expiresAt = r.expiresAt;
        countdown.dataset.testid = 'hold-countdown';
        countdown.textContent = formatCountdown(Date.parse(r.expiresAt) - now());
        timer.append(countdown, ' or the seats are released.');
        li.append(timer);
        const row = document.createElement('div');
        row.className = 'row';
        row.append(
          actionButton('pay', r, `Pay ${formatMoney(r.total)}`, 'primary', busy(r.id) || !canPay),
          actionButton('cancel', r, 'Cancel hold', 'secondary', busy(r.id)),
        );
        li.append(row);
      } else if (r.status === 'CONFIRMED' && r.paidAt) {
        const paid = document.createElement('p');
        paid.className = 'small muted';
        paid.textContent = `Paid ${new Date(r.paidAt).toLocaleString()}.`;
        li.append(paid);
      }
      return li;
    }),
  );
  if (focused) {
    const again = list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
    if (again instanceof HTMLElement) again.focus();
  }
}

function actionButton(action, r, label, kind, disabled) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = kind;
  button.dataset.action = action;
  button.dataset.id = String(r.id);
  button.dataset.focusKey = `${action}:${r.id}`;
  button.dataset.testid = `${action}-button`;
  button.textContent = label;
  button.disabled = disabled;
  return button;
}

/** Updates every visible countdown; returns the ids of holds whose time is up. */
export function tickCountdowns(root, now) {
  const due = [];
  for (const el of root.querySelectorAll('[data-expires-at]')) {
    const left = Date.parse(el.dataset.expiresAt) - now;
    el.textContent = left > 0 ? formatCountdown(left) : 'releasing…';
    if (left <= 0) {
      const li = el.closest('[data-testid^="reservation-"]');
      if (li) due.push(li.dataset.testid.slice('reservation-'.length));
    }
  }
  return due;
}

/** The payment confirmation: what was bought, what it cost, the balance left. Focus moves to it. */
export function showConfirmation(result) {
  const count = result.reservation.seats.length;
  const text = document.getElementById('confirmation-text');
  const box = document.getElementById('confirmation');
  if (!text || !box) return;
  text.textContent =
    `${formatSeatList(result.reservation.seats.map((s) => s.number))} ${count === 1 ? 'is' : 'are'} yours. ` +
    `Paid ${formatMoney(result.payment.amount)} (payment ${result.payment.id}). Wallet balance: ${formatMoney(result.balance)}.`;
  box.hidden = false;
  box.focus();
}
