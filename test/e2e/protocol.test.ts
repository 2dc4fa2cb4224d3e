/**
 * Acceptance-style suite for /work/shared/PROTOCOL.md: every HTTP route and
 * every client-to-server Socket.IO event once on its happy path with the whole
 * reply shape checked, each error code's trigger as PROTOCOL.md describes it,
 * and the server pushes. Where PROTOCOL.md is ambiguous and docs/api.md (or a
 * page it links) documents the choice, the documented choice is asserted and
 * marked "documented choice".
 *
 * Servers, one per top-level describe and never two at once (see serverFor),
 * all on the run's database with the test JWT secret:
 *   main    FAST_QUEUE, default TTLs (HOLD_TTL_SECONDS 300, MAX_SEATS_PER_USER 4)
 *   short   FAST_QUEUE, HOLD_TTL_SECONDS=1               (hold expiry)
 *   queue   admit every 100 ms, QUEUE_MAX_ACTIVE=1, QUEUE_MAX_WAITING=2 (ticks, QUEUE_FULL, sold out)
 *   expiry  admit every 100 ms, QUEUE_MAX_ACTIVE=1, QUEUE_ACTIVE_TTL_SECONDS=2, QUEUE_IDLE_TIMEOUT_SECONDS=1
 *   config  ALLOW_SIGNUP=false, ADMIN_TOKEN unset, JWT_PUBLIC_KEY (RS256 user tokens)
 */
import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { QueryTypes } from 'sequelize';
import type { Socket } from 'socket.io-client';
import {
  ADMIN_TOKEN,
  JWT_SECRET,
  connectClient,
  createConcert,
  http,
  nextEvent,
  signup,
  sleep,
  startServer,
  type HttpResult,
  type TestServer,
} from '../support/server';
import { FAST_QUEUE, activeToken } from '../support/queue';
import { Client } from 'pg';
import { PG_ADMIN_URL, testDatabaseUrl } from '../support/env';
import { CatalogRepository } from '../../src/models/catalog-repository';
import { seedDemo } from '../../src/models/seed';
import { openDatabase } from '../../src/models/database';

jest.setTimeout(60_000);

// ---------------------------------------------------------------------------
// servers and clients

let main: TestServer;
let short: TestServer;
let queueSrv: TestServer;
let expirySrv: TestServer;
let configSrv: TestServer;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const opened: Socket[] = [];

afterEach(() => {
  while (opened.length) opened.pop()?.close();
});

/**
 * One server per describe block, never two alive at once: with the uWebSockets.js
 * engine, socket.io's attachApp() patches the shared Adapter prototype so that
 * every room broadcast in the process publishes through the LAST attached uWS
 * app; overlapping servers in one process would lose each other's pushes.
 */
function serverFor(env: Record<string, string>, assign: (s: TestServer) => void): void {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startServer({ env });
    assign(server);
  });
  afterAll(async () => {
    while (opened.length) opened.pop()?.close();
    await server?.close();
  });
}

async function client(server: TestServer, token: string): Promise<Socket> {
  const socket = await connectClient(server, token);
  opened.push(socket);
  return socket;
}

/** Emits with an ack; rejects if no ack arrives in time. */
function ask(socket: Socket, event: string, payload?: unknown): Promise<any> {
  const s = socket.timeout(20_000);
  return payload === undefined ? s.emitWithAck(event) : s.emitWithAck(event, payload);
}

function record<T = any>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The socket connection attempt's error message (or 'CONNECTED'). */
async function handshake(server: TestServer, token: string | undefined): Promise<string> {
  try {
    const socket = await client(server, token as string);
    socket.close();
    return 'CONNECTED';
  } catch (err) {
    return (err as Error).message;
  }
}

// ---------------------------------------------------------------------------
// matchers

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function matcher(name: string, test: (v: unknown) => boolean): any {
  return { asymmetricMatch: test, toAsymmetricMatcher: () => name, toString: () => name };
}
/** Ids are opaque: numbers or strings, echoed as received. */
const anId = () => matcher('Id', (v) => (Number.isSafeInteger(v) && (v as number) > 0) || (typeof v === 'string' && v.length > 0));
const anInt = (min = 0) => matcher(`Integer>=${min}`, (v) => Number.isSafeInteger(v) && (v as number) >= min);
const nonNegative = () => matcher('Number>=0', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
const isoTime = () => matcher('ISO-8601 UTC', (v) => typeof v === 'string' && ISO_UTC.test(v) && !Number.isNaN(Date.parse(v)));

function reservation(r: {
  id?: unknown;
  dateId: unknown;
  concertId: unknown;
  status: string;
  seats: { number: number; price: number }[];
  total: number;
  paid?: boolean;
}) {
  return {
    id: r.id ?? anId(),
    dateId: r.dateId,
    concertId: r.concertId,
    status: r.status,
    seats: r.seats,
    total: r.total,
    expiresAt: isoTime(),
    createdAt: isoTime(),
    ...(r.paid ? { paidAt: isoTime() } : {}),
  };
}

function seatMap(dateId: unknown, concertId: unknown, startsAt: string, seats: { number: number; grade: string; price: number; status: string }[]) {
  return { dateId, concertId, startsAt, version: anInt(0), seats };
}

function freeSeats(count: number, price: number, grade = 'GENERAL', status: (n: number) => string = () => 'FREE') {
  return Array.from({ length: count }, (_, i) => ({ number: i + 1, grade, price, status: status(i + 1) }));
}

/** QueueStatus, exactly: `token` required (join), optional (status), or absent. */
function expectQueueStatus(s: any, concertId: unknown, status: 'WAITING' | 'ACTIVE' | 'EXPIRED', token: 'required' | 'optional' = 'optional'): void {
  const keys = ['concertId', 'status', 'ticket', 'tick', 'position', 'waiting', 'etaSeconds'];
  if (token === 'required' || (token === 'optional' && s !== null && typeof s === 'object' && 'token' in s)) keys.push('token');
  if (status === 'ACTIVE') keys.push('expiresAt');
  expect(Object.keys(s ?? {}).sort()).toEqual(keys.sort());
  expect(s).toEqual({
    ...(keys.includes('token') ? { token: expect.any(String) } : {}),
    concertId,
    status,
    ticket: anInt(1),
    tick: anInt(0),
    position: status === 'WAITING' ? anInt(1) : 0,
    waiting: anInt(0),
    etaSeconds: status === 'WAITING' ? nonNegative() : 0,
    ...(status === 'ACTIVE' ? { expiresAt: isoTime() } : {}),
  });
  if (status === 'WAITING') expect(s.position).toBeLessThanOrEqual(s.waiting);
}

function expectErrorBody(error: any, code: string): void {
  expect(error?.code).toBe(code);
  expect(typeof error.message).toBe('string');
  expect(Object.keys(error).every((k) => ['code', 'message', 'details'].includes(k))).toBe(true);
  if ('details' in error) expect(typeof error.details).toBe('object');
  expect(JSON.stringify(error)).not.toMatch(/\n\s+at |\bat .*\.(ts|js):\d+/);
}

function expectHttpError(res: HttpResult<any>, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(Object.keys(res.body)).toEqual(['error']);
  expectErrorBody(res.body.error, code);
  expect(res.headers.get('content-type') ?? '').toMatch(/application\/json/);
}

function expectAckError(ack: any, code: string): void {
  expect({ ok: ack?.ok, code: ack?.error?.code }).toEqual({ ok: false, code });
  expect(Object.keys(ack).sort()).toEqual(['error', 'ok']);
  expectErrorBody(ack.error, code);
}

function expectAckOk(ack: any): any {
  expect(ack?.error).toBeUndefined();
  expect(Object.keys(ack ?? {}).sort()).toEqual(['data', 'ok']);
  expect(ack.ok).toBe(true);
  return ack.data;
}

/** seats:changed = {dateId, version, seats}; `at` (ms since epoch) is docs/api.md's documented addition. */
function expectSeatsChanged(event: any, dateId: unknown, version: number, seats: { number: number; status: string }[]): void {
  const { at, ...rest } = event ?? {};
  if (at !== undefined) expect(typeof at).toBe('number');
  expect(rest).toEqual({ dateId, version, seats });
}

// ---------------------------------------------------------------------------
// database probes ("a rejected command changes nothing")

async function row<T extends object>(server: TestServer, sql: string, bind: unknown[]): Promise<T> {
  const rows = await server.db.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT });
  return rows[0] as T;
}

interface UserState {
  balance: number;
  ledger: number;
  reservations: number;
  live: number;
  payments: number;
}
function userState(server: TestServer, userId: number): Promise<UserState> {
  return row<UserState>(
    server,
    `SELECT u.balance::bigint AS balance,
            (SELECT count(*)::int FROM wallet_ledger WHERE user_id = u.id) AS ledger,
            (SELECT count(*)::int FROM reservations WHERE user_id = u.id) AS reservations,
            (SELECT count(*)::int FROM reservations WHERE user_id = u.id AND status IN ('HELD', 'CONFIRMED')) AS live,
            (SELECT count(*)::int FROM payments WHERE user_id = u.id) AS payments
       FROM users u WHERE u.id = $1`,
    [userId],
  );
}

async function liveSeats(server: TestServer, dateId: number): Promise<number[]> {
  const rows = await server.db.sequelize.query<{ n: number }>(
    'SELECT seat_number AS n FROM reservation_seats WHERE date_id = $1 AND live ORDER BY seat_number',
    { bind: [dateId], type: QueryTypes.SELECT },
  );
  return rows.map((r) => r.n);
}

async function reservationStatus(server: TestServer, id: number): Promise<string> {
  return (await row<{ status: string }>(server, 'SELECT status FROM reservations WHERE id = $1', [id])).status;
}

// ---------------------------------------------------------------------------
// token factories

const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const badUserTokens = (userId: number, queueToken?: string): [string, string | undefined][] => [
  ['missing', undefined],
  ['malformed', 'not-a-jwt'],
  ['forged (wrong secret)', jwt.sign({ typ: 'user' }, 'another-secret-entirely-0123456789', { subject: String(userId), algorithm: 'HS256' })],
  ['expired', jwt.sign({ typ: 'user', exp: Math.floor(Date.now() / 1000) - 60 }, JWT_SECRET, { subject: String(userId), algorithm: 'HS256' })],
  ['alg none', `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: String(userId), typ: 'user' })}.`],
  ['unexpected algorithm (HS512)', jwt.sign({ typ: 'user' }, JWT_SECRET, { subject: String(userId), algorithm: 'HS512' })],
  ['RS256 when HS256 is configured', jwt.sign({ typ: 'user' }, rsa.privateKey, { subject: String(userId), algorithm: 'RS256' })],
  ...(queueToken ? ([['a queue token', queueToken]] as [string, string][]) : []),
];

// ===========================================================================

