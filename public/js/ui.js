/** Views, the alert, the polite announcer and the connection badge. */

import { t } from './i18n.js';

export const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el;
};

const VIEWS = ['loading', 'signup', 'browse', 'queue', 'seats', 'tickets'];

/** Shows one view; moves focus to its heading so screen readers follow. */
export function showView(name, { focus = true } = {}) {
  if (document.body.dataset.view === name) return;
  for (const view of VIEWS) $(`view-${view}`).hidden = view !== name;
  document.body.dataset.view = name;
  // The menu marks where the buyer is.
  $('nav-tickets').toggleAttribute('aria-current', name === 'tickets');
  if (name === 'tickets') $('nav-tickets').setAttribute('aria-current', 'page');
  $('nav-concerts').toggleAttribute('aria-current', name === 'browse');
  if (name === 'browse') $('nav-concerts').setAttribute('aria-current', 'page');
  if (!focus) return;
  const heading = $(`view-${name}`).querySelector('h2');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
  }
}

/** An error or important notice, read out at once (role=alert). */
export function showMessage(text, kind = 'error') {
  $('message-text').textContent = text;
  const box = $('message');
  box.dataset.kind = kind;
  box.hidden = false;
}

export function clearMessage() {
  $('message').hidden = true;
  $('message-text').textContent = '';
}

let announceTimer;
/** A polite status announcement (aria-live). Repeated text is re-announced. */
export function announce(text) {
  const el = $('announcer');
  clearTimeout(announceTimer);
  el.textContent = '';
  announceTimer = setTimeout(() => {
    el.textContent = text;
  }, 50);
}

export function setConnection(state) {
  const el = $('connection');
  el.dataset.state = state;
  el.querySelector('.connection-text').textContent = t(`conn.${state}`);
}

/** Redraw the connection badge in the current language. */
export const refreshConnection = () => setConnection($('connection').dataset.state ?? 'offline');

export function initChrome() {
  $('message-close').addEventListener('click', clearMessage);
}
