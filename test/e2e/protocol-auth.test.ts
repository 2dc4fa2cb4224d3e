/**
 * PROTOCOL.md acceptance, identity: sign-up, user tokens on both transports,
 * and an external identity provider with sign-up and admin routes switched off.
 *
 * Where PROTOCOL.md is ambiguous and docs/api.md (or a page it links)
 * documents the choice, the documented choice is asserted and marked
 * "documented choice".
 *
 * Servers, one per describe and never two at once (see serverFor):
 *   main    FAST_QUEUE, the test JWT secret (HS256)
 *   config  ALLOW_SIGNUP=false, ADMIN_TOKEN unset, JWT_PUBLIC_KEY (RS256 user tokens)
 */
import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ADMIN_TOKEN, JWT_SECRET, createConcert, http, serverFor, signup, type TestServer } from '../support/server';
import { client, closeClients } from '../support/clients';
import { FAST_QUEUE } from '../support/queue';
import { anId, expectHttpError } from '../support/shapes';
import { badUserTokens, rsa, rsaPublicPem, sessionOf } from '../support/tokens';

afterEach(closeClients);

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

describe('sign-up and user tokens (HS256 with JWT_SECRET)', () => {
  let main: TestServer;
  serverFor({ env: { ...FAST_QUEUE } }, (s) => (main = s));

  it('signing up answers 201 {user: {id, name}, token, refreshToken}; the token is an HS256 JWT with sub (user id), sid and exp that works on both transports', async () => {
    const res = await http(main, 'POST', '/users', { body: { name: 'Alice', password: 'alice’s password' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ user: { id: anId(), name: 'Alice' }, token: expect.any(String), refreshToken: expect.any(String) });
    const decoded = jwt.decode(res.body.token, { complete: true });
    expect(decoded?.header.alg).toBe('HS256');
    const payload = decoded?.payload as jwt.JwtPayload;
    expect(String(payload.sub)).toBe(String(res.body.user.id));
    expect(payload).toMatchObject({ sid: expect.any(String), exp: expect.any(Number) });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
    expect((await http(main, 'GET', '/wallets/me', { token: res.body.token })).status).toBe(200);
    expect(await handshake(main, res.body.token)).toBe('CONNECTED');
  });

  it('a sign-up with a bad body is refused with 400 VALIDATION_FAILED whose details list the failing paths', async () => {
    for (const [body, path] of [
      [{}, '/name'],
      [{ name: 5, password: 'long enough' }, '/name'],
      [{ name: '', password: 'long enough' }, '/name'],
      [{ name: 'x\u0000y', password: 'long enough' }, '/name'],
      [{ name: 'evil\u202Eoverride', password: 'long enough' }, '/name'],
      [{ name: 'x'.repeat(101), password: 'long enough' }, '/name'],
      [{ name: 'short password', password: 'seven77' }, '/password'],
      [{ name: 'long password', password: 'x'.repeat(201) }, '/password'],
      [{ name: 'no password' }, '/password'],
    ] as const) {
      const res = await http(main, 'POST', '/users', { body });
      expectHttpError(res, 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(res.body.error.details)).toContain(path);
    }
    expectHttpError(await http(main, 'POST', '/users', { raw: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'VALIDATION_FAILED');
  });

  it('refuses missing, malformed, forged, expired, exp-less, sid-less, unknown-session, alg-none, unexpected-algorithm and queue tokens: HTTP 401 UNAUTHORIZED, handshake connect_error "UNAUTHORIZED"', async () => {
    const user = await signup(main);
    const concert = await createConcert(main);
    const queueToken = (await http(main, 'POST', '/queue/token', { token: user.token, body: { concertId: concert.id } })).body.token as string;
    for (const [label, token] of badUserTokens(user, queueToken)) {
      const res = await http(main, 'GET', '/wallets/me', { token });
      expect({ label, status: res.status, code: res.body?.error?.code }).toEqual({ label, status: 401, code: 'UNAUTHORIZED' });
      expectHttpError(res, 401, 'UNAUTHORIZED');
      expect({ label, handshake: await handshake(main, token) }).toEqual({ label, handshake: 'UNAUTHORIZED' });
    }
  });

  it('accepts a token minted with JWT_SECRET naming a live session of its user; the same session with another sub is refused', async () => {
    const user = await signup(main);
    const other = await signup(main);
    const sid = sessionOf(user.token);
    const token = jwt.sign({ sid }, JWT_SECRET, { algorithm: 'HS256', subject: String(user.id), expiresIn: 60 });
    expect((await http(main, 'GET', '/wallets/me', { token })).status).toBe(200);
    expect(await handshake(main, token)).toBe('CONNECTED');
    const stolen = jwt.sign({ sid }, JWT_SECRET, { algorithm: 'HS256', subject: String(other.id), expiresIn: 60 });
    expectHttpError(await http(main, 'GET', '/wallets/me', { token: stolen }), 401, 'UNAUTHORIZED');
  });
});

describe('an external identity provider and switches (JWT_PUBLIC_KEY, ALLOW_SIGNUP=false, ADMIN_TOKEN unset)', () => {
  let configSrv: TestServer;
  serverFor({ env: { ALLOW_SIGNUP: 'false', ADMIN_TOKEN: '', JWT_PUBLIC_KEY: rsaPublicPem, JWT_ISSUER: 'https://idp.test', JWT_AUDIENCE: 'tickets' } }, (s) => (configSrv = s));

  it('with JWT_PUBLIC_KEY, provider RS256 tokens for our issuer and audience are accepted and others refused; signup, login and refresh are 403; no ADMIN_TOKEN turns admin off', async () => {
    const claims = { iss: 'https://idp.test', aud: 'tickets' };
    const good = jwt.sign(claims, rsa.privateKey, { algorithm: 'RS256', subject: 'provider-user-1', expiresIn: 600 });
    const res = await http(configSrv, 'GET', '/wallets/me', { token: good });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ balance: 0, history: [] });
    expect(await handshake(configSrv, good)).toBe('CONNECTED');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const hs256 = jwt.sign({ ...claims, typ: 'user' }, JWT_SECRET, { algorithm: 'HS256', subject: 'provider-user-1', expiresIn: 600 });
    for (const bad of [
      hs256,
      jwt.sign(claims, other.privateKey, { algorithm: 'RS256', subject: 'provider-user-1', expiresIn: 600 }),
      jwt.sign({ ...claims, aud: 'another-service' }, rsa.privateKey, { algorithm: 'RS256', subject: 'provider-user-1', expiresIn: 600 }),
      jwt.sign({ ...claims, iss: 'https://other.idp' }, rsa.privateKey, { algorithm: 'RS256', subject: 'provider-user-1', expiresIn: 600 }),
      jwt.sign(claims, rsa.privateKey, { algorithm: 'RS256', subject: 'provider-user-1' }),
    ]) {
      expectHttpError(await http(configSrv, 'GET', '/wallets/me', { token: bad }), 401, 'UNAUTHORIZED');
      expect(await handshake(configSrv, bad)).toBe('UNAUTHORIZED');
    }
    // Documented choices: signup off → 403 FORBIDDEN; admin routes off → 404 NOT_FOUND.
    expectHttpError(await http(configSrv, 'POST', '/users', { body: { name: 'nobody', password: 'long enough' } }), 403, 'FORBIDDEN');
    expectHttpError(await http(configSrv, 'POST', '/sessions', { body: { name: 'nobody', password: 'long enough' } }), 403, 'FORBIDDEN');
    expectHttpError(await http(configSrv, 'POST', '/sessions/refresh', { body: { refreshToken: 'x.y' } }), 403, 'FORBIDDEN');
    const admin = await http(configSrv, 'POST', '/admin/concerts', {
      token: ADMIN_TOKEN,
      body: { title: 't', venue: 'v', dates: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: 1, price: 1 } }] },
    });
    expectHttpError(admin, 404, 'NOT_FOUND');
  });
});
