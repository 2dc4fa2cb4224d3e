/**
 * The buyer's browser client: sign up, pick a concert and a date, wait in the
 * waiting room (live position from queue:tick), then shop on the live seat map.
 * Plain ES modules, no build step; the wire contract is PROTOCOL.md.
 */

import { ApiError, call, connectSocket, signup } from './js/api.js';
import { describeError } from './js/messages.js';
import { formatDate } from './js/format.js';
import { createQueueTracker } from './js/queue-tracker.js';
import { loadQueuePosition } from './js/queue-position-loader.js';
import { renderQueue } from './js/queue-view.js';
import { createShop } from './js/shop.js';
import * as store from './js/store.js';
import { $, announce, clearMessage, initChrome, setConnection, showMessage, showView } from './js/ui.js';

const sameId = (a, b) => String(a) === String(b);
const maxSeats = Number(document.querySelector('meta[name="tix-max-seats"]')?.getAttribute('content')) || 4;

const session = {
  user: null,
  socket: null,
  concerts: [],
  concert: null,
  dates: [],
  dateId: null,
  /** The queue entry of `concert`: {token, dateId, initialPosition}. */
  queue: null,
  started: false,
};

const tracker = createQueueTracker({
  step: await loadQueuePosition(),
  resync: () => call(session.socket, 'queue:status', { queueToken: session.queue?.token }),
  onChange: (entry) => {
    if (entry.status === 'WAITING') renderQueue(entry, session.queue?.initialPosition ?? entry.position, concertLabel());
    else if (entry.status === 'ACTIVE') void enterSeats(entry.expiresAt);
    else void onEntryExpired('TIMEOUT');
  },
  onError: (err) => void onQueueError(err),
});

const shop = createShop({
  socket: () => session.socket,
  queueToken: () => session.queue?.token ?? null,
  maxSeats,
  onQueueProblem: (code) => void onQueueError(new ApiError(code, code)),
  onDateChange: (dateId) => rememberDate(dateId),
  onPaid: () => store.saveCurrent(null), // a reload after paying starts over, it does not rejoin
});

function concertLabel() {
  const date = session.dates.find((d) => sameId(d.id, session.dateId));
  return [session.concert?.title, session.concert?.venue, date ? formatDate(date.startsAt) : ''].filter(Boolean).join(' · ');
}

// ---- session ------------------------------------------------------------------------

function startSession(user) {
  session.user = user;
  $('whoami').textContent = `Signed in as ${user.name}`;
  $('whoami').hidden = false;
  $('signout').hidden = false;
  const socket = connectSocket(user.token, {
    onConnect: () => void onConnect(),
    onDisconnect: () => setConnection('reconnecting'),
    onUnauthorized: () => {
      store.clearAll();
      session.socket?.disconnect();
      showMessage(describeError({ code: 'UNAUTHORIZED' }));
      showSignup();
    },
  });
  session.socket = socket;
  socket.on('queue:tick', (t) => tracker.onTick(t));
  socket.on('queue:admitted', (e) => {
    if (!sameId(e.concertId, session.concert?.id)) return;
    announce('It is your turn! The seat map is open.');
    tracker.update({ status: 'ACTIVE', position: 0, etaSeconds: 0, expiresAt: e.expiresAt });
  });
  socket.on('queue:expired', (e) => {
    if (sameId(e.concertId, session.concert?.id)) void onEntryExpired(e.reason);
  });
  socket.on('queue:soldout', (e) => {
    if (sameId(e.concertId, session.concert?.id) && tracker.entry?.status === 'WAITING') tracker.update({ soldOut: true });
  });
  socket.on('seats:changed', (d) => shop.onSeatsChanged(d));
  socket.on('reservation:updated', (r) => shop.onReservationUpdated(r));
}

/** First connection and every reconnection: load what is needed, and resync where the user was. */
async function onConnect() {
  setConnection('online');
  try {
    if (!session.started) {
      session.started = true;
      await loadConcerts();
      const current = store.loadCurrent();
      if (current && store.loadQueue(current.concertId)) await resume(current.concertId);
      else showView('browse');
      return;
    }
    if (session.queue) await resume(session.concert.id);
  } catch (err) {
    showMessage(describeError(err));
    if (document.body.dataset.view === 'loading') showView('browse');
  }
}

function showSignup() {
  $('whoami').hidden = true;
  $('signout').hidden = true;
  showView('signup');
  $('signup-name').focus();
}

// ---- browse ---------------------------------------------------------------------------

