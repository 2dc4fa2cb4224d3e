/**
 * The buyer's browser client: sign up or in, pick a concert and a date, wait in
 * the waiting room (live position from queue:tick), shop on the live seat map,
 * and find every booking under "My tickets". Korean or English (js/i18n.js).
 * Plain ES modules, no build step; the wire contract is PROTOCOL.md.
 */

import { ApiError, call, connectSocket, logout, signin, signup } from './js/api.js';
import { dateState, renderConcerts, renderDates } from './js/browse.js';
import { describeError } from './js/messages.js';
import { DEFAULT_TIME_ZONE, formatDate } from './js/format.js';
import { lang, onLangChange, setLang, t, translatePage } from './js/i18n.js';
import { createQueueTracker } from './js/queue-tracker.js';
import { renderOpening, renderQueue } from './js/queue-view.js';
import { createShop } from './js/shop.js';
import * as store from './js/store.js';
import { createTickets } from './js/tickets.js';
import { createTokenRefresher } from './js/token-refresh.js';
import { $, announce, clearMessage, initChrome, refreshConnection, setConnection, showMessage, showView } from './js/ui.js';

const sameId = (a, b) => String(a) === String(b);
const maxSeats = Number(document.querySelector('meta[name="tix-max-seats"]')?.getAttribute('content')) || 4;
const view = () => document.body.dataset.view;

const session = {
  user: null,
  socket: null,
  started: false,
  concerts: [],
  concert: null,
  dates: [],
  dateId: null,
  /** This concert's place in line, as kept in localStorage: {token, dateId, initialPosition}. */
  queue: null,
  /** Concerts known to be sold out (queue:soldout, or every date sold out). */
  soldOut: new Set(),
  /** The buyer browsed away (My tickets, the list) while in line: ticks must not pull them back. */
  away: false,
};
const zone = () => session.concert?.timeZone ?? DEFAULT_TIME_ZONE;

const tracker = createQueueTracker({
  // The position arithmetic is the server's own, shipped as /queue-position.js (loaded before this module).
  step: (entry, tick) => window.QueuePosition.applyTick(entry, tick),
  resync: () => call(session.socket, 'queue:status', { queueToken: session.queue?.token }),
  onChange: onEntry,
  onError: (err) => void onQueueError(err),
});

const shop = createShop({
  socket: () => session.socket,
  queueToken: () => session.queue?.token ?? null,
  maxSeats,
  onQueueProblem: (code) => void onQueueError(new ApiError(code, code)),
  // Paying ends the turn (the entry expires with reason PAID): a reload starts over instead of rejoining.
  onPaid: () => endEntry('PAID'),
});

const tickets = createTickets({
  socket: () => session.socket,
  concert: (id) => session.concerts.find((c) => sameId(c.id, id)) ?? store.loadTitles()[String(id)],
});

const refresher = createTokenRefresher({
  user: () => session.user,
  save: (pair) => {
    session.user = { ...session.user, ...pair };
    store.saveUser(session.user);
  },
  socket: () => session.socket,
  fail: () => sessionLost(),
});

/** The session cannot be renewed (revoked, expired): back to signing in. */
function sessionLost() {
  store.clearAll();
  refresher.stop();
  showMessage(describeError({ code: 'UNAUTHORIZED' }));
  showSignup();
}

function concertLabel() {
  const date = session.dates.find((d) => sameId(d.id, session.dateId));
  return [session.concert?.title, session.concert?.venue, date ? formatDate(date.startsAt, zone()) : ''].filter(Boolean).join(' · ');
}

// ---- session --------------------------------------------------------------------------------

