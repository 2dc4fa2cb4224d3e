import type { Browser } from 'playwright-core';
import { Buyer, launchBrowser } from '../support/browser';
import { createConcert, startServer, type TestServer } from '../support/server';

/**
 * A sale that asks for proof of work: the buyer page solves the challenge in a
 * Web Worker (public/js/pow-worker.js) and joins the line, with no script
 * error, through the server's CSP.
 */
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ env: { QUEUE_CHALLENGE: 'pow', QUEUE_CHALLENGE_COST: '20000' } });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('solves the waiting room’s challenge in a worker and joins the line', async () => {
  const concert = await createConcert(server, { seats: 5 });
  const dateId = concert.dates[0]!.id;
  const buyer = await Buyer.open(browser, server.url, `Pow ${Date.now().toString(36)}`);
  try {
    await buyer.signUp();
    await buyer.joinLine(concert.id, dateId);
    await buyer.page.locator('body[data-view="queue"], body[data-view="seats"]').waitFor();
    // One refused join (no solution), one challenge, one join with the solution.
    expect(buyer.sentCount('queue:join')).toBe(2);
    expect(buyer.sentCount('queue:challenge')).toBe(1);
    expect(buyer.errors).toEqual([]);
  } finally {
    await buyer.close();
  }
});