async function loadConcerts() {
  const { concerts } = await call(session.socket, 'concerts:list', {});
  session.concerts = concerts;
  const list = $('concert-list');
  list.replaceChildren(
    ...concerts.map((c) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'choice';
      button.dataset.testid = `concert-${c.id}`;
      button.dataset.id = String(c.id);
      button.setAttribute('aria-pressed', 'false');
      button.innerHTML = '<strong class="choice-title"></strong><span class="choice-sub"></span>';
      button.querySelector('.choice-title').textContent = c.title;
      button.querySelector('.choice-sub').textContent = `${c.venue} · next ${formatDate(c.nextDateAt)} · ${c.availableDates} date${c.availableDates === 1 ? '' : 's'}`;
      li.append(button);
      return li;
    }),
  );
  if (!concerts.length) list.innerHTML = '<li class="muted">Nothing is on sale right now.</li>';
}

async function selectConcert(concertId) {
  const concert = session.concerts.find((c) => sameId(c.id, concertId));
  if (!concert) throw new ApiError('NOT_FOUND', 'unknown concert');
  if (!sameId(session.concert?.id, concertId)) tracker.clear();
  session.concert = concert;
  session.queue = store.loadQueue(concert.id);
  session.dateId = session.queue?.dateId ?? null;
  for (const b of $('concert-list').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.id === String(concert.id)));
  const { dates } = await call(session.socket, 'concert:dates', { concertId: concert.id });
  session.dates = dates;
  if (!dates.some((d) => sameId(d.id, session.dateId))) session.dateId = dates[0]?.id ?? null;
  renderDates();
}

function renderDates() {
  $('date-panel').hidden = false;
  $('date-title').textContent = `Pick a date for ${session.concert.title}`;
  $('date-list').replaceChildren(
    ...session.dates.map((d) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'choice';
      button.dataset.testid = `date-${d.id}`;
      button.dataset.id = String(d.id);
      button.setAttribute('aria-pressed', String(sameId(d.id, session.dateId)));
      button.innerHTML = '<strong class="choice-title"></strong><span class="choice-sub"></span>';
      button.querySelector('.choice-title').textContent = formatDate(d.startsAt);
      button.querySelector('.choice-sub').textContent = d.freeSeats > 0 ? `${d.freeSeats} of ${d.totalSeats} seats free` : 'No free seats right now';
      li.append(button);
      return li;
    }),
  );
  const join = /** @type {HTMLButtonElement} */ ($('join-button'));
  join.disabled = session.dateId === null;
  join.textContent = session.queue ? 'Return to your place in line' : 'Join the waiting room';
}

function rememberDate(dateId) {
  session.dateId = dateId;
  if (session.queue) {
    session.queue = { ...session.queue, dateId };
    store.saveQueue(session.concert.id, session.queue);
  }
  store.saveCurrent({ concertId: session.concert.id, dateId });
}

// ---- waiting room -------------------------------------------------------------------------

async function join() {
  const concertId = session.concert.id;
  const status = await call(session.socket, 'queue:join', { concertId });
  const previous = store.loadQueue(concertId);
  session.queue = {
    token: status.token,
    dateId: session.dateId,
    initialPosition: previous && previous.token === status.token ? previous.initialPosition : Math.max(1, status.position),
  };
  store.saveQueue(concertId, session.queue);
  store.saveCurrent({ concertId, dateId: session.dateId });
  applyStatus(status);
}

/** Back to the saved place in line (reload, reconnect): queue:status, joining again only if the entry is gone. */
async function resume(concertId) {
  if (!sameId(session.concert?.id, concertId)) await selectConcert(concertId);
  session.queue = store.loadQueue(concertId);
  if (!session.queue) return join();
  try {
    applyStatus(await call(session.socket, 'queue:status', { queueToken: session.queue.token }));
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'QUEUE_TOKEN_INVALID')) throw err;
    store.forgetQueue(concertId);
    session.queue = null;
    showMessage('Your previous place in line had expired, so you joined the line again.', 'info');
    await join();
  }
}

function applyStatus(status) {
  if (status.status === 'EXPIRED') {
    store.forgetQueue(status.concertId);
    session.queue = null;
    showMessage('Your previous place in line had expired, so you joined the line again.', 'info');
    void join().catch((err) => showMessage(describeError(err)));
    return;
  }
  if (status.status === 'WAITING') {
    shop.leave();
    showView('queue');
  }
  tracker.reset(status);
}