function startSession(user) {
  session.user = user;
  $('whoami').textContent = t('whoami', { name: user.name });
  $('whoami').hidden = false;
  $('signout').hidden = false;
  $('topnav').hidden = false;
  refresher.schedule();
  const socket = connectSocket(() => session.user.token, {
    onConnect: () => void onConnect(),
    onDisconnect: () => setConnection('reconnecting'),
    // Access tokens are short: a refused one is renewed once with the refresh token before giving up.
    onUnauthorized: (s) => void refresher.now().then(() => s.connect(), sessionLost),
  });
  session.socket = socket;
  socket.on('queue:tick', (t) => tracker.onTick(t));
  // The opening's draw: this user's ticket and position, once.
  socket.on('queue:status', (s) => {
    if (!sameId(s.concertId, session.concert?.id) || !session.queue) return;
    if (s.position !== null) session.queue.initialPosition = Math.max(1, s.position);
    tracker.reset(s);
  });
  socket.on('queue:admitted', (e) => {
    if (!sameId(e.concertId, session.concert?.id) || !session.queue) return;
    announce(t('queue.admitted'));
    tellAdmitted();
    session.away = false;
    tracker.update({ status: 'ACTIVE', position: 0, etaSeconds: 0, expiresAt: e.expiresAt });
  });
  socket.on('queue:expired', (e) => {
    if (sameId(e.concertId, session.concert?.id)) endEntry(e.reason);
  });
  socket.on('queue:soldout', (e) => {
    session.soldOut.add(String(e.concertId));
    renderConcerts(session.concerts, session.concert?.id ?? null, session.soldOut);
    if (sameId(e.concertId, session.concert?.id) && tracker.entry?.status === 'WAITING') tracker.update({ soldOut: true });
  });
  socket.on('seats:changed', (d) => shop.onSeatsChanged(d));
  socket.on('reservation:updated', (r) => {
    shop.onReservationUpdated(r);
    tickets.onReservationUpdated(r);
  });
}

/** First connection and every reconnection: ticks are volatile, so ask where the user stands. */
async function onConnect() {
  setConnection('online');
  try {
    if (!session.started) {
      session.started = true;
      await loadConcerts();
      const current = store.loadCurrent();
      if (current && store.loadQueue(current.concertId)) await resume(current.concertId);
      else showView('browse');
    } else if (session.queue) {
      await resume(session.concert.id);
    }
  } catch (err) {
    showMessage(describeError(err));
    if (view() === 'loading') showView('browse');
  }
}

async function loadConcerts() {
  session.concerts = (await call(session.socket, 'concerts:list', {})).concerts;
  // Titles outlive the listing (a sold-out concert leaves it): My tickets still names them.
  store.saveTitles(Object.fromEntries(session.concerts.map((c) => [String(c.id), { title: c.title, timeZone: c.timeZone }])));
  renderConcerts(session.concerts, session.concert?.id ?? null, session.soldOut);
}

function showSignup() {
  session.socket?.disconnect();
  $('whoami').hidden = true;
  $('signout').hidden = true;
  $('topnav').hidden = true;
  showView('signup');
  $('signup-name').focus();
}

// ---- admitted while looking elsewhere ---------------------------------------------------------

let titleTimer;
/** The tab's title says so (a background tab is how most people wait), and a notification if allowed. */
function tellAdmitted() {
  document.title = t('queue.admittedTitle');
  clearTimeout(titleTimer);
  if (!document.hidden) titleTimer = setTimeout(() => (document.title = t('title')), 10_000);
  if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
    new Notification(t('queue.admittedNotice'), { tag: 'tix-admitted' });
  }
}
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && document.title === t('queue.admittedTitle')) titleTimer = setTimeout(() => (document.title = t('title')), 3000);
});

function renderNotifyButton() {
  const button = /** @type {HTMLButtonElement} */ ($('queue-notify'));
  const supported = 'Notification' in window;
  button.hidden = !supported || Notification.permission === 'granted';
  if (supported && Notification.permission === 'denied') button.hidden = true;
}

// ---- browse -----------------------------------------------------------------------------------

