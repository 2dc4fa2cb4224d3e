import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Socket } from 'socket.io-client';
import { AppError } from '../../src/errors';
import { ReservationRepository } from '../../src/models/reservation-repository';
import { JWT_SECRET, connectClient, createConcert, http, signup, startServer, type TestServer, type TestUser } from '../support/server';

type Reply = { ok: true; data: any } | { ok: false; error: any; status?: number };
interface Transport {
  name: string;
  charge(server: TestServer, user: TestUser, body: unknown, key?: string): Promise<Reply>;
  get(server: TestServer, user: TestUser, payload?: unknown): Promise<Reply>;
}

let server: TestServer;
/** Small limits: WALLET_MAX_CHARGE 3,000 and WALLET_MAX_BALANCE 5,000. */
let capped: TestServer;
/** One connection per user, cached as a promise so concurrent first uses share it (and every one gets closed). */
const sockets = new Map<string, Promise<Socket>>();
const touched = new Map<number, TestServer>();

function socketOf(s: TestServer, user: TestUser): Promise<Socket> {
  let socket = sockets.get(user.token);
  if (!socket) sockets.set(user.token, (socket = connectClient(s, user.token)));
  return socket;
}

const fromHttp = (res: { status: number; body: any }): Reply =>
  res.status === 200 ? { ok: true, data: res.body } : { ok: false, error: res.body.error, status: res.status };

const HTTP: Transport = {
  name: 'HTTP',
  charge: async (s, user, body, key) =>
    fromHttp(await http(s, 'POST', '/wallets/charge', { token: user.token, body, headers: key === undefined ? {} : { 'idempotency-key': key } })),
  get: async (s, user) => fromHttp(await http(s, 'GET', '/wallets/me', { token: user.token })),
};
const SOCKET: Transport = {
  name: 'socket',
  charge: async (s, user, body, key) =>
    (await socketOf(s, user)).emitWithAck('wallet:charge', key === undefined ? body : { ...(body as object), idempotencyKey: key }),
  get: async (s, user, payload = {}) => (await socketOf(s, user)).emitWithAck('wallet:get', payload),
};
const TRANSPORTS = [HTTP, SOCKET];

async function newUser(s: TestServer = server): Promise<TestUser> {
  const user = await signup(s);
  touched.set(user.id, s);
  return user;
}

async function stateOf(userId: number, s: TestServer = server) {
  const [[row]] = (await s.db.sequelize.query(
    `SELECT balance, (SELECT count(*)::int FROM wallet_ledger WHERE user_id = $1) AS rows,
            (SELECT count(*)::int FROM idempotency_keys WHERE user_id = $1) AS keys
       FROM users WHERE id = $1`,
    { bind: [userId] },
  )) as [any[], unknown];
  return row as { balance: number; rows: number; keys: number };
}

/** Replays the ledger in id order: every balance_after is the running sum, never below zero, and ends at the balance. */
async function expectLedgerMatchesBalance(userId: number, s: TestServer = server) {
  const [rows] = (await s.db.sequelize.query('SELECT kind, amount, balance_after FROM wallet_ledger WHERE user_id = $1 ORDER BY id', {
    bind: [userId],
  })) as [{ kind: string; amount: number; balance_after: number }[], unknown];
  let sum = 0;
  for (const r of rows) {
    expect(r.amount).toBeGreaterThan(0);
    sum += r.kind === 'PAYMENT' ? -r.amount : r.amount;
    expect(r.balance_after).toBe(sum);
    expect(sum).toBeGreaterThanOrEqual(0);
  }
  expect((await stateOf(userId, s)).balance).toBe(sum);
}

function expectError(reply: Reply, code: string, httpStatus: number) {
  expect(reply).toMatchObject({ ok: false, error: { code, message: expect.any(String) } });
  if (!reply.ok && reply.status !== undefined) expect(reply.status).toBe(httpStatus);
}

interface HeldRef {
  id: number;
  dateId: number;
  concertId: number;
}

/** `n` HELD reservations of 700 for the user, each payable once (payments are unique per reservation). */
async function reservationsOf(s: TestServer, userId: number, n = 1): Promise<HeldRef[]> {
  const concert = await createConcert(s);
  const date = concert.dates[0]!;
  const [rows] = (await s.db.sequelize.query(
    `INSERT INTO reservations (user_id, date_id, concert_id, status, total, expires_at)
     SELECT $1, $2, $3, 'HELD', 700, now() + interval '5 minutes' FROM generate_series(1, $4::int) RETURNING id`,
    { bind: [userId, date.id, concert.id, n] },
  )) as [{ id: number }[], unknown];
  return rows.map((r) => ({ id: r.id, dateId: date.id, concertId: concert.id }));
}

