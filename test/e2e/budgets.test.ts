import type { Socket } from 'socket.io-client';
import { ask, client, closeClients } from '../support/clients';
import { PASSWORD, http, serverFor, signup, startServer, type TestServer } from '../support/server';

// The real limits, not the test defaults (test/support/server.ts lifts them for every other file).
const LIMITS = { RATE_LIMIT_PER_USER: '20', RATE_LIMIT_PER_IP: '5', MAX_SOCKETS_PER_USER: '5' };

/** A command the user's budget pays for, over a socket or HTTP; the reply in one shape. */
async function walletOverSocket(socket: Socket): Promise<{ ok: boolean; code?: string; retryAfterMs?: number }> {
  const r = await ask(socket, 'wallet:get', {});
  return r.ok ? { ok: true } : { ok: false, code: r.error.code, retryAfterMs: r.error.details?.retryAfterMs };
}

async function walletOverHttp(server: TestServer, token: string): Promise<{ ok: boolean; code?: string; retryAfter?: string | null }> {
  const r = await http(server, 'GET', '/wallets/me', { token });
  return r.status === 200 ? { ok: true } : { ok: false, code: r.body['error']?.code, retryAfter: r.headers.get('retry-after') };
}

describe('budgets per user, across every socket and HTTP', () => {
  let server: TestServer;
  serverFor({ env: { ...LIMITS, MAX_SOCKETS_PER_USER: '50' } }, (s) => (server = s));
  afterEach(closeClients);

  it('holds one user on 20 sockets and HTTP to its budget; the rest get RATE_LIMITED with the wait; another user is unaffected', async () => {
    const user = await signup(server);
    const sockets = await Promise.all(Array.from({ length: 20 }, () => client(server, user.token)));
    const socketReplies = sockets.flatMap((s) => Array.from({ length: 10 }, () => walletOverSocket(s)));
    const httpReplies = Array.from({ length: 50 }, () => walletOverHttp(server, user.token));
    const replies = await Promise.all([...socketReplies, ...httpReplies]);

    const ok = replies.filter((r) => r.ok).length;
    // 20 a second plus a reserve of 20; a fixed window may turn over once during the burst.
    expect(ok).toBeGreaterThanOrEqual(20);
    expect(ok).toBeLessThanOrEqual(60);
    const limited = replies.filter((r) => !r.ok);
    expect(limited.length).toBe(250 - ok);
    for (const r of limited) expect(r.code).toBe('RATE_LIMITED');
    const overSocket = (await Promise.all(socketReplies)).filter((r) => !r.ok);
    const overHttp = (await Promise.all(httpReplies)).filter((r) => !r.ok);
    expect(overSocket.length + overHttp.length).toBe(limited.length);
    for (const r of overSocket) expect(r.retryAfterMs).toBeGreaterThan(0);
    for (const r of overHttp) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);

    const other = await signup(server);
    expect(await walletOverHttp(server, other.token)).toEqual({ ok: true });
  });
});

describe('budgets shared by two instances through Redis', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    // Both instances share one key prefix, as one deployment would.
    const prefix = `budgets${Date.now()}:`;
    a = await startServer({ redis: true, env: { ...LIMITS, REDIS_PREFIX: prefix } });
    b = await startServer({ redis: true, env: { ...LIMITS, REDIS_PREFIX: prefix } });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('counts a user once, whichever instance each command reaches', async () => {
    const user = await signup(a);
    const replies = await Promise.all(Array.from({ length: 120 }, (_, i) => walletOverHttp(i % 2 ? a : b, user.token)));
    const ok = replies.filter((r) => r.ok).length;
    expect(ok).toBeGreaterThanOrEqual(20);
    expect(ok).toBeLessThanOrEqual(60);
  });
});

describe('sockets per user', () => {
  let server: TestServer;
  serverFor({ env: LIMITS }, (s) => (server = s));
  afterEach(closeClients);

  it('a 6th socket is accepted and the user’s oldest socket is closed', async () => {
    const user = await signup(server);
    const sockets: Socket[] = [];
    for (let i = 0; i < 5; i++) sockets.push(await client(server, user.token));
    const oldest = sockets[0] as Socket;
    const closed = new Promise<string>((resolve) => oldest.once('disconnect', resolve));
    const sixth = await client(server, user.token);
    expect(await closed).toBe('io server disconnect');
    expect(await walletOverSocket(sixth)).toEqual({ ok: true });
    for (const s of sockets.slice(1)) expect(s.connected).toBe(true);
    // Another user's sockets do not count against this one.
    const other = await signup(server);
    expect(await walletOverSocket(await client(server, other.token))).toEqual({ ok: true });
  });
});

describe('budgets per client IP on routes without a user', () => {
  let direct: TestServer;
  serverFor({ env: LIMITS }, (s) => (direct = s));

  it('limits signups from one address and answers 429 with Retry-After; a client’s X-Forwarded-For changes nothing without TRUST_PROXY', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const r = await http(direct, 'POST', '/users', { body: { name: `ip-budget-${Date.now()}-${i}`, password: PASSWORD } });
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // Without TRUST_PROXY a client's X-Forwarded-For is not believed: still the peer's budget.
    const forwarded = { 'x-forwarded-for': '203.0.113.9' };
    expect((await http(direct, 'POST', '/users', { body: { name: `xff-${Date.now()}`, password: PASSWORD }, headers: forwarded })).status).toBe(429);
  });
});

describe('TRUST_PROXY', () => {
  let proxied: TestServer;
  serverFor({ env: { ...LIMITS, TRUST_PROXY: '127.0.0.1, ::1' } }, (s) => (proxied = s));

  it('counts the right-most untrusted X-Forwarded-For address, so clients behind the proxy have their own budgets', async () => {
    const signupFrom = (chain: string, i: number) => http(proxied, 'POST', '/users', { body: { name: `proxied-${Date.now()}-${i}`, password: PASSWORD }, headers: { 'x-forwarded-for': chain } });
    // A client cannot escape its budget by prepending addresses: the right-most untrusted one counts.
    const first = await Promise.all(Array.from({ length: 6 }, (_, i) => signupFrom(`10.0.0.${i}, 198.51.100.1`, i)));
    expect(first.map((r) => r.status).sort()).toEqual([201, 201, 201, 201, 201, 429]);
    expect((await signupFrom('198.51.100.2', 99)).status).toBe(201);
  });
});
