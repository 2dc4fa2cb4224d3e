/**
 * Contract checks of PROTOCOL.md's "Identity" and "Limits and fair access"
 * that no other file makes: failed logins limited per name however many
 * addresses try; the per-IP budget shared by signup, login and refresh, with
 * Retry-After and details.retryAfterMs; auth:refresh with a revoked
 * session's token; auth:refresh with an external provider's tokens;
 * queue:challenge on a concert that needs none; the per-user budget on
 * socket commands that need no token over HTTP (the catalog).
 */
import jwt from 'jsonwebtoken';
import { PASSWORD, createConcert, http, login, serverFor, signup, type TestServer } from '../support/server';
import { ask, client, closeClients, roundTrip } from '../support/clients';
import { expectAckError, expectAckOk, expectHttpError } from '../support/shapes';
import { rsa, rsaPublicPem } from '../support/tokens';

afterEach(closeClients);

describe('failed logins and the per-IP budget', () => {
  let server: TestServer;
  // Every request names its own client address through the trusted proxy (us).
  serverFor({ env: { TRUST_PROXY: '127.0.0.1, ::1', RATE_LIMIT_PER_IP: '3' } }, (s) => (server = s));
  let address = 0;
  const from = () => ({ 'x-forwarded-for': `198.51.100.${++address}` });

  const signupFrom = async (name: string) => {
    const res = await http(server, 'POST', '/users', { body: { name, password: PASSWORD }, headers: from() });
    expect(res.status).toBe(201);
    return res.body;
  };

  it('after 10 failed logins of a name, from 10 addresses, the name is refused with 429 even with the right password; another name is not', async () => {
    const name = `guessed-${Date.now()}`;
    await signupFrom(name);
    const other = `untouched-${Date.now()}`;
    await signupFrom(other);
    for (let i = 0; i < 10; i++) {
      // Any letter case is the same name.
      const guess = i % 2 ? name.toUpperCase() : name;
      expectHttpError(await http(server, 'POST', '/sessions', { body: { name: guess, password: `wrong guess ${i}` }, headers: from() }), 401, 'UNAUTHORIZED');
    }
    const refused = await http(server, 'POST', '/sessions', { body: { name, password: PASSWORD }, headers: from() });
    expectHttpError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(refused.body.error.details.retryAfterMs).toBeGreaterThan(60_000);
    expect((await http(server, 'POST', '/sessions', { body: { name: other, password: PASSWORD }, headers: from() })).status).toBe(200);
  });

  it('signup, login and refresh spend one per-IP budget: the 4th request of a minute from an address is 429 with Retry-After and details.retryAfterMs', async () => {
    const headers = from();
    const name = `ip-${Date.now()}`;
    const created = await http(server, 'POST', '/users', { body: { name, password: PASSWORD }, headers });
    expect(created.status).toBe(201);
    expect((await http(server, 'POST', '/sessions', { body: { name, password: PASSWORD }, headers })).status).toBe(200);
    expect((await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: created.body.refreshToken }, headers })).status).toBe(200);
    for (const [path, body] of [
      ['/users', { name: `${name}-2`, password: PASSWORD }],
      ['/sessions', { name, password: PASSWORD }],
      ['/sessions/refresh', { refreshToken: created.body.refreshToken }],
    ] as const) {
      const res = await http(server, 'POST', path, { body, headers });
      expectHttpError(res, 429, 'RATE_LIMITED');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.body.error.details.retryAfterMs).toBeGreaterThan(0);
    }
    // Refused, so nothing was created: the name is still free.
    expect((await http(server, 'POST', '/users', { body: { name: `${name}-2`, password: PASSWORD }, headers: from() })).status).toBe(201);
  });
});

describe('auth:refresh and queue:challenge', () => {
  let server: TestServer;
  serverFor({}, (s) => (server = s));

  it('auth:refresh with a token of a revoked session is UNAUTHORIZED, and the socket keeps running as before', async () => {
    const user = await signup(server);
    const second = await login(server, user);
    const socket = await client(server, user.token);
    expect((await http(server, 'POST', '/sessions/logout', { token: second.token })).status).toBe(200);
    expectAckError(await ask(socket, 'auth:refresh', { token: second.token }), 'UNAUTHORIZED');
    await roundTrip(socket);
    expect(socket.connected).toBe(true);
  });

  it('queue:challenge for a concert whose waiting room needs none is NOT_FOUND, as GET /queue/challenge', async () => {
    const user = await signup(server);
    const concert = await createConcert(server, { seats: 2 });
    const socket = await client(server, user.token);
    expectAckError(await ask(socket, 'queue:challenge', { concertId: concert.id }), 'NOT_FOUND');
    expectHttpError(await http(server, 'GET', `/queue/challenge?concertId=${concert.id}`, { token: user.token }), 404, 'NOT_FOUND');
  });
});

