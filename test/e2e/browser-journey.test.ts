import type { Browser } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { QueryTypes } from 'sequelize';
import { Buyer, UI_TIMEOUT_MS, launchBrowser } from '../support/browser';
import { eventually } from '../support/wait';
import { connectClient, createConcert, nextEvent, signup, startServer, type ConcertFixture, type TestServer } from '../support/server';

/**
 * The buyer's whole journey in real headless Chromiums, once in Korean (a
 * ko-KR browser) and once in English, on a desktop and a phone at once: the
 * price range and the venue's time on the list, the waiting room (no estimate
 * before admissions are measured, the tab title on admission), the graded seat
 * map seen live by both, the sticky bar's countdown with its 60 s warning,
 * payment, "My tickets" after signing out and in again, and a refund confirmed
 * by its amount. axe-core checks every screen: zero serious or critical
 * violations. With UPDATE_SCREENSHOTS=1 (`npm run screenshots`) the README's
 * screenshots are rewritten.
 */

let server: TestServer;
let browser: Browser;
const buyers: Buyer[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startServer({
    env: {
      QUEUE_ADMIT_INTERVAL_MS: '200',
      QUEUE_ADMIT_BATCH: '1',
      QUEUE_MAX_ACTIVE: '2',
      // At most 60 s on a hold: the bar's warning shows from the start.
      HOLD_TTL_SECONDS: '60',
      // Access tokens of 65 s: the page renews them every few seconds (a minute before expiry), all through the journeys.
      ACCESS_TOKEN_TTL_SECONDS: '65',
      MAX_SEATS_PER_USER: '4',
    },
  });
  browser = await launchBrowser();
}, 60_000);