async function selectConcert(concertId) {
  const concert = session.concerts.find((c) => sameId(c.id, concertId));
  if (!concert) throw new ApiError('NOT_FOUND', 'unknown concert');
  if (!sameId(session.concert?.id, concertId)) tracker.clear();
  session.concert = concert;
  session.queue = store.loadQueue(concert.id);
  session.dateId = session.queue?.dateId ?? null;
  renderConcerts(session.concerts, concert.id);
  session.dates = (await call(session.socket, 'concert:dates', { concertId: concert.id })).dates;
  if (!session.dates.some((d) => sameId(d.id, session.dateId))) session.dateId = session.dates.find((d) => dateState(d) !== 'SOLD_OUT')?.id ?? session.dates[0]?.id ?? null;
  // Every date sold out (every seat paid): the concert gets its badge.
  if (session.dates.length && session.dates.every((d) => dateState(d) === 'SOLD_OUT')) session.soldOut.add(String(concert.id));
  renderConcerts(session.concerts, concert.id, session.soldOut);
  showDates();
}

const showDates = () => renderDates(session.concert, session.dates, session.dateId, Boolean(session.queue));

function rememberDate(dateId) {
  session.dateId = dateId;
  if (session.queue) {
    session.queue = { ...session.queue, dateId };
    store.saveQueue(session.concert.id, session.queue);
  }
  store.saveCurrent({ concertId: session.concert.id, dateId });
}

// ---- waiting room ---------------------------------------------------------------------------------

/** queue:join (the same entry if already in line); ticks arriving meanwhile are kept for its answer. */
async function join() {
  const concertId = session.concert.id;
  tracker.hold();
  let status;
  try {
    status = await joinThroughDoor(concertId);
  } catch (err) {
    tracker.release();
    throw err;
  }
  const previous = store.loadQueue(concertId);
  const same = previous && previous.token === status.token;
  session.queue = { token: status.token, dateId: session.dateId, initialPosition: same ? previous.initialPosition : Math.max(1, status.position ?? 1) };
  store.saveQueue(concertId, session.queue);
  store.saveCurrent({ concertId, dateId: session.dateId });
  tracker.reset(status);
}

/**
 * queue:join; when the sale asks for proof of work (CHALLENGE_FAILED), the
 * challenge is solved in a worker with its progress shown, then joined again.
 */
async function joinThroughDoor(concertId) {
  try {
    return await call(session.socket, 'queue:join', { concertId });
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'CHALLENGE_FAILED')) throw err;
  }
  const { challenge } = await call(session.socket, 'queue:challenge', { concertId });
  const solution = await solveChallenge(challenge, (percent) => showMessage(t('pow.progress', { percent }), 'info'));
  clearMessage();
  return call(session.socket, 'queue:join', { concertId, solution });
}

/** The base64 ALTCHA payload for `challenge`, found by /js/pow-worker.js. */
function solveChallenge(challenge, onProgress) {
  return new Promise((resolve, reject) => {
    const worker = new Worker('/js/pow-worker.js');
    worker.onmessage = ({ data }) => {
      if (data.progress !== undefined) return onProgress(data.progress);
      worker.terminate();
      if (data.number === undefined) return reject(new ApiError('CHALLENGE_FAILED', 'the challenge could not be solved'));
      const { algorithm, challenge: hash, salt, signature } = challenge;
      resolve(btoa(JSON.stringify({ algorithm, challenge: hash, number: data.number, salt, signature })));
    };
    worker.onerror = () => {
      worker.terminate();
      reject(new ApiError('CHALLENGE_FAILED', 'the challenge could not be solved'));
    };
    worker.postMessage(challenge);
  });
}

/** Back to the saved place in line (reload, reconnect): queue:status; join again only if the entry is gone. */
async function resume(concertId) {
  if (!sameId(session.concert?.id, concertId)) await selectConcert(concertId);
  session.queue = store.loadQueue(concertId);
  if (!session.queue) return join();
  tracker.hold();
  try {
    tracker.reset(await call(session.socket, 'queue:status', { queueToken: session.queue.token }));
  } catch (err) {
    tracker.release();
    if (!(err instanceof ApiError && err.code === 'QUEUE_TOKEN_INVALID')) throw err;
    await rejoin();
  }
}