describe('auth:refresh with an external identity provider', () => {
  const ISSUER = 'https://idp.contract.test';
  const AUDIENCE = 'tickets';
  let server: TestServer;
  serverFor({ env: { JWT_PUBLIC_KEY: rsaPublicPem, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE } }, (s) => (server = s));
  const providerToken = (sub: string, expiresIn = 600) => jwt.sign({ iss: ISSUER, aud: AUDIENCE }, rsa.privateKey, { algorithm: 'RS256', subject: sub, expiresIn });

  it('takes a newer provider token of the same identity, and refuses another identity’s', async () => {
    const sub = `refreshing-${Date.now()}`;
    const socket = await client(server, providerToken(sub));
    expect(expectAckOk(await ask(socket, 'auth:refresh', { token: providerToken(sub, 900) }))).toEqual({});
    expectAckError(await ask(socket, 'auth:refresh', { token: providerToken(`${sub}-other`) }), 'UNAUTHORIZED');
    await roundTrip(socket);
    expect(socket.connected).toBe(true);
  });
});

describe('the per-user budget on the catalog’s socket events', () => {
  let server: TestServer;
  serverFor({ env: { RATE_LIMIT_PER_USER: '5' } }, (s) => (server = s));

  it('a socket’s concerts:list and concert:dates spend its user’s budget like any command: past it, RATE_LIMITED with details.retryAfterMs', async () => {
    const user = await signup(server);
    const concert = await createConcert(server, { seats: 2 });
    const socket = await client(server, user.token);
    const acks = await Promise.all(Array.from({ length: 30 }, (_, i) => ask(socket, i % 2 ? 'concerts:list' : 'concert:dates', i % 2 ? {} : { concertId: concert.id })));
    const limited = acks.filter((a) => !a.ok);
    // Bursts of twice the rate pass; a few more may refill while the 30 run.
    expect(acks.filter((a) => a.ok).length).toBeGreaterThanOrEqual(10);
    expect(limited.length).toBeGreaterThanOrEqual(15);
    for (const ack of limited) {
      expectAckError(ack, 'RATE_LIMITED');
      expect(ack.error.details.retryAfterMs).toBeGreaterThan(0);
    }
    // HTTP's public catalog needs no token and spends no user's budget.
    expect((await http(server, 'GET', '/concerts')).status).toBe(200);
  });
});

describe('account and session edges', () => {
  let server: TestServer;
  serverFor({}, (s) => (server = s));

  it('takes a 100-character name and 8- and 200-character passwords; refuses 7 characters, and a name with a control character', async () => {
    const stamp = Date.now().toString(36);
    const long = `${stamp}-${'n'.repeat(100 - stamp.length - 1)}`;
    expect(long).toHaveLength(100);
    expect((await http(server, 'POST', '/users', { body: { name: long, password: '8 chars!' } })).status).toBe(201);
    expect((await http(server, 'POST', '/users', { body: { name: `${stamp}-p200`, password: 'p'.repeat(200) } })).status).toBe(201);
    expect((await http(server, 'POST', '/sessions', { body: { name: `${stamp}-P200`, password: 'p'.repeat(200) } })).status).toBe(200);
    expectHttpError(await http(server, 'POST', '/users', { body: { name: `${stamp}-short`, password: '7 chars' } }), 400, 'VALIDATION_FAILED');
    expectHttpError(await http(server, 'POST', '/users', { body: { name: `${stamp}\u0007bell`, password: PASSWORD } }), 400, 'VALIDATION_FAILED');
  });

  it('logout takes no body or an empty object, and answers 200 {} once; the session’s token is refused after', async () => {
    const user = await signup(server);
    const again = await login(server, user);
    const bare = await http(server, 'POST', '/sessions/logout', { token: user.token });
    expect({ status: bare.status, body: bare.body }).toEqual({ status: 200, body: {} });
    const withBody = await http(server, 'POST', '/sessions/logout', { token: again.token, body: {} });
    expect({ status: withBody.status, body: withBody.body }).toEqual({ status: 200, body: {} });
    expectHttpError(await http(server, 'POST', '/sessions/logout', { token: again.token }), 401, 'UNAUTHORIZED');
  });
});