afterEach(async () => {
  const open = buyers.splice(0);
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(open.map((b) => b.close()));
  for (const buyer of open) expect({ buyer: buyer.name, errors: buyer.errors }).toEqual({ buyer: buyer.name, errors: [] });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/** What the page must say, per language. */
const TEXT = {
  ko: {
    locale: 'ko-KR',
    title: '한여름 밤의 콘서트',
    venue: '올림픽공원 KSPO DOME',
    range: '55,000원 ~ 154,000원',
    zone: '한국 시간',
    measuring: '입장 속도 측정 중',
    admittedTitle: '▶ 내 차례입니다! — Tix',
    heldSeat: /^좌석 1, 선점됨$/,
    total: '308,000원',
    seat20: '55,000원',
    refundQuestion: /308,000원을\(를\) 지갑으로 환불할까요\?$/,
    paid: '결제 완료',
    canceled: '취소됨',
    balanceAfterRefund: '500,000원',
  },
  en: {
    locale: 'en-US',
    title: 'Midsummer Night Concert',
    venue: 'KSPO DOME, Olympic Park',
    range: '₩55,000 ~ ₩154,000',
    zone: 'Seoul time',
    measuring: 'measuring the pace',
    admittedTitle: '▶ Your turn! — Tix',
    heldSeat: /^Seat 1, held$/,
    total: '₩308,000',
    seat20: '₩55,000',
    refundQuestion: /and refund ₩308,000 to your wallet\?$/,
    paid: 'Paid',
    canceled: 'Canceled',
    balanceAfterRefund: '₩500,000',
  },
} as const;

/** A hall of three grades: VIP 1–4 (154,000 won), R 5–12 (99,000), S 13–20 (55,000). */
async function gradedConcert(title: string, venue: string): Promise<ConcertFixture> {
  const concert = await createConcert(server, { seats: 20, price: 55_000 });
  const dateId = concert.dates[0]!.id;
  await server.db.sequelize.query('UPDATE concerts SET title = :title, venue = :venue WHERE id = :id', {
    type: QueryTypes.UPDATE,
    replacements: { title, venue, id: concert.id },
  });
  const grade = (name: string, price: number, from: number, to: number) =>
    server.db.sequelize.query('UPDATE seats SET grade = :name, price = :price WHERE date_id = :dateId AND number BETWEEN :from AND :to', {
      type: QueryTypes.UPDATE,
      replacements: { name, price, dateId, from, to },
    });
  await grade('VIP', 154_000, 1, 4);
  await grade('R', 99_000, 5, 12);
  await grade('S', 55_000, 13, 20);
  return concert;
}

/** Takes one active slot of the concert (a socket.io-client user), so the next buyer waits. */
async function slotTaker(concert: ConcertFixture) {
  const user = await signup(server);
  const socket = await connectClient(server, user.token);
  sockets.push(socket);
  const admitted = nextEvent(socket, 'queue:admitted', (e: { concertId: number }) => e.concertId === concert.id, UI_TIMEOUT_MS);
  admitted.catch(() => undefined);
  const joined = await socket.emitWithAck('queue:join', { concertId: concert.id });
  expect(joined).toMatchObject({ ok: true, data: { concertId: concert.id } });
  if (joined.data.status !== 'ACTIVE') await admitted;
  return { leave: () => socket.emitWithAck('queue:leave', { queueToken: joined.data.token }) };
}

async function open(name: string, locale: string, viewport: { width: number; height: number }): Promise<Buyer> {
  const buyer = await Buyer.open(browser, server.url, `${name} ${Date.now().toString(36)}`, { locale, viewport });
  buyers.push(buyer);
  return buyer;
}

/** Zero serious or critical axe violations on the screen as it is now. */
async function accessible(buyer: Buyer, screen: string): Promise<void> {
  const { serious } = await buyer.axe();
  expect({ screen, serious }).toEqual({ screen, serious: [] });
}

const seatState = (buyer: Buyer, number: number, status: 'FREE' | 'HELD' | 'SOLD', mine: boolean) =>
  buyer.page.locator(`[data-testid="seat-${number}"][data-status="${status}"][data-mine="${mine}"]`).waitFor();

describe.each(['ko', 'en'] as const)('the buyer journey in %s', (lang) => {
  const text = TEXT[lang];

  it('lists prices and Seoul times, waits, shows the graded map live to two buyers, pays, finds the ticket after signing in again, cancels the other hold and refunds the ticket', async () => {
    const concert = await gradedConcert(text.title, text.venue);
    const dateId = concert.dates[0]!.id;
    const desk = await open('Desk', text.locale, DESKTOP);
    const phone = await open('Phone', text.locale, PHONE);

    // Sign-up screen in the browser's language.
    await desk.view('signup');
    expect(await desk.page.evaluate('document.documentElement.lang')).toBe(lang);
    await accessible(desk, 'sign-in');
    await Promise.all([desk.signUp(), phone.signUp()]);

    // The list: the price range and the venue's time, labelled, though the browser runs on UTC.
    const card = desk.byTestId(`concert-${concert.id}`);
    await card.filter({ hasText: text.range }).waitFor();
    expect(await card.textContent()).toContain(text.zone);
    await accessible(desk, 'concert list');

    // One slot is taken: the desktop buyer is admitted to the other, the phone waits.
    const taker = await slotTaker(concert);
    await desk.joinLine(concert.id, dateId);
    await desk.view('seats');
    await phone.joinLine(concert.id, dateId);
    await phone.view('queue');
    await phone.hasText('queue-position', '1');
    // Nobody has been admitted while the phone waited: no estimate yet, only that it is being measured.
    await phone.hasText('queue-eta', text.measuring);
    await accessible(phone, 'waiting room');

    // The slot frees: the phone is let in, and its tab title says so.
    await taker.leave();
    await phone.view('seats');
    expect(await phone.page.title()).toBe(text.admittedTitle);

    // The graded map: three grades with their prices in the legend.
    await desk.byTestId('grade-legend').locator('li').nth(2).waitFor();
    expect((await desk.byTestId('grade-legend').locator('li').allTextContents()).map((s) => s.trim())).toEqual(
      lang === 'ko' ? ['VIP 154,000원', 'R 99,000원', 'S 55,000원'] : ['VIP ₩154,000', 'R ₩99,000', 'S ₩55,000'],
    );
    await accessible(desk, 'seat map');

    // On the phone the hall keeps its ten columns and fits the screen.
    const hall = await phone.page.evaluate<{ columns: number; fits: boolean }>(
      '(() => { const g = document.getElementById("seat-grid"); return { columns: getComputedStyle(g).gridTemplateColumns.split(" ").length, fits: g.scrollWidth <= g.parentElement.clientWidth + 1 }; })()',
    );
    expect(hall).toEqual({ columns: 10, fits: true });

    // Seat 1 with the mouse, seat 2 with the keyboard; hold them from the sticky bar.
    await desk.byTestId('seat-1').click();
    await desk.page.keyboard.press('ArrowRight');
    await desk.page.keyboard.press('Space');
    await desk.page.locator('[data-testid="seat-2"][aria-pressed="true"]').waitFor();
    await desk.byTestId('hold-button').click();
    await Promise.all([seatState(desk, 1, 'HELD', true), seatState(desk, 2, 'HELD', true)]);
    // The countdown and, with at most a minute left, the warning.
    expect(await desk.text('hold-countdown')).toMatch(/^[01]:\d\d$/);
    await desk.byTestId('hold-warning').waitFor();

    // The phone sees the hold live, and reads it in its language.
    await Promise.all([seatState(phone, 1, 'HELD', false), seatState(phone, 2, 'HELD', false)]);
    expect(await phone.byTestId('seat-1').getAttribute('aria-label')).toMatch(text.heldSeat);
    await accessible(phone, 'seat map (phone)');
    await desk.screenshot(`buyer-${lang}-desktop.png`);

    // A second hold, of seat 20: the bar keeps counting down the first one, which runs out first.
    await desk.byTestId('seat-20').click();
    await desk.byTestId('hold-button').click();
    await seatState(phone, 20, 'HELD', false);

    // Funds, then Pay in the bar: it pays the first hold.
    await desk.byTestId('charge-amount').fill('500000');
    await desk.byTestId('charge-button').click();
    await desk.byTestId('wallet-balance').filter({ hasText: lang === 'ko' ? '500,000원' : '₩500,000' }).waitFor();
    await desk.byTestId('pay-button').click();
    await desk.byTestId('confirmation').waitFor();
    await seatState(phone, 1, 'SOLD', false);
    await accessible(desk, 'payment confirmation');
    await phone.screenshot(`buyer-${lang}-phone.png`, { fullPage: false });

    // Sign out and in again: My tickets has the booking.
    await desk.signOut();
    await desk.signIn();
    await desk.byTestId('nav-tickets').click();
    await desk.view('tickets');
    const ticket = desk.page.locator('[data-testid^="ticket-"][data-status="CONFIRMED"]');
    await ticket.waitFor();
    expect(await ticket.getByTestId('booking-number').textContent()).toMatch(/^T\d{8}$/);
    expect(await ticket.getByTestId('ticket-total').textContent()).toBe(text.total);
    expect(await ticket.getByTestId('ticket-paid-at').textContent()).toContain(text.zone);
    expect(await ticket.textContent()).toContain(text.paid);
    await accessible(desk, 'my tickets');
    if (lang !== 'ko') await desk.screenshot('buyer-en-tickets.png');

    // The second hold is there too, unpaid: cancel it from My tickets and the phone sees seat 20 free.
    const held = desk.page.locator('[data-testid^="ticket-"][data-status="HELD"]');
    expect(await held.getByTestId('ticket-total').textContent()).toBe(text.seat20);
    await held.locator('[data-action="cancel"]').click();
    await desk.page.locator('[data-testid^="ticket-"][data-status="CANCELED"]').waitFor();
    await seatState(phone, 20, 'FREE', false);

    // Refund: a confirmation that names the amount, then the ticket is canceled and the money back.
    await ticket.locator('[data-action="refund"]').click();
    await desk.byTestId('refund-dialog').waitFor();
    expect(await desk.text('refund-question')).toMatch(text.refundQuestion);
    await accessible(desk, 'refund confirmation');
    await desk.byTestId('refund-confirm').click();
    await desk.page.locator('[data-testid^="ticket-"][data-status="CANCELED"]').nth(1).waitFor();
    expect(await desk.page.locator('[data-testid^="ticket-"][data-status="CANCELED"]').first().textContent()).toContain(text.canceled);
    await desk.hasText('tickets-balance', text.balanceAfterRefund);
    await seatState(phone, 1, 'FREE', false);

    // Switching the language redraws what is on screen: My tickets, and the live seat map.
    if (lang === 'en') {
      await desk.byTestId('lang-switch').click();
      await desk.hasText('tickets-balance', '500,000원');
      await desk.page.locator('[data-testid^="ticket-"][data-status="CANCELED"]').filter({ hasText: '취소됨' }).first().waitFor();
      await phone.byTestId('lang-switch').click();
      await phone.page.locator('[data-testid="seat-1"][aria-label^="좌석 1, 선택 가능"]').waitFor();
      await phone.byTestId('hold-button').filter({ hasText: '좌석 선점하기' }).waitFor();
      await accessible(phone, 'seat map switched to Korean');
    }
  }, 180_000);
});

describe('the page’s language', () => {
  it('is switched with one button, remembered across a reload and a sign-out, and redraws what is on screen', async () => {
    const buyer = await open('Switch', 'en-US', DESKTOP);
    await buyer.view('signup');
    await buyer.byTestId('signup-submit').filter({ hasText: 'Create account' }).waitFor();
    await buyer.byTestId('lang-switch').click();
    await buyer.byTestId('signup-submit').filter({ hasText: '회원가입' }).waitFor();
    expect(await buyer.page.evaluate('document.documentElement.lang')).toBe('ko');
    await buyer.page.reload();
    await buyer.byTestId('signup-submit').filter({ hasText: '회원가입' }).waitFor();
    await buyer.signUp();
    await buyer.byTestId('whoami').filter({ hasText: '님' }).waitFor();
    await buyer.signOut();
    await buyer.byTestId('signup-submit').filter({ hasText: '회원가입' }).waitFor();
    await buyer.byTestId('lang-switch').click();
    await buyer.byTestId('signup-submit').filter({ hasText: 'Create account' }).waitFor();
  }, 60_000);

  it('has the same keys in Korean and English', async () => {
    const buyer = await open('Keys', 'en-US', DESKTOP);
    const keys = await buyer.page.evaluate<{ ko: string[]; en: string[] }>(
      '(async () => { const { DICTIONARIES } = await import("/js/i18n.js"); return { ko: Object.keys(DICTIONARIES.ko).sort(), en: Object.keys(DICTIONARIES.en).sort() }; })()',
    );
    expect(keys.en.length).toBeGreaterThan(100);
    expect(keys.ko).toEqual(keys.en);
  });
});

describe('the session', () => {
  it('renews the access token before it expires, over HTTP and on the open socket (auth:refresh), and stays signed in', async () => {
    const buyer = await open('Refresh', 'ko-KR', DESKTOP);
    await buyer.signUp();
    const token = () => buyer.page.evaluate<string>('JSON.parse(localStorage.getItem("tix.user")).token');
    const first = await token();
    await eventually(async () => expect(await token()).not.toBe(first), 20_000);
    await eventually(() => expect(buyer.sentCount('auth:refresh')).toBeGreaterThanOrEqual(1));
    // Still signed in and live: the list answers on the socket.
    await buyer.page.locator('[data-testid="connection-status"][data-state="online"]').waitFor();
    await buyer.page.reload();
    await buyer.view('browse');
  }, 60_000);
});

describe('the waiting room’s estimate', () => {
  it('is shown only once this page has seen someone admitted', async () => {
    const concert = await createConcert(server, { seats: 10 });
    const first = await slotTaker(concert);
    await slotTaker(concert);
    // A socket waiter ahead of the buyer: admitting it is the admission the page measures.
    const waiter = await signup(server);
    const socket = await connectClient(server, waiter.token);
    sockets.push(socket);
    expect(await socket.emitWithAck('queue:join', { concertId: concert.id })).toMatchObject({ ok: true, data: { status: 'WAITING', position: 1 } });

    const buyer = await open('Eta', 'en-US', DESKTOP);
    await buyer.signUp();
    await buyer.joinLine(concert.id, concert.dates[0]!.id);
    await buyer.view('queue');
    await buyer.hasText('queue-position', '2');
    await buyer.hasText('queue-eta', 'measuring the pace');
    await first.leave();
    await buyer.hasText('queue-position', '1');
    await buyer.hasText('queue-eta', /^(less than 10 seconds|about \d+ (seconds|minutes?|hours))$/);
  }, 60_000);
});

describe('availability', () => {
  it('badges a sold-out date and an all-held one, and says on the map that held seats may come free', async () => {
    const concert = await createConcert(server, { dates: 2, seats: 1, price: 1000 });
    const [soldDate, heldDate] = concert.dates;
    // Another buyer (a socket client) pays for the first date's only seat and holds the second's.
    const user = await signup(server);
    const socket = await connectClient(server, user.token);
    sockets.push(socket);
    const admitted = nextEvent(socket, 'queue:admitted', (e: { concertId: number }) => e.concertId === concert.id, UI_TIMEOUT_MS);
    admitted.catch(() => undefined);
    const joined = await socket.emitWithAck('queue:join', { concertId: concert.id });
    if (joined.data.status !== 'ACTIVE') await admitted;
    const queueToken = joined.data.token as string;
    expect((await socket.emitWithAck('wallet:charge', { amount: 1000 })).ok).toBe(true);
    const sold = await socket.emitWithAck('seats:hold', { dateId: soldDate!.id, seatNumbers: [1], queueToken });
    expect((await socket.emitWithAck('seats:hold', { dateId: heldDate!.id, seatNumbers: [1], queueToken })).ok).toBe(true);
    expect((await socket.emitWithAck('payment:pay', { reservationId: sold.data.id, queueToken })).ok).toBe(true);

    const buyer = await open('Badges', 'ko-KR', DESKTOP);
    await buyer.signUp();
    await buyer.byTestId(`concert-${concert.id}`).click();
    await buyer.byTestId(`date-${soldDate!.id}`).getByTestId('badge-SOLD_OUT').filter({ hasText: '매진' }).waitFor();
    await buyer.byTestId(`date-${heldDate!.id}`).getByTestId('badge-ALL_HELD').waitFor();
    expect(await buyer.byTestId(`date-${heldDate!.id}`).textContent()).toContain('좌석이 다시 나올 수 있습니다');
    await accessible(buyer, 'dates with badges');

    // Only holds stand in the way on the second date: the map says seats may come free.
    await buyer.joinLine(concert.id, heldDate!.id);
    await buyer.view('seats');
    await buyer.byTestId('all-held').filter({ hasText: '지금은 모든 좌석이 선점되어 있습니다' }).waitFor();
  }, 60_000);
});
