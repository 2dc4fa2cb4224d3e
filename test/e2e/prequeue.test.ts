import { serverFor, type TestServer } from '../support/server';
import { openingRun } from '../support/prequeue';

/**
 * PROTOCOL.md "Sale settings, pre-queue and the operator": the opening's
 * draw on one instance (in-process store).
 */
describe('a sale opening with a pre-queue (in-process store)', () => {
  let server: TestServer;
  serverFor({ env: { QUEUE_ADMIT_INTERVAL_MS: '100' } }, (s) => (server = s));

  it('200 joins before the opening wait without a ticket; at the opening each is pushed one distinct drawn ticket ahead of the 50 who come after; ticks keep positions exact; two openings draw different orders', async () => {
    const first = await openingRun([server], 200, 50);
    const second = await openingRun([server], 200, 50);
    expect(first.drawnOrder).not.toEqual(second.drawnOrder);
    expect(first.drawnOrder).not.toEqual(Array.from({ length: 200 }, (_, i) => i));
    // 500 sign-ups and sockets: about 17 s here, far more on a shared, loaded machine.
  }, 180_000);
});