describe('main server (FAST_QUEUE, default TTLs)', () => {
  serverFor({ ...FAST_QUEUE }, (s) => (main = s));

  describe('identity', () => {
    it('POST /users → 201 {user: {id, name}, token}; the token is an HS256 JWT whose sub is the user id and works on both transports', async () => {
      const res = await http(main, 'POST', '/users', { body: { name: 'Alice' } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ user: { id: anId(), name: 'Alice' }, token: expect.any(String) });
      const decoded = jwt.decode(res.body.token, { complete: true });
      expect(decoded?.header.alg).toBe('HS256');
      expect(String((decoded?.payload as jwt.JwtPayload).sub)).toBe(String(res.body.user.id));
      expect((await http(main, 'GET', '/wallets/me', { token: res.body.token })).status).toBe(200);
      expect(await handshake(main, res.body.token)).toBe('CONNECTED');
    });

    it('POST /users with a bad body → 400 VALIDATION_FAILED whose details list the failing paths', async () => {
      for (const body of [{}, { name: 5 }, { name: '' }]) {
        const res = await http(main, 'POST', '/users', { body });
        expectHttpError(res, 400, 'VALIDATION_FAILED');
        expect(JSON.stringify(res.body.error.details)).toContain('/name');
      }
      expectHttpError(await http(main, 'POST', '/users', { raw: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED');
    });

    it('refuses missing, malformed, forged, expired, alg-none, unexpected-algorithm and queue tokens: HTTP 401 UNAUTHORIZED, handshake connect_error "UNAUTHORIZED"', async () => {
      const user = await signup(main);
      const concert = await createConcert(main);
      const queueToken = (await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } })).body.token as string;
      for (const [label, token] of badUserTokens(user.id, queueToken)) {
        const res = await http(main, 'GET', '/concerts', { token });
        expect({ label, status: res.status, code: res.body?.error?.code }).toEqual({ label, status: 401, code: 'UNAUTHORIZED' });
        expectHttpError(res, 401, 'UNAUTHORIZED');
        expect({ label, handshake: await handshake(main, token) }).toEqual({ label, handshake: 'UNAUTHORIZED' });
      }
    });

    it('accepts a user token minted with JWT_SECRET whose sub is the user id (string sub)', async () => {
      const user = await signup(main);
      const token = jwt.sign({}, JWT_SECRET, { algorithm: 'HS256', subject: String(user.id) });
      expect((await http(main, 'GET', '/wallets/me', { token })).status).toBe(200);
      expect(await handshake(main, token)).toBe('CONNECTED');
    });

    it('accepts a user token minted with JWT_SECRET whose sub is the numeric user id (ids are echoed as received)', async () => {
      const user = await signup(main);
      const token = jwt.sign({ sub: user.id }, JWT_SECRET, { algorithm: 'HS256' });
      expect((await http(main, 'GET', '/wallets/me', { token })).status).toBe(200);
      expect(await handshake(main, token)).toBe('CONNECTED');
    });

  });

  describe('operations', () => {
    it('GET /health → 200 {status: "ok"}; GET /metrics → Prometheus text', async () => {
      const health = await http(main, 'GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
      const metrics = await http(main, 'GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(typeof metrics.body).toBe('string');
      expect(metrics.body).toMatch(/^# (HELP|TYPE) \w+/m);
      expect(metrics.body).toMatch(/^\w+(\{[^}]*\})? [-+0-9.eE]+(Inf)?( \d+)?$/m);
    });

    it('an unknown route is 404 NOT_FOUND with the error body', async () => {
      const user = await signup(main);
      expectHttpError(await http(main, 'GET', '/nope', { token: user.token }), 404, 'NOT_FOUND');
    });
  });

  describe('admin and catalog', () => {
    it('POST /admin/concerts → 201 {concert: {id, title, venue, dates: [{id, startsAt, totalSeats}]}}, seats numbered 1..count with grade and price', async () => {
      const at1 = new Date(Date.now() + 3 * 86_400_000).toISOString();
      const at2 = new Date(Date.now() + 4 * 86_400_000).toISOString();
      const res = await http(main, 'POST', '/admin/concerts', {
        token: ADMIN_TOKEN,
        body: {
          title: 'Admin show',
          venue: 'Hall A',
          dates: [
            { startsAt: at1, seats: { count: 3, price: 1500, grade: 'VIP' } },
            { startsAt: at2, seats: { count: 2, price: 700 } },
          ],
        },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        concert: {
          id: anId(),
          title: 'Admin show',
          venue: 'Hall A',
          dates: [
            { id: anId(), startsAt: at1, totalSeats: 3 },
            { id: anId(), startsAt: at2, totalSeats: 2 },
          ],
        },
      });
      const concert = res.body.concert;
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const m1 = await http(main, 'GET', `/dates/${concert.dates[0].id}/seats`, { token: user.token, headers: { 'queue-token': qt } });
      expect(m1.status).toBe(200);
      expect(m1.body).toEqual(seatMap(concert.dates[0].id, concert.id, at1, freeSeats(3, 1500, 'VIP')));
      const m2 = await http(main, 'GET', `/dates/${concert.dates[1].id}/seats`, { token: user.token, headers: { 'queue-token': qt } });
      expect(m2.body).toEqual(seatMap(concert.dates[1].id, concert.id, at2, freeSeats(2, 700)));
    });

    it('POST /admin/concerts refuses a wrong admin token (401) and a bad body (400)', async () => {
      const user = await signup(main);
      const body = { title: 'x', venue: 'y', dates: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: 1, price: 1 } }] };
      expectHttpError(await http(main, 'POST', '/admin/concerts', { token: 'wrong', body }), 401, 'UNAUTHORIZED');
      expectHttpError(await http(main, 'POST', '/admin/concerts', { token: user.token, body }), 401, 'UNAUTHORIZED');
      expectHttpError(await http(main, 'POST', '/admin/concerts', { body }), 401, 'UNAUTHORIZED');
      const bad = await http(main, 'POST', '/admin/concerts', { token: ADMIN_TOKEN, body: { ...body, dates: [{ startsAt: 'tomorrow', seats: { count: 0, price: 1 } }] } });
      expectHttpError(bad, 400, 'VALIDATION_FAILED');
    });

    it('GET /concerts and concerts:list: {concerts: [{id, title, venue, nextDateAt, availableDates}]}, only concerts with a bookable future date', async () => {
      const day = 86_400_000;
      const past = new Date(Date.now() - day).toISOString();
      const soon = new Date(Date.now() + 2 * day).toISOString();
      const later = new Date(Date.now() + 5 * day).toISOString();
      const mk = (title: string, dates: string[]) =>
        http(main, 'POST', '/admin/concerts', { token: ADMIN_TOKEN, body: { title, venue: 'V', dates: dates.map((startsAt) => ({ startsAt, seats: { count: 2, price: 100 } })) } });
      const listed = (await mk('Listed', [later, past, soon])).body.concert;
      const pastOnly = (await mk('Past only', [past])).body.concert;
      const user = await signup(main);

      const res = await http(main, 'GET', '/concerts', { token: user.token });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['concerts']);
      for (const c of res.body.concerts) expect(c).toEqual({ id: anId(), title: expect.any(String), venue: expect.any(String), nextDateAt: isoTime(), availableDates: anInt(1) });
      expect(res.body.concerts.find((c: any) => c.id === listed.id)).toEqual({ id: listed.id, title: 'Listed', venue: 'V', nextDateAt: soon, availableDates: 2 });
      expect(res.body.concerts.find((c: any) => c.id === pastOnly.id)).toBeUndefined();

      const socket = await client(main, user.token);
      const list = expectAckOk(await ask(socket, 'concerts:list', {}));
      expect(Object.keys(list)).toEqual(['concerts']);
      expect(list.concerts.find((c: any) => c.id === listed.id)).toEqual({ id: listed.id, title: 'Listed', venue: 'V', nextDateAt: soon, availableDates: 2 });
      expect(list.concerts.find((c: any) => c.id === pastOnly.id)).toBeUndefined();
      const noDates = await http(main, 'GET', `/concerts/${pastOnly.id}/dates`, { token: user.token });
      expect(noDates.status).toBe(200);
      expect(noDates.body).toEqual({ dates: [] });
    });

    it('GET /concerts/:id/dates and concert:dates: {dates: [{id, startsAt, totalSeats, freeSeats}]}, future dates only (soonest first: documented choice); 404 / 400', async () => {
      const day = 86_400_000;
      const past = new Date(Date.now() - day).toISOString();
      const soon = new Date(Date.now() + 2 * day).toISOString();
      const later = new Date(Date.now() + 5 * day).toISOString();
      const created = await http(main, 'POST', '/admin/concerts', {
        token: ADMIN_TOKEN,
        body: { title: 'Dates', venue: 'V', dates: [later, past, soon].map((startsAt) => ({ startsAt, seats: { count: 4, price: 100 } })) },
      });
      const concert = created.body.concert;
      const [laterId, , soonId] = concert.dates.map((d: any) => d.id);
      const user = await signup(main);
      const res = await http(main, 'GET', `/concerts/${concert.id}/dates`, { token: user.token });
      expect(res.status).toBe(200);
      const expected = {
        dates: [
          { id: soonId, startsAt: soon, totalSeats: 4, freeSeats: 4 },
          { id: laterId, startsAt: later, totalSeats: 4, freeSeats: 4 },
        ],
      };
      expect(res.body).toEqual(expected);
      const socket = await client(main, user.token);
      expect(expectAckOk(await ask(socket, 'concert:dates', { concertId: concert.id }))).toEqual(expected);

      expectHttpError(await http(main, 'GET', '/concerts/2147483000/dates', { token: user.token }), 404, 'NOT_FOUND');
      expectAckError(await ask(socket, 'concert:dates', { concertId: 2147483000 }), 'NOT_FOUND');
      expectHttpError(await http(main, 'GET', '/concerts/abc/dates', { token: user.token }), 400, 'VALIDATION_FAILED');
      expectAckError(await ask(socket, 'concert:dates', { concertId: 'abc' }), 'VALIDATION_FAILED');
      expectHttpError(await http(main, 'GET', `/concerts/${concert.id}/dates`), 401, 'UNAUTHORIZED');
    });
  });

  describe('waiting room over HTTP', () => {
    it('POST /queue/token → 201 new / 200 existing (same token and ticket); GET /queue/status; POST /queue/leave → {} and the entry ends at once', async () => {
      const concert = await createConcert(main);
      const user = await signup(main);
      const first = await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
      expect(first.status).toBe(201);
      expectQueueStatus(first.body, concert.id, first.body.status, 'required');
      const again = await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
      expect(again.status).toBe(200);
      expectQueueStatus(again.body, concert.id, again.body.status, 'required');
      expect({ token: again.body.token, ticket: again.body.ticket }).toEqual({ token: first.body.token, ticket: first.body.ticket });

      const qh = { 'queue-token': first.body.token as string };
      const active = await waitFor(async () => {
        const s = await http(main, 'GET', '/queue/status', { token: user.token, headers: qh });
        return s.body.status === 'ACTIVE' ? s : undefined;
      }, 'ACTIVE');
      expect(active.status).toBe(200);
      expectQueueStatus(active.body, concert.id, 'ACTIVE', 'optional');
      expect(active.body.ticket).toBe(first.body.ticket);
      const ttl = Date.parse(active.body.expiresAt) - Date.now();
      expect(ttl).toBeGreaterThan(590_000);
      expect(ttl).toBeLessThanOrEqual(600_000);

      // An existing ACTIVE entry: join answers 200 with the same entry.
      const joinedActive = await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
      expect(joinedActive.status).toBe(200);
      expectQueueStatus(joinedActive.body, concert.id, 'ACTIVE', 'required');
      expect(joinedActive.body.token).toBe(first.body.token);

      const leave = await http(main, 'POST', '/queue/leave', { token: user.token, headers: qh });
      expect(leave.status).toBe(200);
      expect(leave.body).toEqual({});
      const ended = await http(main, 'GET', '/queue/status', { token: user.token, headers: qh });
      expect(ended.status).toBe(200);
      expectQueueStatus(ended.body, concert.id, 'EXPIRED', 'optional');
      expectHttpError(await http(main, 'GET', `/dates/${concert.dates[0]!.id}/seats`, { token: user.token, headers: qh }), 401, 'QUEUE_TOKEN_INVALID');

      const rejoin = await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } });
      expect(rejoin.status).toBe(201);
      expect(rejoin.body.ticket).toBeGreaterThan(first.body.ticket);
      expect(rejoin.body.token).not.toBe(first.body.token);
    });

    it('queue errors: unknown concert 404, bad body 400, missing/forged/another user’s queue token 401 (and the owner’s entry is untouched)', async () => {
      const concert = await createConcert(main);
      const [owner, other] = await Promise.all([signup(main), signup(main)]);
      expectHttpError(await http(main, 'POST', '/queue/token', { token: owner.token, body: { concertId: 2147483000 } }), 404, 'NOT_FOUND');
      expectHttpError(await http(main, 'POST', '/queue/token', { token: owner.token, body: { concertId: 'x' } }), 400, 'VALIDATION_FAILED');
      expectHttpError(await http(main, 'POST', '/queue/token', { token: owner.token, body: {} }), 400, 'VALIDATION_FAILED');
      expectHttpError(await http(main, 'POST', '/queue/token', { body: { concertId: concert.id } }), 401, 'UNAUTHORIZED');

      const ownerToken = await activeToken(main, owner, concert.id);
      expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token }), 401, 'QUEUE_TOKEN_INVALID');
      expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': 'garbage' } }), 401, 'QUEUE_TOKEN_INVALID');
      const forged = jwt.sign(jwt.decode(ownerToken) as object, 'another-secret-entirely-0123456789', { algorithm: 'HS256' });
      expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': forged } }), 401, 'QUEUE_TOKEN_INVALID');
      expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': owner.token } }), 401, 'QUEUE_TOKEN_INVALID');
      const claims = jwt.decode(ownerToken) as jwt.JwtPayload;
      const expiredQt = jwt.sign({ ...claims, iat: Math.floor(Date.now() / 1000) - 120, exp: Math.floor(Date.now() / 1000) - 60 }, JWT_SECRET, { algorithm: 'HS256' });
      expectHttpError(await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': expiredQt } }), 401, 'QUEUE_TOKEN_INVALID');
      expectHttpError(await http(main, 'GET', `/dates/${concert.dates[0]!.id}/seats`, { token: owner.token, headers: { 'queue-token': expiredQt } }), 401, 'QUEUE_TOKEN_INVALID');
      expectHttpError(await http(main, 'GET', '/queue/status', { token: other.token, headers: { 'queue-token': ownerToken } }), 401, 'QUEUE_TOKEN_INVALID');
      expectHttpError(await http(main, 'POST', '/queue/leave', { token: other.token, headers: { 'queue-token': ownerToken } }), 401, 'QUEUE_TOKEN_INVALID');
      expectHttpError(await http(main, 'POST', '/queue/leave', { token: owner.token }), 401, 'QUEUE_TOKEN_INVALID');
      const still = await http(main, 'GET', '/queue/status', { token: owner.token, headers: { 'queue-token': ownerToken } });
      expectQueueStatus(still.body, concert.id, 'ACTIVE');
    });
  });

  describe('seats, reservations, wallet and payments over HTTP', () => {
    it('seat map, hold (201), my reservations newest first, charge, wallet, pay (201), cancel with refund', async () => {
      const concert = await createConcert(main, { price: 1200 });
      const date = concert.dates[0]!;
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const qh = { 'queue-token': qt };

      const map = await http(main, 'GET', `/dates/${date.id}/seats`, { token: user.token, headers: qh });
      expect(map.status).toBe(200);
      expect(map.body).toEqual(seatMap(date.id, concert.id, date.startsAt, freeSeats(50, 1200)));
      const v0: number = map.body.version;

      const r1 = await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId: date.id, seatNumbers: [3, 1] } });
      expect(r1.status).toBe(201);
      const seats13 = [{ number: 1, price: 1200 }, { number: 3, price: 1200 }];
      expect(r1.body).toEqual(reservation({ dateId: date.id, concertId: concert.id, status: 'HELD', seats: seats13, total: 2400 }));
      expect(Date.parse(r1.body.expiresAt) - Date.parse(r1.body.createdAt)).toBe(300_000);
      const r2 = await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId: date.id, seatNumbers: [10] } });
      expect(r2.status).toBe(201);
      expect(r2.body).toEqual(reservation({ dateId: date.id, concertId: concert.id, status: 'HELD', seats: [{ number: 10, price: 1200 }], total: 1200 }));

      const map2 = await http(main, 'GET', `/dates/${date.id}/seats`, { token: user.token, headers: qh });
      expect(map2.body).toEqual({
        ...seatMap(date.id, concert.id, date.startsAt, freeSeats(50, 1200, 'GENERAL', (n) => ([1, 3, 10].includes(n) ? 'HELD' : 'FREE'))),
        version: v0 + 2,
      });

      const mine = await http(main, 'GET', '/reservations/me', { token: user.token });
      expect(mine.status).toBe(200);
      expect(mine.body).toEqual({ reservations: [r2.body, r1.body] });

      const dates = await http(main, 'GET', `/concerts/${concert.id}/dates`, { token: user.token });
      expect(dates.body.dates[0]).toEqual({ id: date.id, startsAt: date.startsAt, totalSeats: 50, freeSeats: 47 });

      const w0 = await http(main, 'GET', '/wallets/me', { token: user.token });
      expect(w0.status).toBe(200);
      expect(w0.body).toEqual({ balance: 0, history: [] });
      const charged = await http(main, 'POST', '/wallets/charge', { token: user.token, body: { amount: 5000 } });
      expect(charged.status).toBe(200);
      expect(charged.body).toEqual({ balance: 5000 });

      const paid = await http(main, 'POST', '/payments', { token: user.token, headers: qh, body: { reservationId: r1.body.id } });
      expect(paid.status).toBe(201);
      expect(paid.body).toEqual({
        payment: { id: anId(), amount: 2400, at: isoTime() },
        reservation: { ...r1.body, status: 'CONFIRMED', paidAt: isoTime() },
        balance: 2600,
      });

      const w1 = await http(main, 'GET', '/wallets/me', { token: user.token });
      expect(w1.body).toEqual({
        balance: 2600,
        history: [
          { id: anId(), kind: 'PAYMENT', amount: 2400, balanceAfter: 2600, at: isoTime() },
          { id: anId(), kind: 'CHARGE', amount: 5000, balanceAfter: 5000, at: isoTime() },
        ],
      });
      expect(Date.parse(w1.body.history[0].at)).toBeGreaterThanOrEqual(Date.parse(w1.body.history[1].at));

      // After paying, the queue entry ends (PAID).
      const st = await http(main, 'GET', '/queue/status', { token: user.token, headers: qh });
      expectQueueStatus(st.body, concert.id, 'EXPIRED');

      // Cancel needs only the user token; a CONFIRMED reservation is refunded.
      const canceled = await http(main, 'POST', `/reservations/${r1.body.id}/cancel`, { token: user.token });
      expect(canceled.status).toBe(200);
      const canceledRest = { ...canceled.body };
      delete canceledRest.paidAt;
      expect(canceledRest).toEqual({ ...r1.body, status: 'CANCELED' });
      const w2 = await http(main, 'GET', '/wallets/me', { token: user.token });
      expect(w2.body.balance).toBe(5000);
      expect(w2.body.history[0]).toEqual({ id: anId(), kind: 'REFUND', amount: 2400, balanceAfter: 5000, at: isoTime() });
      expect(w2.body.history).toHaveLength(3);

      const canceledHeld = await http(main, 'POST', `/reservations/${r2.body.id}/cancel`, { token: user.token });
      expect(canceledHeld.status).toBe(200);
      expect(canceledHeld.body).toEqual({ ...r2.body, status: 'CANCELED' });
      expect((await http(main, 'GET', '/wallets/me', { token: user.token })).body.balance).toBe(5000);
      // Cancel is idempotent (documented choice): an ended reservation is answered as it is.
      const twice = await http(main, 'POST', `/reservations/${r2.body.id}/cancel`, { token: user.token });
      expect(twice.status).toBe(200);
      expect(twice.body).toEqual({ ...r2.body, status: 'CANCELED' });

      const after = await http(main, 'GET', `/concerts/${concert.id}/dates`, { token: user.token });
      expect(after.body.dates[0].freeSeats).toBe(50);
      expect(await liveSeats(main, date.id)).toEqual([]);
      const listed = await http(main, 'GET', '/reservations/me', { token: user.token });
      expect(listed.body.reservations.map((r: any) => [r.id, r.status])).toEqual([
        [r2.body.id, 'CANCELED'],
        [r1.body.id, 'CANCELED'],
      ]);
    });
  });

  describe('Socket.IO journey', () => {
    it('every client event once with exact acks, and the pushes: queue:admitted, seats:changed, reservation:updated, queue:expired PAID/LEFT', async () => {
      const concert = await createConcert(main, { price: 2500 });
      const date = concert.dates[0]!;
      const dateId = date.id;
      const user = await signup(main);
      const s = await client(main, user.token);

      const list = expectAckOk(await ask(s, 'concerts:list', {}));
      expect(list.concerts.find((c: any) => c.id === concert.id)).toEqual({
        id: concert.id,
        title: expect.any(String),
        venue: 'Test hall',
        nextDateAt: date.startsAt,
        availableDates: 1,
      });
      expect(expectAckOk(await ask(s, 'concert:dates', { concertId: concert.id }))).toEqual({
        dates: [{ id: dateId, startsAt: date.startsAt, totalSeats: 50, freeSeats: 50 }],
      });

      // queue:join → QueueStatus with token; again → same entry; queue:admitted push.
      const admitted = nextEvent(s, 'queue:admitted', (p) => p.concertId === concert.id, 15_000);
      const joined = expectAckOk(await ask(s, 'queue:join', { concertId: concert.id }));
      expectQueueStatus(joined, concert.id, joined.status, 'required');
      const queueToken: string = joined.token;
      const again = expectAckOk(await ask(s, 'queue:join', { concertId: concert.id }));
      expect({ token: again.token, ticket: again.ticket }).toEqual({ token: queueToken, ticket: joined.ticket });
      if (joined.status === 'WAITING') expect(await admitted).toEqual({ concertId: concert.id, expiresAt: isoTime() });
      const status = expectAckOk(await ask(s, 'queue:status', { queueToken }));
      expectQueueStatus(status, concert.id, 'ACTIVE');

      // A watcher (two sockets) watches the date.
      const watcher = await signup(main);
      const wq = await activeToken(main, watcher, concert.id);
      const ws = await client(main, watcher.token);
      const ws2 = await client(main, watcher.token);
      const snap = expectAckOk(await ask(ws, 'seats:watch', { dateId, queueToken: wq }));
      expect(snap).toEqual(seatMap(dateId, concert.id, date.startsAt, freeSeats(50, 2500)));
      expectAckOk(await ask(ws2, 'seats:watch', { dateId, queueToken: wq }));
      const v0: number = snap.version;

      // seats:hold → Reservation; seats:changed (only the changed seats, version + 1); reservation:updated.
      const heldPush = nextEvent(ws, 'seats:changed', (e) => e.version === v0 + 1);
      const updHeld = nextEvent(s, 'reservation:updated', (r) => r.status === 'HELD');
      const s2 = await client(main, user.token);
      const updHeldOther = nextEvent(s2, 'reservation:updated', (r) => r.status === 'HELD');
      const held = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [7, 5], queueToken }));
      expect(held).toEqual(
        reservation({ dateId, concertId: concert.id, status: 'HELD', seats: [{ number: 5, price: 2500 }, { number: 7, price: 2500 }], total: 5000 }),
      );
      expectSeatsChanged(await heldPush, dateId, v0 + 1, [
        { number: 5, status: 'HELD' },
        { number: 7, status: 'HELD' },
      ]);
      expect(await updHeld).toEqual(held);
      expect(await updHeldOther).toEqual(held);
      const snap2 = expectAckOk(await ask(ws, 'seats:watch', { dateId, queueToken: wq }));
      expect(snap2.version).toBe(v0 + 1);
      expect(snap2.seats.filter((x: any) => x.status !== 'FREE').map((x: any) => x.number)).toEqual([5, 7]);

      // wallet:charge (with and without key), wallet:get (payload omitted: documented choice).
      expect(await ask(s, 'wallet:charge', { amount: 6000 })).toEqual({ ok: true, data: { balance: 6000 } });
      expect(await ask(s, 'wallet:charge', { amount: 1000, idempotencyKey: 'sock-k1' })).toEqual({ ok: true, data: { balance: 7000 } });
      expect(await ask(s, 'wallet:charge', { amount: 1000, idempotencyKey: 'sock-k1' })).toEqual({ ok: true, data: { balance: 7000 } });
      const wallet = expectAckOk(await ask(s, 'wallet:get', {}));
      expect(wallet).toEqual({
        balance: 7000,
        history: [
          { id: anId(), kind: 'CHARGE', amount: 1000, balanceAfter: 7000, at: isoTime() },
          { id: anId(), kind: 'CHARGE', amount: 6000, balanceAfter: 6000, at: isoTime() },
        ],
      });
      expect(expectAckOk(await ask(s, 'wallet:get'))).toEqual(wallet);

      // payment:pay → {payment, reservation, balance}; SOLD push; reservation:updated; queue:expired PAID.
      const soldPush = nextEvent(ws, 'seats:changed', (e) => e.version === v0 + 2);
      const updConfirmed = nextEvent(s, 'reservation:updated', (r) => r.status === 'CONFIRMED');
      const expiredPaid = nextEvent(s, 'queue:expired', (e) => e.concertId === concert.id);
      const paid = expectAckOk(await ask(s, 'payment:pay', { reservationId: held.id, queueToken }));
      expect(paid).toEqual({
        payment: { id: anId(), amount: 5000, at: isoTime() },
        reservation: { ...held, status: 'CONFIRMED', paidAt: isoTime() },
        balance: 2000,
      });
      expectSeatsChanged(await soldPush, dateId, v0 + 2, [
        { number: 5, status: 'SOLD' },
        { number: 7, status: 'SOLD' },
      ]);
      expect(await updConfirmed).toEqual(paid.reservation);
      expect(await expiredPaid).toEqual({ concertId: concert.id, reason: 'PAID' });
      expectQueueStatus(expectAckOk(await ask(s, 'queue:status', { queueToken })), concert.id, 'EXPIRED');

      // reservations:mine equals GET /reservations/me.
      const mine = expectAckOk(await ask(s, 'reservations:mine', {}));
      expect(mine).toEqual({ reservations: [paid.reservation] });
      expect((await http(main, 'GET', '/reservations/me', { token: user.token })).body).toEqual(mine);

      // reservation:cancel of a CONFIRMED one: CANCELED, refunded, seats FREE.
      const freedPush = nextEvent(ws, 'seats:changed', (e) => e.version === v0 + 3);
      const updCanceled = nextEvent(s, 'reservation:updated', (r) => r.status === 'CANCELED');
      const canceled = expectAckOk(await ask(s, 'reservation:cancel', { reservationId: held.id }));
      expect(canceled).toEqual({ ...paid.reservation, status: 'CANCELED', paidAt: expect.any(String) });
      expectSeatsChanged(await freedPush, dateId, v0 + 3, [
        { number: 5, status: 'FREE' },
        { number: 7, status: 'FREE' },
      ]);
      expect(await updCanceled).toEqual(canceled);
      const refunded = expectAckOk(await ask(s, 'wallet:get', {}));
      expect(refunded.balance).toBe(7000);
      expect(refunded.history[0]).toEqual({ id: anId(), kind: 'REFUND', amount: 5000, balanceAfter: 7000, at: isoTime() });
      expect(refunded.history.map((h: any) => h.kind)).toEqual(['REFUND', 'PAYMENT', 'CHARGE', 'CHARGE']);

      // seats:unwatch → {}; the socket gets no more seats:changed (ws2 still watches: the barrier).
      const unwatchedSeen = record(ws, 'seats:changed');
      expect(await ask(ws, 'seats:unwatch', { dateId })).toEqual({ ok: true, data: {} });
      const barrier = nextEvent(ws2, 'seats:changed', (e) => e.version === v0 + 4);
      expectAckOk(await ask(ws2, 'seats:hold', { dateId, seatNumbers: [20], queueToken: wq }));
      await barrier;
      await sleep(250);
      expect(unwatchedSeen).toEqual([]);

      // queue:leave → {} and queue:expired LEFT, on every socket of the user.
      const left1 = nextEvent(ws, 'queue:expired');
      const left2 = nextEvent(ws2, 'queue:expired');
      expect(await ask(ws, 'queue:leave', { queueToken: wq })).toEqual({ ok: true, data: {} });
      expect(await left1).toEqual({ concertId: concert.id, reason: 'LEFT' });
      expect(await left2).toEqual({ concertId: concert.id, reason: 'LEFT' });
      expectAckError(await ask(ws, 'seats:watch', { dateId, queueToken: wq }), 'QUEUE_TOKEN_INVALID');
    });
  });

  describe('error codes and "a rejected command changes nothing"', () => {
    it('QUEUE_TOKEN_INVALID (401): missing, forged, a user token, another user’s, another concert’s — on seat map, hold, watch and pay', async () => {
      const [x, y] = await Promise.all([createConcert(main, { price: 100 }), createConcert(main, { price: 100 })]);
      const dateX = x.dates[0]!.id;
      const [a, b] = await Promise.all([signup(main), signup(main)]);
      const [aX, aY, bX] = await Promise.all([activeToken(main, a, x.id), activeToken(main, a, y.id), activeToken(main, b, x.id)]);
      const sa = await client(main, a.token);
      const forged = jwt.sign(jwt.decode(aX) as object, 'another-secret-entirely-0123456789', { algorithm: 'HS256' });
      const invalid: [string, string | undefined][] = [
        ['missing', undefined],
        ['garbage', 'garbage'],
        ['forged', forged],
        ['a user token', a.token],
        ['another user’s', bX],
        ['another concert’s', aY],
      ];
      for (const [label, qt] of invalid) {
        const headers: Record<string, string> = qt === undefined ? {} : { 'queue-token': qt };
        const map = await http(main, 'GET', `/dates/${dateX}/seats`, { token: a.token, headers });
        expect({ label, status: map.status, code: map.body?.error?.code }).toEqual({ label, status: 401, code: 'QUEUE_TOKEN_INVALID' });
        const hold = await http(main, 'POST', '/reservations', { token: a.token, headers, body: { dateId: dateX, seatNumbers: [1] } });
        expect({ label, status: hold.status, code: hold.body?.error?.code }).toEqual({ label, status: 401, code: 'QUEUE_TOKEN_INVALID' });
        expectHttpError(hold, 401, 'QUEUE_TOKEN_INVALID');
        const payload = qt === undefined ? {} : { queueToken: qt };
        const sockHold = await ask(sa, 'seats:hold', { dateId: dateX, seatNumbers: [2], ...payload });
        expect({ label, code: sockHold.error?.code }).toEqual({ label, code: 'QUEUE_TOKEN_INVALID' });
        expectAckError(sockHold, 'QUEUE_TOKEN_INVALID');
        const watch = await ask(sa, 'seats:watch', { dateId: dateX, ...payload });
        expect({ label, code: watch.error?.code }).toEqual({ label, code: 'QUEUE_TOKEN_INVALID' });
      }
      expect(await liveSeats(main, dateX)).toEqual([]);

      // Pay: A holds with its own token, then pays with invalid ones.
      const held = expectAckOk(await ask(sa, 'seats:hold', { dateId: dateX, seatNumbers: [3], queueToken: aX }));
      expect(await ask(sa, 'wallet:charge', { amount: 1000 })).toEqual({ ok: true, data: { balance: 1000 } });
      const before = await userState(main, a.id);
      for (const [label, qt] of invalid) {
        const headers: Record<string, string> = qt === undefined ? {} : { 'queue-token': qt };
        const pay = await http(main, 'POST', '/payments', { token: a.token, headers, body: { reservationId: held.id } });
        expect({ label, status: pay.status, code: pay.body?.error?.code }).toEqual({ label, status: 401, code: 'QUEUE_TOKEN_INVALID' });
        const sockPay = await ask(sa, 'payment:pay', { reservationId: held.id, ...(qt === undefined ? {} : { queueToken: qt }) });
        expect({ label, code: sockPay.error?.code }).toEqual({ label, code: 'QUEUE_TOKEN_INVALID' });
      }
      expect(await userState(main, a.id)).toEqual(before);
      expect(await reservationStatus(main, held.id)).toBe('HELD');
      expectQueueStatus(expectAckOk(await ask(sa, 'queue:status', { queueToken: aX })), x.id, 'ACTIVE');
      expectAckError(await ask(sa, 'queue:status', { queueToken: bX }), 'QUEUE_TOKEN_INVALID');
      expectAckError(await ask(sa, 'queue:status', {}), 'QUEUE_TOKEN_INVALID');
      expectAckError(await ask(sa, 'queue:leave', { queueToken: bX }), 'QUEUE_TOKEN_INVALID');
      expect((await http(main, 'GET', '/queue/status', { token: b.token, headers: { 'queue-token': bX } })).body.status).toBe('ACTIVE');
    });

    it('NOT_FOUND (404): unknown concert, date, seat number (details.seatNumbers), reservation; non-digit path ids are 400', async () => {
      const concert = await createConcert(main, { seats: 10 });
      const dateId = concert.dates[0]!.id;
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const qh = { 'queue-token': qt };
      const s = await client(main, user.token);
      expectHttpError(await http(main, 'GET', '/dates/2147483000/seats', { token: user.token, headers: qh }), 404, 'NOT_FOUND');
      expectAckError(await ask(s, 'seats:watch', { dateId: 2147483000, queueToken: qt }), 'NOT_FOUND');
      expectHttpError(await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId: 2147483000, seatNumbers: [1] } }), 404, 'NOT_FOUND');
      const unknownSeat = await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId, seatNumbers: [2, 11] } });
      expectHttpError(unknownSeat, 404, 'NOT_FOUND');
      expect(unknownSeat.body.error.details).toEqual({ seatNumbers: [11] });
      expectAckError(await ask(s, 'seats:hold', { dateId, seatNumbers: [51], queueToken: qt }), 'NOT_FOUND');
      expectAckError(await ask(s, 'queue:join', { concertId: 2147483000 }), 'NOT_FOUND');
      expectHttpError(await http(main, 'POST', '/reservations/2147483000/cancel', { token: user.token }), 404, 'NOT_FOUND');
      expectAckError(await ask(s, 'reservation:cancel', { reservationId: 2147483000 }), 'NOT_FOUND');
      expectHttpError(await http(main, 'POST', '/payments', { token: user.token, headers: qh, body: { reservationId: 2147483000 } }), 404, 'NOT_FOUND');
      expectAckError(await ask(s, 'payment:pay', { reservationId: 2147483000, queueToken: qt }), 'NOT_FOUND');
      expectHttpError(await http(main, 'GET', '/dates/abc/seats', { token: user.token, headers: qh }), 400, 'VALIDATION_FAILED');
      expectHttpError(await http(main, 'POST', '/reservations/abc/cancel', { token: user.token }), 400, 'VALIDATION_FAILED');
      expect(await liveSeats(main, dateId)).toEqual([]);
      expect((await userState(main, user.id)).reservations).toBe(0);
    });

    it('NOT_FOUND (404) for well-formed ids and seat numbers that name nothing, whatever their size (ids are opaque; only malformed ones are 400)', async () => {
      const concert = await createConcert(main, { seats: 10 });
      const dateId = concert.dates[0]!.id;
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const s = await client(main, user.token);
      expectHttpError(await http(main, 'GET', '/concerts/9999999999/dates', { token: user.token }), 404, 'NOT_FOUND');
      expectAckError(await ask(s, 'concert:dates', { concertId: 9999999999 }), 'NOT_FOUND');
      expectHttpError(await http(main, 'POST', '/reservations/9999999999/cancel', { token: user.token }), 404, 'NOT_FOUND');
      expectAckError(await ask(s, 'seats:hold', { dateId, seatNumbers: [1_000_000], queueToken: qt }), 'NOT_FOUND');
      expect(await liveSeats(main, dateId)).toEqual([]);
    });

    it('FORBIDDEN (403): cancel or pay another user’s reservation; nothing changes', async () => {
      const concert = await createConcert(main, { price: 100 });
      const dateId = concert.dates[0]!.id;
      const [a, b] = await Promise.all([signup(main), signup(main)]);
      const [aq, bq] = await Promise.all([activeToken(main, a, concert.id), activeToken(main, b, concert.id)]);
      const held = await http(main, 'POST', '/reservations', { token: a.token, headers: { 'queue-token': aq }, body: { dateId, seatNumbers: [1] } });
      expect(held.status).toBe(201);
      await http(main, 'POST', '/wallets/charge', { token: b.token, body: { amount: 1000 } });
      const [aBefore, bBefore] = await Promise.all([userState(main, a.id), userState(main, b.id)]);
      expectHttpError(await http(main, 'POST', `/reservations/${held.body.id}/cancel`, { token: b.token }), 403, 'FORBIDDEN');
      expectHttpError(await http(main, 'POST', '/payments', { token: b.token, headers: { 'queue-token': bq }, body: { reservationId: held.body.id } }), 403, 'FORBIDDEN');
      const sb = await client(main, b.token);
      expectAckError(await ask(sb, 'reservation:cancel', { reservationId: held.body.id }), 'FORBIDDEN');
      expectAckError(await ask(sb, 'payment:pay', { reservationId: held.body.id, queueToken: bq }), 'FORBIDDEN');
      expect(await Promise.all([userState(main, a.id), userState(main, b.id)])).toEqual([aBefore, bBefore]);
      expect(await reservationStatus(main, held.body.id)).toBe('HELD');
    });

    it('SEAT_UNAVAILABLE (409): details.seatNumbers lists the seats that are not FREE; nothing is held', async () => {
      const concert = await createConcert(main, { price: 100 });
      const date = concert.dates[0]!;
      const [a, b] = await Promise.all([signup(main), signup(main)]);
      const [aq, bq] = await Promise.all([activeToken(main, a, concert.id), activeToken(main, b, concert.id)]);
      expect((await http(main, 'POST', '/reservations', { token: a.token, headers: { 'queue-token': aq }, body: { dateId: date.id, seatNumbers: [4, 5] } })).status).toBe(201);
      const before = await http(main, 'GET', `/dates/${date.id}/seats`, { token: b.token, headers: { 'queue-token': bq } });
      const res = await http(main, 'POST', '/reservations', { token: b.token, headers: { 'queue-token': bq }, body: { dateId: date.id, seatNumbers: [3, 5, 4] } });
      expectHttpError(res, 409, 'SEAT_UNAVAILABLE');
      expect(res.body.error.details).toEqual({ seatNumbers: [4, 5] });
      const sb = await client(main, b.token);
      const ack = await ask(sb, 'seats:hold', { dateId: date.id, seatNumbers: [5, 6], queueToken: bq });
      expectAckError(ack, 'SEAT_UNAVAILABLE');
      expect(ack.error.details).toEqual({ seatNumbers: [5] });
      const after = await http(main, 'GET', `/dates/${date.id}/seats`, { token: b.token, headers: { 'queue-token': bq } });
      expect(after.body).toEqual(before.body);
      expect(await liveSeats(main, date.id)).toEqual([4, 5]);
      expect((await userState(main, b.id)).reservations).toBe(0);
    });

    it('HOLD_LIMIT_EXCEEDED (409): more than MAX_SEATS_PER_USER (4) seats of a date, at once or across holds, held or owned; nothing is held', async () => {
      const concert = await createConcert(main, { price: 100 });
      const dateId = concert.dates[0]!.id;
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const s = await client(main, user.token);
      const qh = { 'queue-token': qt };
      expectHttpError(await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId, seatNumbers: [1, 2, 3, 4, 5] } }), 409, 'HOLD_LIMIT_EXCEEDED');
      expect(await liveSeats(main, dateId)).toEqual([]);
      const first = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [1, 2, 3], queueToken: qt }));
      expectAckError(await ask(s, 'seats:hold', { dateId, seatNumbers: [4, 5], queueToken: qt }), 'HOLD_LIMIT_EXCEEDED');
      expect(await liveSeats(main, dateId)).toEqual([1, 2, 3]);
      // Owned (paid) seats count too: rejoin after paying, then one more than the limit.
      expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [4], queueToken: qt }));
      expectAckOk(await ask(s, 'wallet:charge', { amount: 1000 }));
      expectAckOk(await ask(s, 'payment:pay', { reservationId: first.id, queueToken: qt }));
      const qt2 = await activeToken(main, user, concert.id);
      expectAckError(await ask(s, 'seats:hold', { dateId, seatNumbers: [9], queueToken: qt2 }), 'HOLD_LIMIT_EXCEEDED');
      expect(await liveSeats(main, dateId)).toEqual([1, 2, 3, 4]);
    });

    it('RESERVATION_NOT_PAYABLE (409): canceled, already paid; nothing changes', async () => {
      const concert = await createConcert(main, { price: 100 });
      const dateId = concert.dates[0]!.id;
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const s = await client(main, user.token);
      expectAckOk(await ask(s, 'wallet:charge', { amount: 1000 }));

      const canceled = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [1], queueToken: qt }));
      expectAckOk(await ask(s, 'reservation:cancel', { reservationId: canceled.id }));
      let before = await userState(main, user.id);
      expectHttpError(await http(main, 'POST', '/payments', { token: user.token, headers: { 'queue-token': qt }, body: { reservationId: canceled.id } }), 409, 'RESERVATION_NOT_PAYABLE');
      expectAckError(await ask(s, 'payment:pay', { reservationId: canceled.id, queueToken: qt }), 'RESERVATION_NOT_PAYABLE');
      expect(await userState(main, user.id)).toEqual(before);
      expect(await reservationStatus(main, canceled.id)).toBe('CANCELED');

      const paid = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [2], queueToken: qt }));
      expectAckOk(await ask(s, 'payment:pay', { reservationId: paid.id, queueToken: qt }));
      before = await userState(main, user.id);
      // Documented choice: the queue token is checked before the command's own rules, and a PAID entry's token is over.
      expectAckError(await ask(s, 'payment:pay', { reservationId: paid.id, queueToken: qt }), 'QUEUE_TOKEN_INVALID');
      const fresh = await activeToken(main, user, concert.id);
      expectHttpError(await http(main, 'POST', '/payments', { token: user.token, headers: { 'queue-token': fresh }, body: { reservationId: paid.id } }), 409, 'RESERVATION_NOT_PAYABLE');
      expectAckError(await ask(s, 'payment:pay', { reservationId: paid.id, queueToken: fresh }), 'RESERVATION_NOT_PAYABLE');
      expect(await userState(main, user.id)).toEqual(before);
      expect(await reservationStatus(main, paid.id)).toBe('CONFIRMED');
    });

    it('INSUFFICIENT_BALANCE (402): nothing changes, the hold stays payable; a failed keyed payment is not remembered', async () => {
      const concert = await createConcert(main, { price: 3000 });
      const dateId = concert.dates[0]!.id;
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const qh = { 'queue-token': qt };
      const held = await http(main, 'POST', '/reservations', { token: user.token, headers: qh, body: { dateId, seatNumbers: [1, 2] } });
      expect(held.status).toBe(201);
      await http(main, 'POST', '/wallets/charge', { token: user.token, body: { amount: 5999 } });
      const before = await userState(main, user.id);
      const res = await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-short' }, body: { reservationId: held.body.id } });
      expectHttpError(res, 402, 'INSUFFICIENT_BALANCE');
      const s = await client(main, user.token);
      expectAckError(await ask(s, 'payment:pay', { reservationId: held.body.id, queueToken: qt }), 'INSUFFICIENT_BALANCE');
      expect(await userState(main, user.id)).toEqual(before);
      expect(await reservationStatus(main, held.body.id)).toBe('HELD');
      expect(await liveSeats(main, dateId)).toEqual([1, 2]);
      expectQueueStatus((await http(main, 'GET', '/queue/status', { token: user.token, headers: qh })).body, concert.id, 'ACTIVE');
      expect((await http(main, 'GET', '/wallets/me', { token: user.token })).body.history).toHaveLength(1);

      await http(main, 'POST', '/wallets/charge', { token: user.token, body: { amount: 1 } });
      const ok = await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-short' }, body: { reservationId: held.body.id } });
      expect(ok.status).toBe(201);
      expect(ok.body.balance).toBe(0);
      expect(ok.body.reservation.status).toBe('CONFIRMED');
    });

    it('Idempotency-Key: a repeat returns the first answer and changes nothing more; reuse with a different request is IDEMPOTENCY_CONFLICT (409)', async () => {
      const concert = await createConcert(main, { price: 700 });
      const dateId = concert.dates[0]!.id;
      const user = await signup(main);
      const s = await client(main, user.token);

      const c1 = await http(main, 'POST', '/wallets/charge', { token: user.token, headers: { 'idempotency-key': 'charge-1' }, body: { amount: 2000 } });
      expect(c1.status).toBe(200);
      expect(c1.body).toEqual({ balance: 2000 });
      await http(main, 'POST', '/wallets/charge', { token: user.token, body: { amount: 100 } });
      const c2 = await http(main, 'POST', '/wallets/charge', { token: user.token, headers: { 'idempotency-key': 'charge-1' }, body: { amount: 2000 } });
      expect(c2.status).toBe(200);
      expect(c2.body).toEqual({ balance: 2000 });
      // Same key over the socket transport: the same user's same request.
      expect(await ask(s, 'wallet:charge', { amount: 2000, idempotencyKey: 'charge-1' })).toEqual({ ok: true, data: { balance: 2000 } });
      let before = await userState(main, user.id);
      expect(before.balance).toBe(2100);
      expect(before.ledger).toBe(2);
      expectHttpError(await http(main, 'POST', '/wallets/charge', { token: user.token, headers: { 'idempotency-key': 'charge-1' }, body: { amount: 2001 } }), 409, 'IDEMPOTENCY_CONFLICT');
      expectAckError(await ask(s, 'wallet:charge', { amount: 1, idempotencyKey: 'charge-1' }), 'IDEMPOTENCY_CONFLICT');
      expect(await userState(main, user.id)).toEqual(before);
      // Another user's key space is separate.
      const other = await signup(main);
      expect((await http(main, 'POST', '/wallets/charge', { token: other.token, headers: { 'idempotency-key': 'charge-1' }, body: { amount: 5 } })).body).toEqual({ balance: 5 });

      const qt = await activeToken(main, user, concert.id);
      const qh = { 'queue-token': qt };
      const r1 = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [1], queueToken: qt }));
      const r2 = expectAckOk(await ask(s, 'seats:hold', { dateId, seatNumbers: [2], queueToken: qt }));
      const p1 = await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-1' }, body: { reservationId: r1.id } });
      expect(p1.status).toBe(201);
      before = await userState(main, user.id);
      const p2 = await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-1' }, body: { reservationId: r1.id } });
      expect(p2.status).toBe(201);
      expect(p2.body).toEqual(p1.body);
      expect(await ask(s, 'payment:pay', { reservationId: r1.id, queueToken: qt, idempotencyKey: 'pay-1' })).toEqual({ ok: true, data: p1.body });
      expect(await userState(main, user.id)).toEqual(before);
      expectHttpError(
        await http(main, 'POST', '/payments', { token: user.token, headers: { ...qh, 'idempotency-key': 'pay-1' }, body: { reservationId: r2.id } }),
        409,
        'IDEMPOTENCY_CONFLICT',
      );
      expect(await userState(main, user.id)).toEqual(before);
      expect(await reservationStatus(main, r2.id)).toBe('HELD');
    });

    it('an Idempotency-Key used for a charge and then for a payment is a reuse with a different request: IDEMPOTENCY_CONFLICT, nothing changes', async () => {
      const concert = await createConcert(main, { price: 300 });
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const charged = await http(main, 'POST', '/wallets/charge', { token: user.token, headers: { 'idempotency-key': 'shared-key' }, body: { amount: 1000 } });
      expect(charged.body).toEqual({ balance: 1000 });
      const held = await http(main, 'POST', '/reservations', { token: user.token, headers: { 'queue-token': qt }, body: { dateId: concert.dates[0]!.id, seatNumbers: [1] } });
      const before = await userState(main, user.id);
      const pay = await http(main, 'POST', '/payments', { token: user.token, headers: { 'queue-token': qt, 'idempotency-key': 'shared-key' }, body: { reservationId: held.body.id } });
      expectHttpError(pay, 409, 'IDEMPOTENCY_CONFLICT');
      expect(await userState(main, user.id)).toEqual(before);
      expect(await reservationStatus(main, held.body.id)).toBe('HELD');
    });

    it('VALIDATION_FAILED (400): schema mismatches on both transports list the failing paths; non-object socket payloads', async () => {
      const concert = await createConcert(main);
      const dateId = concert.dates[0]!.id;
      const user = await signup(main);
      const qt = await activeToken(main, user, concert.id);
      const s = await client(main, user.token);
      const qh = { 'queue-token': qt };
      const cases: [string, unknown, string][] = [
        ['seats:hold', { dateId, seatNumbers: [], queueToken: qt }, '/seatNumbers'],
        ['seats:hold', { dateId, seatNumbers: [1, 1], queueToken: qt }, '/seatNumbers'],
        ['seats:hold', { dateId, seatNumbers: [0], queueToken: qt }, '/seatNumbers/0'],
        ['seats:hold', { dateId: 'x', seatNumbers: [1], queueToken: qt }, '/dateId'],
        ['seats:hold', { seatNumbers: [1], queueToken: qt }, '/dateId'],
        ['wallet:charge', { amount: 0 }, '/amount'],
        ['wallet:charge', { amount: 1.5 }, '/amount'],
        ['wallet:charge', { amount: '10' }, '/amount'],
        ['queue:join', {}, '/concertId'],
        ['payment:pay', { queueToken: qt }, '/reservationId'],
      ];
      for (const [event, payload, path] of cases) {
        const ack = await ask(s, event, payload);
        expect({ event, payload, code: ack.error?.code }).toEqual({ event, payload, code: 'VALIDATION_FAILED' });
        expectAckError(ack, 'VALIDATION_FAILED');
        expect(JSON.stringify(ack.error.details)).toContain(path);
      }
      for (const payload of [null, 'x', 5, [1]]) expectAckError(await ask(s, 'wallet:get', payload), 'VALIDATION_FAILED');
      const httpCases: [string, string, unknown, Record<string, string>, string][] = [
        ['POST', '/reservations', { dateId, seatNumbers: [1, 1] }, qh, '/seatNumbers'],
        ['POST', '/reservations', { seatNumbers: [1] }, qh, '/dateId'],
        ['POST', '/wallets/charge', { amount: -5 }, {}, '/amount'],
        ['POST', '/payments', {}, qh, '/reservationId'],
        ['POST', '/queue/token', { concertId: 0 }, {}, '/concertId'],
      ];
      for (const [method, path, body, headers, failing] of httpCases) {
        const res = await http(main, method, path, { token: user.token, body, headers });
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expectHttpError(res, 400, 'VALIDATION_FAILED');
        expect(JSON.stringify(res.body.error.details)).toContain(failing);
      }
      expect(await liveSeats(main, dateId)).toEqual([]);
      expect(await userState(main, user.id)).toEqual({ balance: 0, ledger: 0, reservations: 0, live: 0, payments: 0 });
    });

    it('races: one seat pair, many buyers → exactly one hold; identical keyed charges at once → charged once; one hold paid twice at once → paid once', async () => {
      const concert = await createConcert(main, { price: 100 });
      const dateId = concert.dates[0]!.id;
      const users = await Promise.all(Array.from({ length: 6 }, () => signup(main)));
      const tokens = await Promise.all(users.map((u) => activeToken(main, u, concert.id)));
      const holds = await Promise.all(
        users.map((u, i) => http(main, 'POST', '/reservations', { token: u.token, headers: { 'queue-token': tokens[i]! }, body: { dateId, seatNumbers: [7, 8] } })),
      );
      const won = holds.filter((h) => h.status === 201);
      expect(won).toHaveLength(1);
      for (const lost of holds.filter((h) => h.status !== 201)) {
        expectHttpError(lost, 409, 'SEAT_UNAVAILABLE');
        expect(lost.body.error.details).toEqual({ seatNumbers: [7, 8] });
      }
      expect(await liveSeats(main, dateId)).toEqual([7, 8]);
      const i = holds.findIndex((h) => h.status === 201);
      const winner = users[i]!;
      const charges = await Promise.all(
        Array.from({ length: 5 }, () => http(main, 'POST', '/wallets/charge', { token: winner.token, headers: { 'idempotency-key': 'race-charge' }, body: { amount: 1000 } })),
      );
      for (const c of charges) expect({ status: c.status, body: c.body }).toEqual({ status: 200, body: { balance: 1000 } });
      expect(await userState(main, winner.id)).toMatchObject({ balance: 1000, ledger: 1 });
      const pays = await Promise.all(
        [0, 1].map(() => http(main, 'POST', '/payments', { token: winner.token, headers: { 'queue-token': tokens[i]! }, body: { reservationId: won[0]!.body.id } })),
      );
      expect(pays.map((p) => p.status).sort()).toEqual([201, expect.any(Number)]);
      const second = pays.find((p) => p.status !== 201)!;
      expect(['RESERVATION_NOT_PAYABLE', 'QUEUE_TOKEN_INVALID']).toContain(second.body.error.code);
      expect(await userState(main, winner.id)).toMatchObject({ balance: 800, ledger: 2, payments: 1 });
    });

    it('each event acks exactly once; an unknown event is NOT_FOUND (documented); RATE_LIMITED past the per-socket rate', async () => {
      const user = await signup(main);
      const s = await client(main, user.token);
      expectAckError(await ask(s, 'no:such:event', {}), 'NOT_FOUND');
      const n = 300;
      const acks = new Map<number, any[]>();
      await new Promise<void>((resolve) => {
        let done = 0;
        for (let i = 0; i < n; i++) {
          s.emit('seats:unwatch', { dateId: 1 }, (reply: unknown) => {
            const list = acks.get(i) ?? [];
            list.push(reply);
            acks.set(i, list);
            if (++done === n) resolve();
          });
        }
      });
      await sleep(200);
      expect([...acks.values()].every((l) => l.length === 1)).toBe(true);
      expect(acks.size).toBe(n);
      const replies = [...acks.values()].map((l) => l[0]);
      const limited = replies.filter((r) => r.ok === false);
      expect(limited.length).toBeGreaterThan(0);
      for (const r of limited) expectAckError(r, 'RATE_LIMITED');
      for (const r of replies.filter((x) => x.ok === true)) expect(r).toEqual({ ok: true, data: {} });
    });
  });
});