/** Money as a date room moves it: a confirm with its payment, or a cancel with its refund, in a group commit of its own. */
const move = (s: TestServer, kind: 'PAYMENT' | 'REFUND', userId: number, r: HeldRef) => {
  const at = new Date();
  const transition = kind === 'PAYMENT' ? { prev: 'HELD', status: 'CONFIRMED' } as const : { prev: 'CONFIRMED', status: 'CANCELED' } as const;
  return new ReservationRepository(s.db.sequelize).commitBatch(s.db.commits, {
    dateId: r.dateId,
    concertId: r.concertId,
    version: 0,
    transitions: [{ id: r.id, ...transition, at }],
    inserts: [],
    money: [{ kind, reservationId: r.id, userId, amount: 700, at }],
  });
};

beforeAll(async () => {
  server = await startServer();
  capped = await startServer({ env: { WALLET_MAX_CHARGE: '3000', WALLET_MAX_BALANCE: '5000' } });
});
afterAll(async () => {
  for (const socket of await Promise.all(sockets.values())) socket.close();
  await Promise.all([server.close(), capped.close()]);
});

describe.each(TRANSPORTS)('wallet:charge over $name', (t) => {
  // Every row has three entries: a shorter row would make jest pass its `done` callback as `key`.
  it.each<[string, unknown, string | undefined]>([
    ['zero', { amount: 0 }, undefined],
    ['a negative amount', { amount: -1000 }, undefined],
    ['a fractional amount', { amount: 10.5 }, undefined],
    ['a string amount', { amount: '1000' }, undefined],
    ['a null amount', { amount: null }, undefined],
    ['an amount over WALLET_MAX_CHARGE', { amount: 1_000_001 }, undefined],
    ['a huge amount', { amount: 1e300 }, undefined],
    ['no amount', {}, undefined],
    ['an extra property', { amount: 1000, note: 'x' }, undefined],
    ['an empty idempotency key', { amount: 1000 }, ''],
    ['an over-long idempotency key', { amount: 1000 }, 'k'.repeat(201)],
  ])('refuses %s with VALIDATION_FAILED and changes nothing', async (_label, body, key) => {
    const user = await newUser();
    const reply = await t.charge(server, user, body, key);
    expectError(reply, 'VALIDATION_FAILED', 400);
    expect(reply.ok ? [] : reply.error.details.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: expect.any(String) })]));
    expect(await stateOf(user.id)).toEqual({ balance: 0, rows: 0, keys: 0 });
  });

  it('charges a valid amount and answers the new balance', async () => {
    const user = await newUser();
    expect(await t.charge(server, user, { amount: 1500 })).toEqual({ ok: true, data: { balance: 1500 } });
    expect(await t.charge(server, user, { amount: 1_000_000 })).toEqual({ ok: true, data: { balance: 1_001_500 } });
    expect(await stateOf(user.id)).toEqual({ balance: 1_001_500, rows: 2, keys: 0 });
  });

  it('five concurrent charges with one idempotency key charge once and all get the same answer', async () => {
    const user = await newUser();
    await t.charge(server, user, { amount: 300 });
    const replies = await Promise.all(Array.from({ length: 5 }, () => t.charge(server, user, { amount: 700 }, 'key-1')));
    expect(replies).toEqual(Array.from({ length: 5 }, () => ({ ok: true, data: { balance: 1000 } })));
    expect(await t.charge(server, user, { amount: 700 }, 'key-1')).toEqual({ ok: true, data: { balance: 1000 } });
    expect(await stateOf(user.id)).toEqual({ balance: 1000, rows: 2, keys: 1 });
  });

  it('answers 409 IDEMPOTENCY_CONFLICT when a key is reused with another amount, and changes nothing', async () => {
    const user = await newUser();
    expect(await t.charge(server, user, { amount: 500 }, 'key-2')).toEqual({ ok: true, data: { balance: 500 } });
    expectError(await t.charge(server, user, { amount: 501 }, 'key-2'), 'IDEMPOTENCY_CONFLICT', 409);
    expect(await stateOf(user.id)).toEqual({ balance: 500, rows: 1, keys: 1 });
  });

  it('refuses a well-signed token naming no user (a ghost sub, with a real or a made-up session) with UNAUTHORIZED', async () => {
    const real = await newUser();
    const sid = (jwt.decode(real.token) as jwt.JwtPayload)['sid'] as string;
    for (const session of [sid, randomUUID()]) {
      const token = jwt.sign({ typ: 'user', sid: session }, JWT_SECRET, { subject: '2000000000', algorithm: 'HS256', expiresIn: 60 });
      const ghost = { id: 2_000_000_000, name: 'ghost', token, refreshToken: '', password: '' };
      if (t.name === 'socket') {
        await expect(connectClient(server, token)).rejects.toThrow('UNAUTHORIZED');
        continue;
      }
      expectError(await t.charge(server, ghost, { amount: 100 }), 'UNAUTHORIZED', 401);
      expectError(await t.get(server, ghost), 'UNAUTHORIZED', 401);
    }
    expect(await stateOf(real.id)).toEqual({ balance: 0, rows: 0, keys: 0 });
  });
});

