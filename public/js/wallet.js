/** The wallet panel: balance (wallet:get) and adding funds (wallet:charge, idempotent on retry). */

import { ApiError, newIdempotencyKey } from './api.js';
import { formatMoney } from './format.js';
import { t } from './i18n.js';
import { $, announce, clearMessage, showMessage } from './ui.js';

/**
 * @param {object} deps
 * @param {(event: string, payload: object) => Promise<any>} deps.run
 * @param {(err: unknown) => void} deps.fail
 */
export function createWallet({ run, fail }) {
  let balance = null;
  let pending = null; // {amount, key} while a charge's outcome is unknown: a retry reuses the key

  const render = () => {
    $('wallet-balance').textContent = balance === null ? '–' : formatMoney(balance);
  };

  async function charge(amount) {
    if (!Number.isInteger(amount) || amount <= 0) {
      $('charge-amount').setAttribute('aria-invalid', 'true');
      showMessage(t('wallet.bad'));
      return;
    }
    $('charge-amount').removeAttribute('aria-invalid');
    if (!pending || pending.amount !== amount) pending = { amount, key: newIdempotencyKey() };
    const button = $('charge-form').querySelector('button');
    button.disabled = true;
    clearMessage();
    try {
      balance = (await run('wallet:charge', { amount, idempotencyKey: pending.key })).balance;
      pending = null;
      announce(t('wallet.added', { amount: formatMoney(amount), balance: formatMoney(balance) }));
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'TIMEOUT')) pending = null;
      fail(err);
    } finally {
      button.disabled = false;
      render();
    }
  }

  $('charge-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void charge(Number(/** @type {HTMLInputElement} */ ($('charge-amount')).value));
  });

  return {
    async load() {
      try {
        balance = (await run('wallet:get', {})).balance;
        render();
      } catch (err) {
        fail(err);
      }
    },
    set(value) {
      balance = value;
      render();
    },
    render,
  };
}
