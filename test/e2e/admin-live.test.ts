/**
 * The operator's live view (PROTOCOL.md "Sale settings, pre-queue and the
 * operator"): Socket.IO namespace `/admin`, `auth: {token: ADMIN_TOKEN}`,
 * `admin:stats {concertId, at, stats}` about once a second for every concert
 * on sale, with the figures the rooms hold. On the engine of WS_ENGINE (npm
 * test runs both), and across two instances with Redis.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { io as connect, type Socket } from 'socket.io-client';
import type { AdminStats } from '../../src/protocol/events';
import { ADMIN_PUSH_SCHEMAS } from '../../src/protocol/push-schemas';
import { buyer, hold, pay } from '../support/buyers';
import { closeClients } from '../support/clients';
import { testRedisPrefix } from '../support/env';
import { closeAll, queueServer, waiter, type Waiter } from '../support/queue';
import { ADMIN_TOKEN, createConcert, http, serverFor, startServer, type TestServer } from '../support/server';
import { waitFor } from '../support/wait';

const operators: Socket[] = [];
const waiters: Waiter[] = [];
afterEach(() => {
  closeClients();
  closeAll(waiters.splice(0));
  for (const s of operators.splice(0)) s.close();
});

/** An operator socket on `/admin`, recording every admin:stats; rejects with the connect_error message. */
function operator(server: { url: string }, auth: Record<string, unknown>): Promise<{ socket: Socket; seen: AdminStats[] }> {
  return new Promise((resolve, reject) => {
    const socket = connect(`${server.url}/admin`, { transports: ['websocket'], auth, reconnection: false, forceNew: true });
    const seen: AdminStats[] = [];
    socket.on('admin:stats', (s: AdminStats) => seen.push(s));
    socket.once('connect', () => {
      operators.push(socket);
      resolve({ socket, seen });
    });
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

const refusal = (server: { url: string }, auth: Record<string, unknown>) => operator(server, auth).then(() => 'connected', (err: Error) => err.message);

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validStats = ajv.compile(ADMIN_PUSH_SCHEMAS['admin:stats'].payload);

/** The latest figures of the concert pushed after `since` (ms), once `until` holds for them. */
const latest = (seen: AdminStats[], concertId: number, until: (s: AdminStats['stats']) => boolean, since = 0) =>
  waitFor(() => [...seen].reverse().find((s) => s.concertId === concertId && Date.parse(s.at) >= since && until(s.stats)), `admin:stats of concert ${concertId}`, 15_000);

const ENV = { QUEUE_ADMIT_INTERVAL_MS: '100', QUEUE_ADMIT_BATCH: '50', QUEUE_MAX_ACTIVE: '100' };

describe('the /admin namespace', () => {
  let server: TestServer;
  serverFor({ env: ENV }, (s) => (server = s));

  it('refuses a missing, wrong or non-string token with connect_error "UNAUTHORIZED"', async () => {
    expect(await refusal(server, {})).toBe('UNAUTHORIZED');
    expect(await refusal(server, { token: `${ADMIN_TOKEN}x` })).toBe('UNAUTHORIZED');
    expect(await refusal(server, { token: 42 })).toBe('UNAUTHORIZED');
  });

  it('pushes admin:stats about once a second per concert on sale: queue, pre-queue, holds, sales and revenue as the rooms hold them', async () => {
    const open = await createConcert(server, { dates: 2, seats: 10, price: 1500 });
    const paused = await createConcert(server, { sale: { paused: true } });
    const later = await createConcert(server, { sale: { opensAt: new Date(Date.now() + 3_600_000).toISOString() } });
    const { seen } = await operator(server, { token: ADMIN_TOKEN });

    const [a, b] = [await buyer(server, open.id, { balance: 10_000 }), await buyer(server, open.id, { balance: 10_000 })];
    const dateId = open.dates[0]!.id;
    expect(await hold(a, dateId, [1, 2])).toMatchObject({ ok: true });
    const bought = await hold(b, dateId, [3]);
    expect(await pay(b, bought.data.id)).toMatchObject({ ok: true });
    for (let i = 0; i < 3; i++) waiters.push(await waiter(server, paused.id));
    for (let i = 0; i < 2; i++) waiters.push(await waiter(server, later.id));

    const seats = await latest(seen, open.id, (s) => s.holds === 2 && s.sold === 1);
    expect(seats.stats).toEqual({
      waiting: 0,
      preQueued: 0,
      // The payer's entry ended with the payment (PAID).
      active: 1,
      admittedLastMinute: 2,
      holds: 2,
      sold: 1,
      revenue: 1500,
      dates: [
        { dateId, free: 7, held: 2, sold: 1 },
        { dateId: open.dates[1]!.id, free: 10, held: 0, sold: 0 },
      ],
    });
    expect((await latest(seen, paused.id, (s) => s.waiting === 3)).stats).toMatchObject({ waiting: 3, preQueued: 0, active: 0, holds: 0, sold: 0, revenue: 0 });
    expect((await latest(seen, later.id, (s) => s.preQueued === 2)).stats).toMatchObject({ waiting: 0, preQueued: 2, active: 0 });
    for (const s of seen) expect({ s, errors: validStats(s) ? null : validStats.errors }).toEqual({ s, errors: null });

    // About once a second: count one concert's pushes over four seconds.
    const from = seen.length;
    await new Promise((r) => setTimeout(r, 4000));
    const pushes = seen.slice(from).filter((s) => s.concertId === paused.id).length;
    expect(pushes).toBeGreaterThanOrEqual(2);
    expect(pushes).toBeLessThanOrEqual(5);
  });

  it('does not push a concert whose dates have all started', async () => {
    const past = await createConcert(server, { startsInMs: -86_400_000 * 3 });
    const current = await createConcert(server);
    const { seen } = await operator(server, { token: ADMIN_TOKEN });
    await latest(seen, current.id, () => true, Date.now() + 1000);
    expect(seen.filter((s) => s.concertId === past.id)).toEqual([]);
  });
});

describe('the /admin namespace without ADMIN_TOKEN', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { ...ENV, ADMIN_TOKEN: '' } });
  });
  afterAll(() => server?.close());

  it('refuses every handshake with connect_error "NOT_FOUND", as the admin routes answer 404', async () => {
    expect(await refusal(server, { token: ADMIN_TOKEN })).toBe('NOT_FOUND');
  });
});