describe('concurrent charges', () => {
  it('refuses over HTTP a JSON amount that overflows to Infinity', async () => {
    const user = await newUser();
    const res = await http(server, 'POST', '/wallets/charge', { token: user.token, raw: '{"amount": 1e400}', headers: { 'content-type': 'application/json' } });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(await stateOf(user.id)).toEqual({ balance: 0, rows: 0, keys: 0 });
  });

  it('40 concurrent charges of 1,000 over both transports end at exactly 40,000 with 40 ledger rows', async () => {
    const user = await newUser();
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => TRANSPORTS[i % 2]!.charge(server, user, { amount: 1000 })));
    expect(replies.every((r) => r.ok)).toBe(true);
    // Each charge saw the one before it: the answers are exactly 1,000, 2,000, …, 40,000.
    const balances = replies.map((r) => (r.ok ? (r.data.balance as number) : 0)).sort((a, b) => a - b);
    expect(balances).toEqual(Array.from({ length: 40 }, (_, i) => (i + 1) * 1000));
    expect(await stateOf(user.id)).toEqual({ balance: 40_000, rows: 40, keys: 0 });
    await expectLedgerMatchesBalance(user.id);
  });

  it('one idempotency key shared by HTTP and socket duplicates charges once', async () => {
    const user = await newUser();
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => TRANSPORTS[i % 2]!.charge(server, user, { amount: 250 }, 'shared')));
    expect(new Set(replies.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ ok: true, data: { balance: 250 } })]));
    expect(await stateOf(user.id)).toEqual({ balance: 250, rows: 1, keys: 1 });
  });

  it('keys belong to their user: two users with one key are two charges', async () => {
    const [a, b] = [await newUser(), await newUser()];
    await Promise.all([HTTP.charge(server, a, { amount: 100 }, 'same'), SOCKET.charge(server, b, { amount: 200 }, 'same')]);
    expect((await stateOf(a.id)).balance).toBe(100);
    expect((await stateOf(b.id)).balance).toBe(200);
  });
});

describe('debits from the payment code racing charges', () => {
  it('debits concurrently with charges: balance = charges − debits, never below zero, refused debits change nothing', async () => {
    const user = await newUser();
    const reservations = await reservationsOf(server, user.id, 30);
    await HTTP.charge(server, user, { amount: 5000 });
    const charges = Array.from({ length: 30 }, (_, i) => TRANSPORTS[i % 2]!.charge(server, user, { amount: 1000 }));
    const debits = reservations.map((r) =>
      move(server, 'PAYMENT', user.id, r).then(
        () => 'debited' as const,
        (err: unknown) => (err instanceof AppError ? err.code : err),
      ),
    );
    const [chargeReplies, debitOutcomes] = await Promise.all([Promise.all(charges), Promise.all(debits)]);
    expect(chargeReplies.every((r) => r.ok)).toBe(true);
    const debited = debitOutcomes.filter((o) => o === 'debited').length;
    expect(debitOutcomes.filter((o) => o !== 'debited').every((o) => o === 'INSUFFICIENT_BALANCE')).toBe(true);
    expect(debited).toBeGreaterThanOrEqual(7); // 5,000 was there before any debit
    expect(await stateOf(user.id)).toEqual({ balance: 35_000 - 700 * debited, rows: 31 + debited, keys: 0 });
    await expectLedgerMatchesBalance(user.id);
  });

});