async function enterSeats(expiresAt) {
  showView('seats');
  await shop.enter({ concert: session.concert, dates: session.dates, dateId: session.dateId, expiresAt });
}

async function onEntryExpired(reason) {
  const concertId = session.concert?.id;
  if (concertId === undefined || !session.queue) return;
  store.forgetQueue(concertId);
  session.queue = null;
  tracker.clear();
  if (reason === 'PAID') {
    shop.endSession('Your purchase is complete and your turn has ended. Join the line again to buy more.');
    return;
  }
  store.saveCurrent(null);
  if (reason === 'LEFT') {
    showView('browse');
    renderDates();
    return;
  }
  const text = reason === 'IDLE' ? 'Your turn ended because you were away for a while.' : 'Your time to shop is over.';
  if (document.body.dataset.view === 'seats') shop.endSession(`${text} Unpaid holds are released when they expire. Join the line again to continue.`);
  else {
    showView('browse');
    renderDates();
  }
  showMessage(`${text} Join the line again to continue.`, 'info');
}

async function onQueueError(err) {
  if (err instanceof ApiError && err.code === 'QUEUE_NOT_ACTIVE') {
    showMessage(describeError(err), 'info');
    if (session.queue) await resume(session.concert.id).catch((e) => showMessage(describeError(e)));
    return;
  }
  if (err instanceof ApiError && err.code === 'QUEUE_TOKEN_INVALID') {
    if (session.concert) store.forgetQueue(session.concert.id);
    session.queue = null;
    tracker.clear();
    showMessage(describeError(err));
    if (document.body.dataset.view === 'seats') shop.endSession('Your place in line is no longer valid.');
    else {
      showView('browse');
      renderDates();
    }
    return;
  }
  showMessage(describeError(err));
}

// ---- events ---------------------------------------------------------------------------------

/** Runs a UI action with its errors shown as human messages. */
const act = (fn) => async (...args) => {
  clearMessage();
  try {
    await fn(...args);
  } catch (err) {
    if (err instanceof ApiError && (err.code === 'QUEUE_TOKEN_INVALID' || err.code === 'QUEUE_NOT_ACTIVE')) await onQueueError(err);
    else showMessage(describeError(err));
  }
};

$('signup-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('signup-name'));
  const name = input.value.trim();
  if (!name) {
    input.setAttribute('aria-invalid', 'true');
    showMessage('Please enter a name.');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  void act(async () => {
    try {
      const { user, token } = await signup(name);
      const saved = { id: user.id, name: user.name, token };
      store.saveUser(saved);
      startSession(saved);
    } catch (err) {
      showMessage(describeError(err, { context: 'signup' }));
    }
  })();
});

$('concert-list').addEventListener('click', (e) => {
  const button = e.target instanceof Element ? e.target.closest('button[data-id]') : null;
  if (button instanceof HTMLElement) void act(selectConcert)(button.dataset.id);
});
$('date-list').addEventListener('click', (e) => {
  const button = e.target instanceof Element ? e.target.closest('button[data-id]') : null;
  if (!(button instanceof HTMLElement)) return;
  session.dateId = session.dates.find((d) => sameId(d.id, button.dataset.id))?.id ?? null;
  renderDates();
});
$('join-button').addEventListener('click', act(async () => {
  const button = /** @type {HTMLButtonElement} */ ($('join-button'));
  button.disabled = true;
  try {
    if (session.queue) await resume(session.concert.id);
    else await join();
  } finally {
    button.disabled = false;
  }
}));
$('queue-leave').addEventListener('click', act(async () => {
  if (session.queue) await call(session.socket, 'queue:leave', { queueToken: session.queue.token });
  await onEntryExpired('LEFT');
  announce('You left the line.');
}));
$('date-select').addEventListener('change', act(async (e) => {
  const id = session.dates.find((d) => sameId(d.id, e.target.value))?.id;
  if (id === undefined) return;
  rememberDate(id);
  await shop.enter({ concert: session.concert, dates: session.dates, dateId: id });
}));
const rejoin = act(async () => {
  $('confirmation').hidden = true;
  await join();
});
$('session-rejoin').addEventListener('click', rejoin);
$('rejoin-button').addEventListener('click', rejoin);
$('signout').addEventListener('click', () => {
  store.clearAll();
  session.socket?.disconnect();
  location.reload();
});

initChrome();
const savedUser = store.loadUser();
if (savedUser && savedUser.token) startSession(savedUser);
else showSignup();