async function rejoin() {
  store.forgetQueue(session.concert.id);
  session.queue = null;
  tracker.clear();
  showMessage(t('session.rejoined'), 'info');
  await join();
}

/** Every change of the tracked entry: redraw the waiting room, or open the seat map once admitted. */
function onEntry(entry) {
  if (entry.status === 'WAITING') {
    if (view() === 'seats') shop.leave();
    if (!session.away) showView('queue', { focus: view() !== 'queue' });
    renderQueue(entry, session.queue?.initialPosition ?? entry.position, concertLabel(), zone());
    renderNotifyButton();
  } else if (entry.status === 'ACTIVE') {
    session.away = false;
    showView('seats');
    void shop.enter({ concert: session.concert, dates: session.dates, dateId: session.dateId, expiresAt: entry.expiresAt });
  } else {
    void rejoin().catch((err) => showMessage(describeError(err))); // EXPIRED while away
  }
}

/** The turn ended (queue:expired, or our own payment): the queue token is no longer usable. */
function endEntry(reason) {
  if (!session.queue) return;
  store.forgetQueue(session.concert.id);
  store.saveCurrent(null);
  session.queue = null;
  tracker.clear();
  if (reason === 'PAID') {
    shop.endSession(t('session.paid'));
  } else if (reason === 'LEFT') {
    if (view() !== 'tickets') showView('browse');
    showDates();
  } else {
    const text = t(reason === 'IDLE' ? 'session.idle' : 'session.timeout');
    if (view() === 'seats') shop.endSession(t('session.continue', { text }));
    else if (view() !== 'tickets') {
      showView('browse');
      showDates();
    }
    showMessage(t('session.again', { text }), 'info');
  }
}

async function onQueueError(err) {
  if (err instanceof ApiError && err.code === 'QUEUE_NOT_ACTIVE') {
    showMessage(describeError(err), 'info');
    if (session.queue) await resume(session.concert.id).catch((e) => showMessage(describeError(e)));
  } else if (err instanceof ApiError && err.code === 'QUEUE_TOKEN_INVALID') {
    if (view() === 'queue') {
      await rejoin().catch((e) => showMessage(describeError(e)));
      return;
    }
    store.forgetQueue(session.concert.id);
    session.queue = null;
    tracker.clear();
    showMessage(describeError(err));
    shop.endSession(t('session.invalid'));
  } else {
    showMessage(describeError(err));
  }
}

// ---- events -------------------------------------------------------------------------------------

/** A UI action whose errors are shown as human messages. */
const act = (fn) => async (...args) => {
  clearMessage();
  try {
    await fn(...args);
  } catch (err) {
    if (err instanceof ApiError && (err.code === 'QUEUE_TOKEN_INVALID' || err.code === 'QUEUE_NOT_ACTIVE')) await onQueueError(err);
    else showMessage(describeError(err));
  }
};

const buttonIn = (e, selector) => (e.target instanceof Element ? e.target.closest(selector) : null);