describe('hold expiry (HOLD_TTL_SECONDS=1)', () => {
  serverFor({ ...FAST_QUEUE, HOLD_TTL_SECONDS: '1' }, (s) => (short = s));
  it('an unpaid hold lapses: reservation:updated EXPIRED (not before expiresAt), seats:changed FREE; paying it is RESERVATION_NOT_PAYABLE; cancel answers it EXPIRED', async () => {
    const concert = await createConcert(short, { price: 500 });
    const date = concert.dates[0]!;
    const [user, watcher] = await Promise.all([signup(short), signup(short)]);
    const [qt, wq] = await Promise.all([activeToken(short, user, concert.id), activeToken(short, watcher, concert.id)]);
    const s = await client(short, user.token);
    const ws = await client(short, watcher.token);
    const snap = expectAckOk(await ask(ws, 'seats:watch', { dateId: date.id, queueToken: wq }));
    expectAckOk(await ask(s, 'wallet:charge', { amount: 5000 }));

    const expiredUpd = nextEvent(s, 'reservation:updated', (r) => r.status === 'EXPIRED', 10_000);
    const freed = nextEvent(ws, 'seats:changed', (e) => e.version === snap.version + 2, 10_000);
    const held = expectAckOk(await ask(s, 'seats:hold', { dateId: date.id, seatNumbers: [2, 1], queueToken: qt }));
    expect(Date.parse(held.expiresAt) - Date.parse(held.createdAt)).toBe(1000);
    const updated = await expiredUpd;
    const seenAt = Date.now();
    expect(seenAt).toBeGreaterThanOrEqual(Date.parse(held.expiresAt));
    expect(updated).toEqual({ ...held, status: 'EXPIRED' });
    expectSeatsChanged(await freed, date.id, snap.version + 2, [
      { number: 1, status: 'FREE' },
      { number: 2, status: 'FREE' },
    ]);
    const before = await userState(short, user.id);
    expectHttpError(await http(short, 'POST', '/payments', { token: user.token, headers: { 'queue-token': qt }, body: { reservationId: held.id } }), 409, 'RESERVATION_NOT_PAYABLE');
    expectAckError(await ask(s, 'payment:pay', { reservationId: held.id, queueToken: qt }), 'RESERVATION_NOT_PAYABLE');
    expect(await userState(short, user.id)).toEqual(before);
    const cancel = await http(short, 'POST', `/reservations/${held.id}/cancel`, { token: user.token });
    expect(cancel.status).toBe(200);
    expect(cancel.body).toEqual({ ...held, status: 'EXPIRED' });
    expect(await reservationStatus(short, held.id)).toBe('EXPIRED');
    expect(await liveSeats(short, date.id)).toEqual([]);
  });
});

