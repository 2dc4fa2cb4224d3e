/**
 * The operator page: sign in with the admin token (memory only), a live list
 * of the concerts from the `/admin` namespace's `admin:stats`, and one
 * concert's controls. Plain modules, no framework, no build step.
 */
import { AdminApi } from './api.js';
import { ConcertView } from './concert-view.js';
import { apply, count, lang, money, setLang, t, time } from './i18n.js';

const $ = (id) => document.getElementById(id);
const page = { api: undefined, socket: undefined, concerts: new Map(), stats: new Map(), view: undefined };

function show(view) {
  document.body.dataset.view = view;
  $('signout').hidden = view === 'signin';
}

function message(text) {
  const el = document.querySelector('[data-testid="message"]');
  el.textContent = text ?? '';
  el.hidden = !text;
}

function connection(state) {
  const el = document.querySelector('[data-testid="connection-status"]');
  el.dataset.state = state;
  el.querySelector('.connection-text').textContent = t(state === 'online' ? 'online' : 'offline');
}

export function saleState(sale) {
  if (sale.paused) return t('statePaused');
  if (Date.parse(sale.opensAt) > Date.now()) return `${t('statePre')} ${time(sale.opensAt)}`;
  return t('stateOpen');
}

function cell(text, testId) {
  const td = document.createElement('td');
  td.textContent = text;
  if (testId) td.dataset.testid = testId;
  return td;
}

function renderRows() {
  const body = $('concert-rows');
  body.replaceChildren(
    ...[...page.concerts.values()].map((c) => {
      const s = page.stats.get(c.id) ?? c.stats;
      const tr = document.createElement('tr');
      tr.dataset.testid = `concert-${c.id}`;
      tr.className = page.view?.concertId === c.id ? 'selected' : '';
      const title = document.createElement('td');
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'link-button';
      open.textContent = c.title;
      open.addEventListener('click', () => select(c.id));
      title.appendChild(open);
      tr.append(
        title,
        cell(saleState(c.sale)),
        cell(count(s.waiting), `waiting-${c.id}`),
        cell(count(s.preQueued)),
        cell(count(s.active), `active-${c.id}`),
        cell(count(s.admittedLastMinute)),
        cell(count(s.holds)),
        cell(count(s.sold), `sold-${c.id}`),
        cell(money(s.revenue)),
      );
      return tr;
    }),
  );
}

async function select(concertId) {
  page.view?.close();
  page.view = new ConcertView(page.api, concertId, {
    onSale: (sale) => {
      const c = page.concerts.get(concertId);
      if (c) c.sale = sale;
      renderRows();
    },
    message,
  });
  renderRows();
  await page.view.load();
}

function connect(token) {
  // The socket.io client's script (served by the server) sets window.io.
  const socket = window.io('/admin', { auth: { token }, transports: ['websocket'] });
  socket.on('connect', () => connection('online'));
  socket.on('disconnect', () => connection('offline'));
  socket.on('connect_error', () => connection('offline'));
  socket.on('admin:stats', ({ concertId, stats }) => {
    page.stats.set(concertId, stats);
    if (!page.concerts.has(concertId)) void refreshList();
    else renderRows();
    if (page.view?.concertId === concertId) page.view.stats(stats);
  });
  return socket;
}

async function refreshList() {
  const concerts = await page.api.concerts();
  page.concerts = new Map(concerts.map((c) => [c.id, c]));
  renderRows();
}

async function signIn(token) {
  const api = new AdminApi(token);
  try {
    await api.concerts();
  } catch (err) {
    message(err.code === 'NOT_FOUND' ? t('adminOff') : err.code === 'UNAUTHORIZED' ? t('badToken') : t('failed', { message: err.message }));
    return;
  }
  message('');
  page.api = api;
  show('concerts');
  page.socket = connect(token);
  await refreshList();
}

function signOut() {
  page.socket?.close();
  page.view?.close();
  Object.assign(page, { api: undefined, socket: undefined, concerts: new Map(), stats: new Map(), view: undefined });
  $('concert-rows').replaceChildren();
  document.querySelector('[data-testid="detail"]').hidden = true;
  connection('offline');
  show('signin');
}

$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('token');
  const token = input.value;
  input.value = '';
  void signIn(token);
});
$('signout').addEventListener('click', signOut);
$('lang').addEventListener('click', () => {
  setLang(lang() === 'ko' ? 'en' : 'ko');
  connection(document.querySelector('[data-testid="connection-status"]').dataset.state);
  renderRows();
  page.view?.render();
});

apply();
connection('offline');
show('signin');