$('signup-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const mode = e.submitter instanceof HTMLButtonElement && e.submitter.value === 'signin' ? 'signin' : 'signup';
  const input = /** @type {HTMLInputElement} */ ($('signup-name'));
  const secret = /** @type {HTMLInputElement} */ ($('signup-password'));
  const name = input.value.trim();
  input.setAttribute('aria-invalid', String(!name));
  secret.setAttribute('aria-invalid', String(secret.value.length < 8));
  if (!name || secret.value.length < 8) {
    showMessage(t(name ? 'signup.needPassword' : 'signup.needName'));
    (name ? secret : input).focus();
    return;
  }
  void act(async () => {
    try {
      const { user, token, refreshToken } = await (mode === 'signin' ? signin : signup)(name, secret.value);
      const saved = { id: user.id, name: user.name, token, refreshToken };
      secret.value = '';
      store.saveUser(saved);
      startSession(saved);
    } catch (err) {
      showMessage(describeError(err, { context: mode }));
    }
  })();
});
$('concert-list').addEventListener('click', (e) => {
  const button = buttonIn(e, 'button[data-id]');
  if (button) void act(selectConcert)(button.dataset.id);
});
$('date-list').addEventListener('click', (e) => {
  const button = buttonIn(e, 'button[data-id]');
  if (!button) return;
  session.dateId = session.dates.find((d) => sameId(d.id, button.dataset.id))?.id ?? null;
  showDates();
  button.ownerDocument.querySelector(`[data-testid="date-${CSS.escape(button.dataset.id)}"]`)?.focus();
});
$('join-button').addEventListener('click', act(async () => {
  const button = /** @type {HTMLButtonElement} */ ($('join-button'));
  button.disabled = true;
  session.away = false;
  try {
    if (session.queue) {
      rememberDate(session.dateId);
      await resume(session.concert.id);
    } else await join();
  } finally {
    button.disabled = false;
  }
}));
$('queue-leave').addEventListener('click', act(async () => {
  if (session.queue) await call(session.socket, 'queue:leave', { queueToken: session.queue.token });
  endEntry('LEFT');
  announce(t('queue.left'));
}));
$('date-select').addEventListener('change', act(async (e) => {
  const id = session.dates.find((d) => sameId(d.id, e.target.value))?.id;
  if (id === undefined) return;
  rememberDate(id);
  await shop.enter({ concert: session.concert, dates: session.dates, dateId: id });
}));
const joinAgain = act(async () => {
  $('confirmation').hidden = true;
  await join();
});
$('session-rejoin').addEventListener('click', joinAgain);
$('rejoin-button').addEventListener('click', joinAgain);
$('signout').addEventListener('click', () => {
  const token = session.user?.token;
  refresher.stop();
  store.clearAll();
  session.socket?.disconnect();
  // Revoke the session on the server too (best effort: the page signs out either way).
  void (token ? logout(token).catch(() => undefined) : Promise.resolve()).then(() => location.reload());
});

$('nav-tickets').addEventListener('click', act(async () => {
  if (session.queue) session.away = true;
  showView('tickets');
  await tickets.load();
}));
$('nav-concerts').addEventListener('click', act(async () => {
  if (session.queue) session.away = true;
  showView('browse');
  await loadConcerts();
  if (session.concert) showDates();
}));
$('queue-notify').addEventListener('click', () => {
  void Notification.requestPermission().then((permission) => {
    announce(t(permission === 'granted' ? 'queue.notifyOn' : 'queue.notifyDenied'));
    renderNotifyButton();
  });
});
$('lang-switch').addEventListener('click', () => setLang(lang() === 'ko' ? 'en' : 'ko'));

/** The switch names the other language, in that language (lang attribute, so it is read out right). */
function renderLangSwitch() {
  const button = $('lang-switch');
  button.textContent = t('lang.switch');
  button.setAttribute('lang', lang() === 'ko' ? 'en' : 'ko');
  button.title = t('lang.switchLabel');
}

/** Everything the views wrote, again in the new language. */
onLangChange(() => {
  renderLangSwitch();
  refreshConnection();
  if (session.user) $('whoami').textContent = t('whoami', { name: session.user.name });
  renderConcerts(session.concerts, session.concert?.id ?? null, session.soldOut);
  if (session.concert) showDates();
  if (tracker.entry && tracker.entry.status === 'WAITING') renderQueue(tracker.entry, session.queue?.initialPosition ?? tracker.entry.position, concertLabel(), zone());
  shop.redraw();
  tickets.render();
});

// The pre-queue's countdown to the opening moves every second.
setInterval(() => {
  const entry = tracker.entry;
  if (view() === 'queue' && entry && entry.status === 'WAITING' && entry.ticket === null) renderOpening(entry);
}, 1000);

translatePage();
renderLangSwitch();
initChrome();
const savedUser = store.loadUser();
if (savedUser && savedUser.token) startSession(savedUser);
else showSignup();
