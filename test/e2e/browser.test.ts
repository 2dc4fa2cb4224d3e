import type { Browser } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { Buyer, UI_TIMEOUT_MS, launchBrowser } from '../support/browser';
import { ADMIN_TOKEN, connectClient, createConcert, http, nextEvent, signup, startServer, type ConcertFixture, type TestServer } from '../support/server';
import { sessionRow } from '../support/db';
import { sessionOf } from '../support/tokens';
import { eventually } from '../support/wait';

/**
 * The browser client (public/) in two real headless Chromiums against a real
 * server: waiting room, live seat map, hold, wallet, payment. Short queue
 * settings make the waiting room visible: one admission per 200 ms tick and
 * two buyers active at once, so a third one waits.
 */

let server: TestServer;
let browserA: Browser;
let browserB: Browser;
const buyers: Buyer[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startServer({
    env: {
      QUEUE_ADMIT_INTERVAL_MS: '200',
      QUEUE_ADMIT_BATCH: '1',
      QUEUE_MAX_ACTIVE: '2',
      HOLD_TTL_SECONDS: '300',
      MAX_SEATS_PER_USER: '4',
    },
  });
  [browserA, browserB] = await Promise.all([launchBrowser(), launchBrowser()]);
}, 60_000);

afterEach(async () => {
  for (const buyer of buyers) expect({ buyer: buyer.name, errors: buyer.errors }).toEqual({ buyer: buyer.name, errors: [] });
  await Promise.all(buyers.splice(0).map((b) => b.close()));
  for (const socket of sockets.splice(0)) socket.close();
});

afterAll(async () => {
  await Promise.all([browserA?.close(), browserB?.close()]);
  await server?.close();
});

async function openBuyer(browser: Browser, name: string, viewport?: { width: number; height: number }): Promise<Buyer> {
  // Names are unique in the run's database, which every test file shares.
  const buyer = await Buyer.open(browser, server.url, `${name} ${Date.now().toString(36)}`, { viewport });
  buyers.push(buyer);
  return buyer;
}

/** A socket.io-client user in the concert's line; resolves once `until` holds for its QueueStatus. */
async function socketUser(concert: ConcertFixture, until: 'WAITING' | 'ACTIVE') {
  const user = await signup(server);
  const socket = await connectClient(server, user.token);
  sockets.push(socket);
  const admitted = nextEvent(socket, 'queue:admitted', (e: { concertId: number }) => e.concertId === concert.id, UI_TIMEOUT_MS);
  admitted.catch(() => undefined);
  const joined = await socket.emitWithAck('queue:join', { concertId: concert.id });
  expect(joined).toMatchObject({ ok: true, data: { token: expect.any(String), concertId: concert.id } });
  if (until === 'ACTIVE' && joined.data.status !== 'ACTIVE') await admitted;
  return { socket, queueToken: joined.data.token as string, status: joined.data };
}

/**
 * Drops the buyer's connection the way a network failure would: the server closes the transport
 * under the socket, the client sees `transport close` and reconnects by itself.
 */
async function dropConnection(buyer: Buyer): Promise<void> {
  const user = JSON.parse((await buyer.page.evaluate<string | null>('localStorage.getItem("tix.user")')) ?? 'null') as { id: number };
  const open = [...server.app.io.of('/').sockets.values()].filter((s) => s.data.userId === user.id);
  expect(open.length).toBeGreaterThan(0);
  for (const socket of open) socket.conn.close();
  await buyer.page.locator('[data-testid="connection-status"][data-state="reconnecting"]').waitFor();
}

const leave = async (user: { socket: Socket; queueToken: string }) =>
  expect(await user.socket.emitWithAck('queue:leave', { queueToken: user.queueToken })).toEqual({ ok: true, data: {} });

