import type { Browser } from 'playwright-core';
import type { QueueTick } from '../../src/protocol/events';
import { Buyer, launchBrowser } from '../support/browser';
import { closeAll, waiter, type Waiter } from '../support/queue';
import { ADMIN_TOKEN, createConcert, http, startServer, type TestServer } from '../support/server';
import { waitFor } from '../support/wait';

/**
 * The operator page (public/admin.html, served at /admin) in headless
 * Chromium against a real server, while a buyer page waits in the line: the
 * token, the live list, a pace change, a new date and a pause, each confirmed first and
 * then found in the audit trail and in the waiting room's ticks. One
 * admission slot (QUEUE_MAX_ACTIVE=1), taken, keeps the buyer waiting.
 */

let server: TestServer;
let browser: Browser;
const pages: Buyer[] = [];
const waiters: Waiter[] = [];

beforeAll(async () => {
  server = await startServer({ env: { QUEUE_ADMIT_INTERVAL_MS: '200', QUEUE_ADMIT_BATCH: '1', QUEUE_MAX_ACTIVE: '1' } });
  browser = await launchBrowser();
}, 60_000);

afterEach(async () => {
  for (const p of pages) expect({ page: p.name, errors: p.errors }).toEqual({ page: p.name, errors: [] });
  await Promise.all(pages.splice(0).map((p) => p.close()));
  closeAll(waiters.splice(0));
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(path: string, name: string, viewport = { width: 1280, height: 1000 }): Promise<Buyer> {
  const page = await Buyer.open(browser, `${server.url}${path}`, `${name} ${Date.now().toString(36)}`, { viewport });
  pages.push(page);
  return page;
}

/** Clicks `button`, expects the confirmation dialog to say `text`, and confirms. */
async function confirmed(operator: Buyer, button: string, text: RegExp): Promise<void> {
  await operator.byTestId(button).click();
  await operator.byTestId('confirm-text').filter({ hasText: text }).waitFor();
  // The last change's "Saved." is gone before this one is confirmed.
  await operator.byTestId('message').waitFor({ state: 'hidden' });
  await operator.byTestId('confirm-ok').click();
  await operator.hasText('message', /Saved\./);
}

it('the operator signs in with the token, watches the line live, changes the pace, adds a date and pauses while a buyer page waits', async () => {
  const concert = await createConcert(server, { dates: 2, seats: 30, price: 55_000 });
  // The only admission slot goes to a first user; everyone after waits.
  const first = await waiter(server, concert.id);
  waiters.push(first);
  await waitFor(() => first.admitted.length === 1, 'the first user admitted');
  for (let i = 0; i < 3; i++) waiters.push(await waiter(server, concert.id));
  const ticks: QueueTick[] = [];
  waiters[1]!.socket.on('queue:tick', (t: QueueTick) => ticks.push(t));

  const buyer = await open('/', 'buyer');
  await buyer.signUp();
  await buyer.joinLine(concert.id, concert.dates[0]!.id);
  await buyer.view('queue');

  const operator = await open('/admin', 'operator');
  await operator.page.getByLabel('Admin token').fill(`${ADMIN_TOKEN}-wrong`);
  await operator.byTestId('signin-submit').click();
  await operator.hasText('message', 'Wrong admin token.');
  // The browser logs the refused request itself: that one is expected.
  expect(operator.errors.splice(0)).toEqual([expect.stringContaining('401 (Unauthorized)')]);
  await operator.page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await operator.byTestId('signin-submit').click();
  await operator.page.locator('[data-testid="connection-status"][data-state="online"]').waitFor();
  // Live figures from admin:stats: three socket waiters and the buyer page.
  await operator.hasText(`waiting-${concert.id}`, '4');
  await operator.hasText(`active-${concert.id}`, '1');

  await operator.byTestId(`concert-${concert.id}`).getByRole('button').click();
  await operator.byTestId('detail-title').filter({ hasText: /Test concert/ }).waitFor();
  await operator.byTestId(`date-${concert.dates[1]!.id}`).filter({ hasText: '30' }).waitFor();

  // The pace: asked first; cancelling changes nothing.
  await operator.page.getByLabel('Admitted per tick').fill('3');
  await operator.byTestId('sale-save').click();
  await operator.byTestId('confirm-text').filter({ hasText: /Admitted per tick 1 → 3/ }).waitFor();
  await operator.byTestId('confirm-cancel').click();
  expect((await http(server, 'GET', `/admin/concerts/${concert.id}`, { token: ADMIN_TOKEN })).body['concert'].sale.admitPerTick).toBe(1);
  await confirmed(operator, 'sale-save', /Admitted per tick 1 → 3/);
  await operator.byTestId('audit').filter({ hasText: 'admitPerTick: 1 → 3' }).waitFor();

  // A date: the new row in the dates table and in the audit.
  await operator.page.getByLabel('Starts at').fill('2030-01-15T19:30');
  await operator.page.getByLabel('Seats', { exact: true }).fill('20');
  await operator.page.getByLabel('Price (won)').fill('70000');
  await confirmed(operator, 'date-add', /Add a date to "Test concert.*20 seats at ₩70,000/);
  const dates = (await http(server, 'GET', `/admin/concerts/${concert.id}`, { token: ADMIN_TOKEN })).body['concert'].dates as { id: number; totalSeats: number }[];
  expect(dates).toHaveLength(3);
  await operator.byTestId(`date-${dates[2]!.id}`).filter({ hasText: '20' }).waitFor();
  await operator.byTestId('audit').filter({ hasText: /date: – → .*\(20\)/ }).waitFor();

  await confirmed(operator, 'pause-button', /Pause "Test concert/);
  await operator.hasText('sale-state', 'paused');
  await operator.byTestId('audit').filter({ hasText: 'paused: false → true' }).waitFor();
  const paused = await waitFor(() => ticks.find((t) => t.paused), 'a paused tick');
  expect(paused).toMatchObject({ concertId: concert.id, paused: true, admitted: 0, etaSecondsPerPosition: null });
  const { sale } = (await http(server, 'GET', `/admin/concerts/${concert.id}`, { token: ADMIN_TOKEN })).body['concert'];
  expect(sale).toMatchObject({ admitPerTick: 3, paused: true });
  await buyer.view('queue');
  // A line of several points (a flat line has no height, so "attached" rather than visible).
  await operator.page.locator('#chart polyline[points*=" "]').first().waitFor({ state: 'attached' });
  await operator.screenshot('operator.png');

  // Korean labels, remembered with the buyer page's choice.
  await operator.byTestId('lang').click();
  await operator.page.getByRole('heading', { name: '공연', exact: true }).waitFor();
  await operator.hasText('sale-state', '일시정지');
  await operator.page.locator('[data-testid="connection-status"][data-state="online"]').filter({ hasText: '실시간' }).waitFor();
  await operator.screenshot('operator-ko.png');
  await operator.byTestId('lang').click();

  await confirmed(operator, 'pause-button', /Resume "Test concert/);
  await operator.hasText('sale-state', 'open');
  await waitFor(() => ticks.find((t) => t.tick > paused.tick && !t.paused), 'a tick after the resume');
}, 120_000);
