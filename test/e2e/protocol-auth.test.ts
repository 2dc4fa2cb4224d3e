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
import { badUserTokens, rsa, rsaPublicPem } from '../support/tokens';

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

  it('signing up answers 201 {user: {id, name}, token}; the token is an HS256 JWT whose sub is the user id and works on both transports', async () => {
    const res = await http(main, 'POST', '/users', { body: { name: 'Alice' } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ user: { id: anId(), name: 'Alice' }, token: expect.any(String) });
    const decoded = jwt.decode(res.body.token, { complete: true });
    expect(decoded?.header.alg).toBe('HS256');
    expect(String((decoded?.payload as jwt.JwtPayload).sub)).toBe(String(res.body.user.id));
    expect((await http(main, 'GET', '/wallets/me', { token: res.body.token })).status).toBe(200);
    expect(await handshake(main, res.body.token)).toBe('CONNECTED');
  });

  it('a sign-up with a bad body is refused with 400 VALIDATION_FAILED whose details list the failing paths', async () => {
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

describe('an external identity provider and switches (JWT_PUBLIC_KEY, ALLOW_SIGNUP=false, ADMIN_TOKEN unset)', () => {
  let configSrv: TestServer;
  serverFor({ env: { ALLOW_SIGNUP: 'false', ADMIN_TOKEN: '', JWT_PUBLIC_KEY: rsaPublicPem } }, (s) => (configSrv = s));

  it('with JWT_PUBLIC_KEY, provider RS256 tokens are accepted and HS256 or other keys refused; ALLOW_SIGNUP=false and no ADMIN_TOKEN turn their routes off', async () => {
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
});
