/**
 * An external identity provider (JWT_JWKS_URL): a JWKS served from a local
 * HTTP server on a free port, whose keys the test rotates. Tokens must carry
 * our issuer and audience and an exp; (iss, sub) becomes a local user on
 * first sight; signup, login, refresh and logout are off.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { QueryTypes } from 'sequelize';
import { ConfigError, loadConfig } from '../../src/config';
import { JWT_SECRET, connectClient, http, serverFor, type TestServer } from '../support/server';
import { ask, client, closeClients } from '../support/clients';
import { expectAckOk, expectHttpError } from '../support/shapes';
import { eventually } from '../support/wait';

afterEach(closeClients);

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'tickets-api';

interface ProviderKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function newKey(kid: string, alg: 'RS256' | 'ES256'): ProviderKey {
  const pair = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg, ...pair };
}

/** A JWKS endpoint whose key set the test changes; counts the fetches. */
const provider = { keys: [] as ProviderKey[], fetches: 0 };
let jwksServer: Server;
let jwksUrl = '';

beforeAll(async () => {
  provider.keys = [newKey('rsa-1', 'RS256'), newKey('ec-1', 'ES256')];
  jwksServer = createServer((_req, res) => {
    provider.fetches++;
    const keys = provider.keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

function tokenFrom(key: ProviderKey, sub: string, claims: Record<string, unknown> = { iss: ISSUER, aud: AUDIENCE }, expiresIn: number | null = 600): string {
  return jwt.sign(claims, key.privateKey, { algorithm: key.alg, keyid: key.kid, subject: sub, ...(expiresIn === null ? {} : { expiresIn }) });
}

describe('JWT_JWKS_URL', () => {
  let server: TestServer;
  // The JWKS URL is known only once its server listens: the env is read when serverFor's beforeAll runs.
  const env: Record<string, string> = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
  beforeAll(() => {
    env['JWT_JWKS_URL'] = jwksUrl;
  });
  serverFor({ env }, (s) => (server = s));

  const usersOf = (sub: string) =>
    server.db.sequelize.query<{ id: number; balance: number }>('SELECT id, balance FROM users WHERE external_issuer = $1 AND external_subject = $2', {
      bind: [ISSUER, sub],
      type: QueryTypes.SELECT,
    });

  it('accepts RS256 and ES256 tokens of our issuer and audience; the first token of an (iss, sub) creates its user with wallet 0, later ones find it', async () => {
    const sub = `alice-${Date.now()}`;
    const [rsa, ec] = provider.keys as [ProviderKey, ProviderKey];
    const res = await http(server, 'GET', '/wallets/me', { token: tokenFrom(rsa, sub) });
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { balance: 0, history: [] } });
    await Promise.all([1, 2, 3].map(() => http(server, 'GET', '/wallets/me', { token: tokenFrom(ec, sub) })));
    const socket = await client(server, tokenFrom(ec, sub));
    expect(expectAckOk(await ask(socket, 'wallet:get', {}))).toEqual({ balance: 0, history: [] });
    expect(await usersOf(sub)).toEqual([{ id: expect.any(Number), balance: 0 }]);
  });

  it('refuses another issuer, another audience, no exp, an expired token, HS256, and a key not in the JWKS', async () => {
    const [rsa] = provider.keys as [ProviderKey];
    const sub = `mallory-${Date.now()}`;
    const stranger = newKey('rsa-1', 'RS256');
    const bad: [string, string][] = [
      ['another issuer', tokenFrom(rsa, sub, { iss: 'https://other.example.test', aud: AUDIENCE })],
      ['another audience', tokenFrom(rsa, sub, { iss: ISSUER, aud: 'another-api' })],
      ['no exp', tokenFrom(rsa, sub, { iss: ISSUER, aud: AUDIENCE }, null)],
      ['expired', tokenFrom(rsa, sub, { iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) - 60 }, null)],
      ['HS256 with the server secret', jwt.sign({ iss: ISSUER, aud: AUDIENCE }, JWT_SECRET, { algorithm: 'HS256', subject: sub, expiresIn: 600 })],
      ['signed by a key the provider does not publish', tokenFrom(stranger, sub)],
    ];
    for (const [label, token] of bad) {
      const res = await http(server, 'GET', '/wallets/me', { token });
      expect({ label, status: res.status, code: res.body?.error?.code }).toEqual({ label, status: 401, code: 'UNAUTHORIZED' });
      await expect(connectClient(server, token)).rejects.toThrow('UNAUTHORIZED');
    }
    expect(await usersOf(sub)).toEqual([]);
  });

  it('caches the keys, and follows a rotation: a token naming a new kid makes it fetch again, and the retired key stops working', async () => {
    const [rsa] = provider.keys as [ProviderKey];
    const sub = `rotating-${Date.now()}`;
    expect((await http(server, 'GET', '/wallets/me', { token: tokenFrom(rsa, sub) })).status).toBe(200);
    const fetched = provider.fetches;
    for (let i = 0; i < 5; i++) expect((await http(server, 'GET', '/wallets/me', { token: tokenFrom(rsa, sub) })).status).toBe(200);
    expect(provider.fetches).toBe(fetched);

    const next = newKey('rsa-2', 'RS256');
    provider.keys = [next, ...provider.keys.filter((k) => k.kid !== 'rsa-1')];
    // At most one refetch per second: a token seen within that second of the last fetch may be refused once.
    await eventually(async () => expect((await http(server, 'GET', '/wallets/me', { token: tokenFrom(next, sub) })).status).toBe(200));
    expect(provider.fetches).toBeGreaterThan(fetched);
    expectHttpError(await http(server, 'GET', '/wallets/me', { token: tokenFrom(rsa, sub) }), 401, 'UNAUTHORIZED');
    expect(await usersOf(sub)).toHaveLength(1);
  });

  it('answers signup, login, refresh and logout with 403 FORBIDDEN', async () => {
    const [rsa] = provider.keys as [ProviderKey];
    const token = tokenFrom(rsa, `someone-${Date.now()}`);
    expectHttpError(await http(server, 'POST', '/users', { body: { name: 'local', password: 'long enough' } }), 403, 'FORBIDDEN');
    expectHttpError(await http(server, 'POST', '/sessions', { body: { name: 'local', password: 'long enough' } }), 403, 'FORBIDDEN');
    expectHttpError(await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: 'a.b' } }), 403, 'FORBIDDEN');
    expectHttpError(await http(server, 'POST', '/sessions/logout', { token }), 403, 'FORBIDDEN');
  });
});

describe('identity provider settings', () => {
  it.each([
    ['JWT_JWKS_URL without JWT_ISSUER and JWT_AUDIENCE', { JWT_JWKS_URL: 'https://idp.example.test/jwks' }],
    ['JWT_JWKS_URL without JWT_AUDIENCE', { JWT_JWKS_URL: 'https://idp.example.test/jwks', JWT_ISSUER: ISSUER }],
    ['JWT_PUBLIC_KEY without JWT_ISSUER', { JWT_PUBLIC_KEY: 'pem', JWT_AUDIENCE: AUDIENCE }],
    ['both JWT_JWKS_URL and JWT_PUBLIC_KEY', { JWT_JWKS_URL: 'https://idp.example.test/jwks', JWT_PUBLIC_KEY: 'pem', JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }],
    ['a JWKS URL that is not http(s)', { JWT_JWKS_URL: 'file:///etc/jwks.json', JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }],
  ])('refuses to start with %s', (_label, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
  });
});