describe('GET /wallets/me and wallet:get', () => {
  it('shows the balance and the history newest first, amounts positive, balanceAfter right, the same on both transports', async () => {
    const user = await newUser();
    const [reservation] = await reservationsOf(server, user.id);
    await HTTP.charge(server, user, { amount: 1000 });
    await SOCKET.charge(server, user, { amount: 2500 });
    await move(server, 'PAYMENT', user.id, reservation!);
    await move(server, 'REFUND', user.id, reservation!);
    await HTTP.charge(server, user, { amount: 300 });
    const viaHttp = await HTTP.get(server, user);
    const entry = (kind: string, amount: number, balanceAfter: number) => ({ id: expect.any(Number), kind, amount, balanceAfter, at: expect.any(String) });
    expect(viaHttp).toEqual({
      ok: true,
      data: {
        balance: 3800,
        history: [entry('CHARGE', 300, 3800), entry('REFUND', 700, 3500), entry('PAYMENT', 700, 2800), entry('CHARGE', 2500, 3500), entry('CHARGE', 1000, 1000)],
      },
    });
    const history = viaHttp.ok ? (viaHttp.data.history as { id: number; at: string }[]) : [];
    expect(history.map((h) => h.id)).toEqual([...history.map((h) => h.id)].sort((a, b) => b - a));
    expect(history.every((h) => new Date(h.at).toISOString() === h.at)).toBe(true);
    expect(history.map((h) => h.at)).toEqual([...history.map((h) => h.at)].sort().reverse());
    expect(await SOCKET.get(server, user)).toEqual(viaHttp);
    expect(await SOCKET.get(server, user, { limit: 2 })).toEqual({ ok: true, data: { balance: 3800, history: history.slice(0, 2) } });
  });

  it('shows an empty history for a new wallet and bounds the history at 50 rows', async () => {
    const user = await newUser();
    expect(await SOCKET.get(server, user)).toEqual({ ok: true, data: { balance: 0, history: [] } });
    await Promise.all(Array.from({ length: 55 }, (_, i) => TRANSPORTS[i % 2]!.charge(server, user, { amount: 10 })));
    const reply = await HTTP.get(server, user);
    expect(reply.ok && reply.data.history.length).toBe(50);
    expect(reply.ok && reply.data.history[0]).toMatchObject({ balanceAfter: 550 });
    const all = await SOCKET.get(server, user, { limit: 100 });
    expect(all.ok && all.data.history.length).toBe(55);
  });

  it.each([[{ limit: 0 }], [{ limit: 101 }], [{ limit: 'all' }], [{ extra: true }]])('refuses wallet:get with %j', async (payload) => {
    expectError(await SOCKET.get(server, await newUser(), payload), 'VALIDATION_FAILED', 400);
  });
});

describe('the balance cap (WALLET_MAX_BALANCE)', () => {
  it.each(TRANSPORTS)('refuses over $name a charge past the cap or past WALLET_MAX_CHARGE with VALIDATION_FAILED', async (t) => {
    const user = await newUser(capped);
    expectError(await t.charge(capped, user, { amount: 3001 }), 'VALIDATION_FAILED', 400);
    expect(await t.charge(capped, user, { amount: 3000 })).toEqual({ ok: true, data: { balance: 3000 } });
    expect(await t.charge(capped, user, { amount: 2000 })).toEqual({ ok: true, data: { balance: 5000 } });
    const over = await t.charge(capped, user, { amount: 1 });
    expectError(over, 'VALIDATION_FAILED', 400);
    expect(over.ok ? undefined : over.error.details).toMatchObject({ balance: 5000, maxBalance: 5000, errors: [{ path: '/amount' }] });
    expect(await stateOf(user.id, capped)).toEqual({ balance: 5000, rows: 2, keys: 0 });
  });

  it('lets exactly enough of 12 concurrent charges through to reach the cap', async () => {
    const user = await newUser(capped);
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => TRANSPORTS[i % 2]!.charge(capped, user, { amount: 1000 })));
    expect(replies.filter((r) => r.ok)).toHaveLength(5);
    expect(replies.filter((r) => !r.ok && r.error.code === 'VALIDATION_FAILED')).toHaveLength(7);
    expect(await stateOf(user.id, capped)).toEqual({ balance: 5000, rows: 5, keys: 0 });
  });

  it('does not remember a refused charge: the same key then works with another amount', async () => {
    const user = await newUser(capped);
    await HTTP.charge(capped, user, { amount: 3000 });
    expectError(await HTTP.charge(capped, user, { amount: 2500 }, 'retry'), 'VALIDATION_FAILED', 400);
    expect(await SOCKET.charge(capped, user, { amount: 2000 }, 'retry')).toEqual({ ok: true, data: { balance: 5000 } });
    expect(await HTTP.charge(capped, user, { amount: 2000 }, 'retry')).toEqual({ ok: true, data: { balance: 5000 } });
    expectError(await HTTP.charge(capped, user, { amount: 2500 }, 'retry'), 'IDEMPOTENCY_CONFLICT', 409);
    expect(await stateOf(user.id, capped)).toEqual({ balance: 5000, rows: 2, keys: 1 });
  });

});

it('leaves every wallet this file touched with a ledger that sums to its balance', async () => {
  expect(touched.size).toBeGreaterThan(40);
  for (const [userId, s] of touched) await expectLedgerMatchesBalance(userId, s);
});