describe('the browser client', () => {
  it('signs up with a password, signs out (the session is revoked on the server), refuses a wrong password, and signs in again', async () => {
    const erin = await openBuyer(browserA, 'Erin');
    await erin.signUp();
    const saved = JSON.parse((await erin.page.evaluate<string | null>('localStorage.getItem("tix.user")')) ?? 'null') as { token: string; refreshToken: string };
    expect(saved).toMatchObject({ token: expect.any(String), refreshToken: expect.any(String) });
    await erin.signOut();
    expect(await erin.page.evaluate<string | null>('localStorage.getItem("tix.user")')).toBeNull();
    await eventually(async () => expect(await sessionRow(server.db, sessionOf(saved.token))).toMatchObject({ revoked: true }));
    await erin.signIn('not the password');
    // Chromium logs every 4xx answer to fetch() on the console: the refused sign-in's, expected here.
    expect(erin.errors).toEqual(['console: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    erin.errors.length = 0;
    await erin.signIn();
    await erin.page.reload();
    await erin.view('browse');
    await erin.byTestId('whoami').filter({ hasText: erin.name }).waitFor();
  }, 60_000);

  it('lets two buyers in, shows each one the other’s hold and sale live, takes payment, and keeps a waiter’s place across a reload', async () => {
    const concert = await createConcert(server, { seats: 20, price: 1000 });
    const dateId = concert.dates[0]!.id;
    const alice = await openBuyer(browserA, 'Alice');
    const bob = await openBuyer(browserB, 'Bob', { width: 390, height: 844 }); // a phone-sized screen

    // Both sign up (POST /users; the token is kept in localStorage) and join the same concert.
    await Promise.all([alice.signUp(), bob.signUp()]);
    await alice.joinLine(concert.id, dateId);
    await bob.joinLine(concert.id, dateId);

    // Both are admitted (two may be active at once): each sees the seat map, every seat free.
    await Promise.all([alice.view('seats'), bob.view('seats')]);
    await Promise.all([alice.seat(20, 'free').waitFor(), bob.seat(20, 'free').waitFor()]);
    expect(await alice.page.getByTestId('seat-grid').getByRole('button').count()).toBe(20);

    // A third buyer waits: the active slots are taken. Exact position, people waiting, ETA, progress.
    const carol = await openBuyer(browserA, 'Carol');
    await carol.signUp();
    await carol.joinLine(concert.id, dateId);
    await carol.view('queue');
    await carol.hasText('queue-position', '1');
    await carol.hasText('queue-waiting', '1');
    expect(await carol.text('queue-eta')).not.toBe('–');
    const ticket = await carol.text('queue-ticket');
    expect(ticket).toMatch(/^#\d+$/);

    // A reload comes back to the same place in line (queue token kept, queue:status on connect).
    await carol.page.reload();
    await carol.view('queue');
    await carol.hasText('queue-position', '1');
    await carol.hasText('queue-ticket', ticket);

    // Alice picks seat 5 with the mouse and seat 6 with the keyboard, then holds them.
    await alice.seat(5, 'free').click();
    await alice.page.getByRole('button', { name: /^Seat 5, free/, pressed: true }).waitFor();
    await alice.page.keyboard.press('ArrowRight');
    await alice.page.keyboard.press('Space');
    await alice.page.getByRole('button', { name: /^Seat 6, free/, pressed: true }).waitFor();
    await alice.hasText('hold-button', 'Hold 2 seats');
    await alice.byTestId('hold-button').click();
    await Promise.all([alice.seat(5, 'held by you').waitFor(), alice.seat(6, 'held by you').waitFor()]);
    expect(await alice.text('hold-countdown')).toMatch(/^[45]:\d\d$/);

    // Bob sees both turn HELD without reloading or asking (seats:changed), and cannot pick them.
    await Promise.all([bob.seat(5, 'held').waitFor(), bob.seat(6, 'held').waitFor()]);
    expect(bob.sentCount('seats:watch')).toBe(1);
    expect(await bob.byTestId('seat-5').getAttribute('aria-disabled')).toBe('true');

    // Paying with an empty wallet is refused with a human message; nothing changes.
    await alice.byTestId('pay-button').click();
    await alice.byTestId('message').filter({ hasText: 'wallet balance is too low' }).waitFor();
    await alice.seat(5, 'held by you').waitFor();

    // Alice charges her wallet and pays: a confirmation, and her seats are bought.
    await alice.page.getByLabel('Add funds (won)').fill('5000');
    await alice.byTestId('charge-button').click();
    await alice.hasText('wallet-balance', '₩5,000');
    await alice.byTestId('pay-button').click();
    await alice.byTestId('confirmation').waitFor();
    expect(await alice.text('confirmation-text')).toMatch(/^Seats 5 and 6 are yours\. Paid ₩2,000 .* Wallet balance: ₩3,000\.$/);
    await alice.hasText('wallet-balance', '₩3,000');
    await alice.seat(5, 'bought by you').waitFor();

    // Bob sees SOLD live.
    await Promise.all([bob.seat(5, 'sold').waitFor(), bob.seat(6, 'sold').waitFor()]);
    expect(bob.sentCount('seats:watch')).toBe(1);

    // Paying ended Alice's turn, so her slot goes to Carol, who is let in and sees the sale too.
    await carol.view('seats');
    await carol.seat(5, 'sold').waitFor();

    // Carol's connection drops while Bob holds seat 8 on his phone: the delta is lost to her, and on
    // reconnecting she watches again and gets a fresh snapshot with seat 8 held.
    const carolWatches = carol.sentCount('seats:watch');
    await dropConnection(carol);
    await bob.seat(8, 'free').click();
    await bob.byTestId('hold-button').click();
    await bob.seat(8, 'held by you').waitFor();
    await alice.seat(8, 'held').waitFor();
    await carol.page.locator('[data-testid="connection-status"][data-state="online"]').waitFor();
    await carol.seat(8, 'held').waitFor();
    expect(carol.sentCount('seats:watch')).toBe(carolWatches + 1);

    // Carol holds seat 11 and selects 12: every state on one map.
    await carol.seat(11, 'free').click();
    await carol.byTestId('hold-button').click();
    await carol.seat(11, 'held by you').waitFor();
    await bob.seat(11, 'held').waitFor();
    await carol.seat(12, 'free').click();
    await carol.page.getByRole('button', { name: /^Seat 12, free/, pressed: true }).waitFor();
    await carol.screenshot('seat-map.png');
    await bob.screenshot('seat-map-phone.png');
  }, 180_000);

  it('keeps a waiter’s exact position live from queue:tick pushes, across a reload and a dropped connection, until admitted', async () => {
    const concert = await createConcert(server, { seats: 10, price: 500 });
    const dateId = concert.dates[0]!.id;
    // Two users fill the active slots; two more wait ahead of the browser buyer.
    const active1 = await socketUser(concert, 'ACTIVE');
    const active2 = await socketUser(concert, 'ACTIVE');
    const waiter1 = await socketUser(concert, 'WAITING');
    const waiter2 = await socketUser(concert, 'WAITING');
    expect([waiter1.status.position, waiter2.status.position]).toEqual([1, 2]);

    const dave = await openBuyer(browserB, 'Dave');
    await dave.signUp();
    await dave.joinLine(concert.id, dateId);
    await dave.view('queue');
    await dave.hasText('queue-position', '3');
    await dave.hasText('queue-waiting', '3');
    await dave.hasText('queue-state', '2 people are ahead of you.');
    await dave.hasText('queue-progress-text', '0%');
    const ticket = await dave.text('queue-ticket');
    expect(dave.sentCount('queue:join')).toBe(1);
    expect(dave.sentCount('queue:status')).toBe(0);

    // The first waiter leaves: Dave moves up from the broadcast tick, no reload, no polling.
    await leave(waiter1);
    await dave.hasText('queue-position', '2');
    await dave.hasText('queue-waiting', '2');
    await dave.hasText('queue-progress-text', '33%');
    expect(dave.sentCount('queue:status')).toBe(0);
    await dave.screenshot('waiting-room.png');

    // Reloading keeps the place and the ticket.
    await dave.page.reload();
    await dave.view('queue');
    await dave.hasText('queue-position', '2');
    await dave.hasText('queue-ticket', ticket);
    expect([dave.sentCount('queue:join'), dave.sentCount('queue:status')]).toEqual([1, 1]); // asked, did not join again

    // Dave's connection drops; meanwhile an active user leaves and the next in line (waiter2) is
    // admitted. The tick is lost to Dave; reconnecting asks queue:status, and Dave is next.
    await dropConnection(dave);
    await leave(active1);
    await dave.page.locator('[data-testid="connection-status"][data-state="online"]').waitFor();
    await dave.hasText('queue-position', '1');
    await dave.hasText('queue-ticket', ticket);
    expect([dave.sentCount('queue:join'), dave.sentCount('queue:status')]).toEqual([1, 2]);
    await dave.hasText('queue-state', 'You are next in line.');

    // Another slot opens: Dave is let in and sees the seat map.
    await leave(active2);
    await dave.view('seats');
    await dave.seat(1, 'free').waitFor();
    expect(await dave.text('active-time')).toMatch(/^Time left to shop: \d+:\d\d$/);
  }, 120_000);

  it('shows a pre-queued buyer when the line opens, then the drawn place once the operator opens the paused sale, then the seats on resume', async () => {
    const concert = await createConcert(server, { seats: 10, sale: { opensAt: new Date(Date.now() + 3_600_000).toISOString(), paused: true } });
    const erin = await openBuyer(browserA, 'Erin');
    await erin.signUp();
    await erin.joinLine(concert.id, concert.dates[0]!.id);
    await erin.view('queue');
    await erin.hasText('queue-ticket', 'drawn at the opening');
    await erin.hasText('queue-state', /your place is drawn at random among everyone here at the opening/);
    // The pre-queue screen counts down to the opening, and passes axe too.
    await erin.hasText('queue-progress-text', /^Opens in (\d+:)?\d+:\d\d$/);
    expect((await erin.axe()).serious).toEqual([]);

    const sale = (body: Record<string, unknown>) => http(server, 'PATCH', `/admin/concerts/${concert.id}/sale`, { token: ADMIN_TOKEN, body });
    expect((await sale({ opensAt: new Date().toISOString() })).status).toBe(200);
    // The draw's queue:status push: a ticket and a place, and no estimate while paused.
    await erin.hasText('queue-ticket', /^#\d+$/);
    await erin.hasText('queue-position', '1');
    await erin.hasText('queue-eta', 'paused');
    expect((await sale({ paused: false })).status).toBe(200);
    await erin.view('seats');
  }, 120_000);
});