describe('waiting room pushes (QUEUE_MAX_ACTIVE=1, QUEUE_MAX_WAITING=2, admit every 100 ms)', () => {
  serverFor({ QUEUE_ADMIT_INTERVAL_MS: '100', QUEUE_ADMIT_BATCH: '50', QUEUE_MAX_ACTIVE: '1', QUEUE_MAX_WAITING: '2' }, (s) => (queueSrv = s));
  it('queue:tick (one broadcast per change, exact fields), queue:admitted, queue:expired LEFT; positions by the formula; QUEUE_NOT_ACTIVE while WAITING', async () => {
    const concert = await createConcert(queueSrv, { price: 100 });
    const dateId = concert.dates[0]!.id;
    const [a, b, c] = await Promise.all([signup(queueSrv), signup(queueSrv), signup(queueSrv)]);
    const [sa, sb, sc] = await Promise.all([client(queueSrv, a.token), client(queueSrv, b.token), client(queueSrv, c.token)]);
    const ticksA = record(sa, 'queue:tick');
    const ticksC = record(sc, 'queue:tick');

    const admittedA = nextEvent(sa, 'queue:admitted', undefined, 10_000);
    const ja = expectAckOk(await ask(sa, 'queue:join', { concertId: concert.id }));
    expectQueueStatus(ja, concert.id, 'WAITING', 'required');
    expect(ja.position).toBe(1);
    expect(await admittedA).toEqual({ concertId: concert.id, expiresAt: isoTime() });
    const tickA = await waitFor(() => ticksA[0], 'the tick that admitted A');
    expect(tickA).toEqual({ concertId: concert.id, tick: ja.tick + 1, admitted: 1, left: [], waiting: 0, etaSecondsPerPosition: nonNegative() });

    const jb = expectAckOk(await ask(sb, 'queue:join', { concertId: concert.id }));
    expectQueueStatus(jb, concert.id, 'WAITING', 'required');
    const jc = expectAckOk(await ask(sc, 'queue:join', { concertId: concert.id }));
    expectQueueStatus(jc, concert.id, 'WAITING', 'required');
    expect({ b: [jb.position, jb.tick], c: [jc.position, jc.waiting, jc.tick] }).toEqual({ b: [1, tickA.tick], c: [2, 2, tickA.tick] });
    expect(jc.ticket).toBeGreaterThan(jb.ticket);
    expect(jb.ticket).toBeGreaterThan(ja.ticket);

    // QUEUE_NOT_ACTIVE (403) while WAITING: seat map, watch, hold; nothing is held.
    expectHttpError(await http(queueSrv, 'GET', `/dates/${dateId}/seats`, { token: b.token, headers: { 'queue-token': jb.token } }), 403, 'QUEUE_NOT_ACTIVE');
    expectHttpError(
      await http(queueSrv, 'POST', '/reservations', { token: b.token, headers: { 'queue-token': jb.token }, body: { dateId, seatNumbers: [1] } }),
      403,
      'QUEUE_NOT_ACTIVE',
    );
    expectAckError(await ask(sb, 'seats:watch', { dateId, queueToken: jb.token }), 'QUEUE_NOT_ACTIVE');
    expectAckError(await ask(sb, 'seats:hold', { dateId, seatNumbers: [1], queueToken: jb.token }), 'QUEUE_NOT_ACTIVE');
    expect(await liveSeats(queueSrv, dateId)).toEqual([]);

    // B leaves while WAITING: queue:expired LEFT; C's next tick names B's ticket in `left`.
    const leftB = nextEvent(sb, 'queue:expired');
    expect(await ask(sb, 'queue:leave', { queueToken: jb.token })).toEqual({ ok: true, data: {} });
    expect(await leftB).toEqual({ concertId: concert.id, reason: 'LEFT' });
    // Right after the leave: the entry has ended at once; C's position is exact at the tick it names
    // (documented choice: the leaver stops counting at the tick that announces it in `left`).
    expectQueueStatus(expectAckOk(await ask(sb, 'queue:status', { queueToken: jb.token })), concert.id, 'EXPIRED');
    const right = expectAckOk(await ask(sc, 'queue:status', { queueToken: jc.token }));
    expect([right.tick, right.position]).toEqual(right.tick === tickA.tick ? [tickA.tick, 2] : [tickA.tick + 1, 1]);
    const t1 = await waitFor(() => ticksC.find((t) => t.tick === tickA.tick + 1), 'the tick announcing B');
    expect(t1).toEqual({ concertId: concert.id, tick: tickA.tick + 1, admitted: 0, left: [jb.ticket], waiting: 1, etaSecondsPerPosition: nonNegative() });
    const posC = jc.position - t1.admitted - t1.left.filter((x: number) => x < jc.ticket).length;
    expect(posC).toBe(1);
    const sc1 = expectAckOk(await ask(sc, 'queue:status', { queueToken: jc.token }));
    expectQueueStatus(sc1, concert.id, 'WAITING');
    expect({ position: sc1.position, tick: sc1.tick, waiting: sc1.waiting, ticket: sc1.ticket }).toEqual({ position: posC, tick: t1.tick, waiting: 1, ticket: jc.ticket });

    // A leaves while ACTIVE (HTTP): the slot goes to C at the next tick.
    const expiredA = nextEvent(sa, 'queue:expired');
    const admittedC = nextEvent(sc, 'queue:admitted', undefined, 10_000);
    const leave = await http(queueSrv, 'POST', '/queue/leave', { token: a.token, headers: { 'queue-token': ja.token } });
    expect(leave.status).toBe(200);
    expect(leave.body).toEqual({});
    expect(await expiredA).toEqual({ concertId: concert.id, reason: 'LEFT' });
    expect(await admittedC).toEqual({ concertId: concert.id, expiresAt: isoTime() });
    const t2 = await waitFor(() => ticksC.find((t) => t.tick === t1.tick + 1), 'the tick admitting C');
    expect(t2).toEqual({ concertId: concert.id, tick: t1.tick + 1, admitted: 1, left: [], waiting: 0, etaSecondsPerPosition: nonNegative() });
    expect(ticksC.map((t) => t.tick)).toEqual([t1.tick, t2.tick]);
    expectQueueStatus(expectAckOk(await ask(sc, 'queue:status', { queueToken: jc.token })), concert.id, 'ACTIVE');
    expectQueueStatus(expectAckOk(await ask(sa, 'queue:status', { queueToken: ja.token })), concert.id, 'EXPIRED');
  });

  it('QUEUE_FULL (503) at QUEUE_MAX_WAITING with Retry-After; the refused join changes nothing', async () => {
    const concert = await createConcert(queueSrv);
    const [a, b, c, d] = await Promise.all([signup(queueSrv), signup(queueSrv), signup(queueSrv), signup(queueSrv)]);
    await activeToken(queueSrv, a, concert.id);
    const jb = await http(queueSrv, 'POST', '/queue/token', { token: b.token, body: { concertId: concert.id } });
    const jc = await http(queueSrv, 'POST', '/queue/token', { token: c.token, body: { concertId: concert.id } });
    expect([jb.status, jc.status, jb.body.status, jc.body.status]).toEqual([201, 201, 'WAITING', 'WAITING']);
    const full = await http(queueSrv, 'POST', '/queue/token', { token: d.token, body: { concertId: concert.id } });
    expectHttpError(full, 503, 'QUEUE_FULL');
    const retryAfter = full.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const sd = await client(queueSrv, d.token);
    expectAckError(await ask(sd, 'queue:join', { concertId: concert.id }), 'QUEUE_FULL');
    const sc = await http(queueSrv, 'GET', '/queue/status', { token: c.token, headers: { 'queue-token': jc.body.token } });
    expect({ status: sc.body.status, position: sc.body.position, waiting: sc.body.waiting }).toEqual({ status: 'WAITING', position: 2, waiting: 2 });
  });

  it('queue:soldout {concertId} to the waiting users when the last FREE seat is held; the concert leaves GET /concerts', async () => {
    const concert = await createConcert(queueSrv, { seats: 1 });
    const dateId = concert.dates[0]!.id;
    const [a, b] = await Promise.all([signup(queueSrv), signup(queueSrv)]);
    const [sa, sb] = await Promise.all([client(queueSrv, a.token), client(queueSrv, b.token)]);
    const admittedA = nextEvent(sa, 'queue:admitted', undefined, 10_000);
    const ja = expectAckOk(await ask(sa, 'queue:join', { concertId: concert.id }));
    await admittedA;
    const jb = expectAckOk(await ask(sb, 'queue:join', { concertId: concert.id }));
    expect(jb.status).toBe('WAITING');
    const soldout = nextEvent(sb, 'queue:soldout', (e) => e.concertId === concert.id, 10_000);
    expectAckOk(await ask(sa, 'seats:hold', { dateId, seatNumbers: [1], queueToken: ja.token }));
    expect(await soldout).toEqual({ concertId: concert.id });
    const list = await http(queueSrv, 'GET', '/concerts', { token: b.token });
    expect(list.body.concerts.find((x: any) => x.id === concert.id)).toBeUndefined();
    const dates = await http(queueSrv, 'GET', `/concerts/${concert.id}/dates`, { token: b.token });
    expect(dates.body).toEqual({ dates: [{ id: dateId, startsAt: concert.dates[0]!.startsAt, totalSeats: 1, freeSeats: 0 }] });
  });

  it('queue:tick reaches a waiting user who joined over HTTP and has a socket connected ("everyone waiting for the concert")', async () => {
    const concert = await createConcert(queueSrv);
    const [a, b] = await Promise.all([signup(queueSrv), signup(queueSrv)]);
    const qa = await activeToken(queueSrv, a, concert.id);
    const sb = await client(queueSrv, b.token);
    const ticksB = record(sb, 'queue:tick');
    const jb = await http(queueSrv, 'POST', '/queue/token', { token: b.token, body: { concertId: concert.id } });
    expect(jb.body.status).toBe('WAITING');
    const admittedB = nextEvent(sb, 'queue:admitted', undefined, 10_000);
    expect((await http(queueSrv, 'POST', '/queue/leave', { token: a.token, headers: { 'queue-token': qa } })).status).toBe(200);
    expect(await admittedB).toEqual({ concertId: concert.id, expiresAt: isoTime() });
    await sleep(100);
    expect(ticksB).toEqual([{ concertId: concert.id, tick: jb.body.tick + 1, admitted: 1, left: [], waiting: 0, etaSecondsPerPosition: nonNegative() }]);
  });

  it('queue:soldout reaches a waiting user who joined over HTTP and has a socket connected ("every waiting user of the concert")', async () => {
    const concert = await createConcert(queueSrv, { seats: 1 });
    const dateId = concert.dates[0]!.id;
    const [a, b] = await Promise.all([signup(queueSrv), signup(queueSrv)]);
    const qa = await activeToken(queueSrv, a, concert.id);
    const sb = await client(queueSrv, b.token);
    const jb = await http(queueSrv, 'POST', '/queue/token', { token: b.token, body: { concertId: concert.id } });
    expect(jb.body.status).toBe('WAITING');
    const soldout = nextEvent(sb, 'queue:soldout', (e) => e.concertId === concert.id, 3_000);
    expect((await http(queueSrv, 'POST', '/reservations', { token: a.token, headers: { 'queue-token': qa }, body: { dateId, seatNumbers: [1] } })).status).toBe(201);
    expect(await soldout).toEqual({ concertId: concert.id });
  });
});