describe('guessing the admin token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: ENV });
  });
  afterAll(() => server?.close());

  it('costs the address its admin budget: 10 failed handshakes, then RATE_LIMITED on the namespace and 429 on the routes', async () => {
    for (let i = 0; i < 10; i++) expect(await refusal(server, { token: `guess-${i}` })).toBe('UNAUTHORIZED');
    expect(await refusal(server, { token: ADMIN_TOKEN })).toBe('RATE_LIMITED');
    expect((await http(server, 'GET', '/admin/concerts', { token: ADMIN_TOKEN })).status).toBe(429);
  });
});

describe('the /admin namespace on two instances (Redis)', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const env = { ...ENV, REDIS_PREFIX: testRedisPrefix('admin-live'), WS_ENGINE: 'node' };
    [a, b] = [await queueServer(true, env), await queueServer(true, env)];
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('an operator on either instance sees what happens on the other, one push per concert per second', async () => {
    const concert = await createConcert(a, { seats: 10, price: 2000, sale: { maxActive: 1 } });
    const onA = await operator(a, { token: ADMIN_TOKEN });
    const onB = await operator(b, { token: ADMIN_TOKEN });
    const first = await buyer(a, concert.id, { balance: 10_000 });
    expect(await hold(first, concert.dates[0]!.id, [5])).toMatchObject({ ok: true });
    for (let i = 0; i < 2; i++) waiters.push(await waiter(b, concert.id));
    for (const { seen } of [onA, onB]) {
      const s = await latest(seen, concert.id, (x) => x.holds === 1 && x.waiting === 2);
      expect(s.stats).toMatchObject({ active: 1, waiting: 2, holds: 1, sold: 0, dates: [{ dateId: concert.dates[0]!.id, free: 9, held: 1, sold: 0 }] });
    }
    // Not one push per instance: each pushes to its own operators only.
    const from = { a: onA.seen.length, b: onB.seen.length };
    await new Promise((r) => setTimeout(r, 4000));
    for (const [seen, start] of [[onA.seen, from.a], [onB.seen, from.b]] as const) {
      const pushes = seen.slice(start).filter((s) => s.concertId === concert.id).length;
      expect(pushes).toBeGreaterThanOrEqual(2);
      expect(pushes).toBeLessThanOrEqual(5);
    }
  });
});