describe('queue expiry (QUEUE_ACTIVE_TTL_SECONDS=2, QUEUE_IDLE_TIMEOUT_SECONDS=1)', () => {
  serverFor(
    { QUEUE_ADMIT_INTERVAL_MS: '100', QUEUE_ADMIT_BATCH: '50', QUEUE_MAX_ACTIVE: '1', QUEUE_ACTIVE_TTL_SECONDS: '2', QUEUE_IDLE_TIMEOUT_SECONDS: '1' },
    (s) => (expirySrv = s),
  );
  it('queue:expired TIMEOUT once the active TTL passes; the token is then refused at the gate', async () => {
    const concert = await createConcert(expirySrv);
    const user = await signup(expirySrv);
    const s = await client(expirySrv, user.token);
    const admitted = nextEvent(s, 'queue:admitted', undefined, 10_000);
    const joined = expectAckOk(await ask(s, 'queue:join', { concertId: concert.id }));
    const adm = await admitted;
    const status = expectAckOk(await ask(s, 'queue:status', { queueToken: joined.token }));
    expectQueueStatus(status, concert.id, 'ACTIVE');
    expect(status.expiresAt).toBe(adm.expiresAt);
    const ttl = Date.parse(adm.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
    const expired = await nextEvent(s, 'queue:expired', undefined, 10_000);
    expect(expired).toEqual({ concertId: concert.id, reason: 'TIMEOUT' });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(adm.expiresAt));
    expectQueueStatus(expectAckOk(await ask(s, 'queue:status', { queueToken: joined.token })), concert.id, 'EXPIRED');
    expectAckError(await ask(s, 'seats:watch', { dateId: concert.dates[0]!.id, queueToken: joined.token }), 'QUEUE_TOKEN_INVALID');
  });

  it('an idle waiter (no socket, no command) is expired: its ticket appears in `left` of the next tick and its status is EXPIRED', async () => {
    const concert = await createConcert(expirySrv);
    const [a, b, c] = await Promise.all([signup(expirySrv), signup(expirySrv), signup(expirySrv)]);
    const [sa, sb] = await Promise.all([client(expirySrv, a.token), client(expirySrv, b.token)]);
    const admittedA = nextEvent(sa, 'queue:admitted', undefined, 10_000);
    expectAckOk(await ask(sa, 'queue:join', { concertId: concert.id }));
    await admittedA;
    const ticksB = record(sb, 'queue:tick');
    const jb = expectAckOk(await ask(sb, 'queue:join', { concertId: concert.id }));
    expect(jb.status).toBe('WAITING');
    const jc = await http(expirySrv, 'POST', '/queue/token', { token: c.token, body: { concertId: concert.id } });
    expect(jc.body.status).toBe('WAITING');
    const tick = await waitFor(() => ticksB.find((t) => t.left.includes(jc.body.ticket)), 'the tick announcing the idle waiter', 10_000);
    expect(tick).toEqual({ concertId: concert.id, tick: expect.any(Number), admitted: expect.any(Number), left: [jc.body.ticket], waiting: expect.any(Number), etaSecondsPerPosition: nonNegative() });
    const st = await http(expirySrv, 'GET', '/queue/status', { token: c.token, headers: { 'queue-token': jc.body.token } });
    expectQueueStatus(st.body, concert.id, 'EXPIRED');
  });
});

describe('external identity provider and switches (JWT_PUBLIC_KEY, ALLOW_SIGNUP=false, ADMIN_TOKEN unset)', () => {
  serverFor({ ALLOW_SIGNUP: 'false', ADMIN_TOKEN: '', JWT_PUBLIC_KEY: rsaPublicPem }, (s) => (configSrv = s));

  it('RS256 with a configured public key: provider tokens accepted, HS256 and other keys refused; ALLOW_SIGNUP=false and no ADMIN_TOKEN turn their routes off', async () => {
    const user = await configSrv.db.models.User.create({ name: 'provider user' });
    const good = jwt.sign({}, rsa.privateKey, { algorithm: 'RS256', subject: String(user.id) });
    const res = await http(configSrv, 'GET', '/wallets/me', { token: good });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ balance: 0, history: [] });
    expect(await handshake(configSrv, good)).toBe('CONNECTED');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const hs256 = jwt.sign({ typ: 'user' }, JWT_SECRET, { algorithm: 'HS256', subject: String(user.id) });
    for (const bad of [hs256, jwt.sign({}, other.privateKey, { algorithm: 'RS256', subject: String(user.id) })]) {
      expectHttpError(await http(configSrv, 'GET', '/wallets/me', { token: bad }), 401, 'UNAUTHORIZED');
      expect(await handshake(configSrv, bad)).toBe('UNAUTHORIZED');
    }
    // Documented choices: signup off → 403 FORBIDDEN; admin routes off → 404 NOT_FOUND.
    expectHttpError(await http(configSrv, 'POST', '/users', { body: { name: 'nobody' } }), 403, 'FORBIDDEN');
    const admin = await http(configSrv, 'POST', '/admin/concerts', {
      token: ADMIN_TOKEN,
      body: { title: 't', venue: 'v', dates: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: 1, price: 1 } }] },
    });
    expectHttpError(admin, 404, 'NOT_FOUND');
  });

  it('SEED_DEMO on a database that already has concerts loads the demo concerts (50 seats each) and leaves other concerts’ seats alone', async () => {
    const name = `tix_protocol_seed_${Date.now()}_${process.pid}`;
    const admin = new Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${name}`;
      const db = await openDatabase(url.toString(), 2);
      try {
        const catalog = new CatalogRepository(db);
        const startsAt = new Date(Date.now() + 86_400_000).toISOString();
        const mine = await catalog.createConcert({ title: 'Mine', venue: 'V', dates: [{ startsAt, seats: { count: 12, price: 1000 } }] });
        await seedDemo(db, catalog);
        const seats = await db.sequelize.query<{ number: number; grade: string; price: number }>(
          'SELECT number, grade, price FROM seats WHERE date_id = $1 ORDER BY number',
          { bind: [mine.concert.dates[0]!.id], type: QueryTypes.SELECT },
        );
        expect(seats).toEqual(Array.from({ length: 12 }, (_, i) => ({ number: i + 1, grade: 'GENERAL', price: 1000 })));
        const demo = await catalog.listConcerts();
        expect(demo.filter((c) => c.id !== mine.concert.id).length).toBeGreaterThan(0);
        for (const c of demo.filter((x) => x.id !== mine.concert.id)) {
          for (const d of (await catalog.listDates(c.id)) ?? []) expect(d).toMatchObject({ totalSeats: 50, freeSeats: 50 });
        }
      } finally {
        await db.close();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  });

  it('GET /health → 503 once the database does not answer', async () => {
    const db = await openDatabase(testDatabaseUrl(), 2);
    const server = await startServer({ db });
    try {
      expect((await http(server, 'GET', '/health')).status).toBe(200);
      await db.close();
      const down = await http(server, 'GET', '/health');
      expect(down.status).toBe(503);
    } finally {
      await server.close();
    }
  });
});
