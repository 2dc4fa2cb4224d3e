/**
 * Accounts and sessions through a real server: signup, login, refresh
 * (rotation and reuse detection), logout (tokens, refresh tokens and sockets
 * of the session die, on every instance), auth:refresh on sockets.
 *
 * The first server runs the default scrypt parameters (SCRYPT_COST and
 * SCRYPT_BLOCK_SIZE unset); the others use test/support's cheap ones.
 */
import jwt from 'jsonwebtoken';
import { QueryTypes } from 'sequelize';
import { JWT_SECRET, connectClient, http, login, serverFor, signup, startServer, type TestServer } from '../support/server';
import { ask, client, closeClients, roundTrip } from '../support/clients';
import { startCluster, stopCluster, type Instance } from '../support/cluster';
import { sessionRow } from '../support/db';
import { anId, expectAckError, expectAckOk, expectHttpError } from '../support/shapes';
import { sessionNoInstanceOpened, sessionOf, sessionsNoInstanceOpened } from '../support/tokens';
import { testDatabaseUrl } from '../support/env';
import { waitFor } from '../support/wait';

afterEach(closeClients);

const disconnected = (socket: { connected: boolean; once(e: 'disconnect', f: () => void): unknown }) =>
  new Promise<void>((resolve) => (socket.connected ? socket.once('disconnect', () => resolve()) : resolve()));

describe('accounts with the default password hash', () => {
  let server: TestServer;
  serverFor({ env: { SCRYPT_COST: '', SCRYPT_BLOCK_SIZE: '' } }, (s) => (server = s));

  it('signs up, then logs in under the name in another letter case: a new session, the same user; the password is stored only as a salted scrypt hash', async () => {
    const user = await signup(server, `Grace-${Date.now()}`, 'a password of some length');
    const again = await http(server, 'POST', '/sessions', { body: { name: user.name.toUpperCase(), password: 'a password of some length' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ user: { id: user.id, name: user.name }, token: expect.any(String), refreshToken: expect.any(String) });
    expect(sessionOf(again.body.token)).not.toBe(sessionOf(user.token));
    expect((await http(server, 'GET', '/wallets/me', { token: again.body.token })).status).toBe(200);
    const [row] = await server.db.sequelize.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', { bind: [user.id], type: QueryTypes.SELECT });
    expect(row?.password_hash).toMatch(/^scrypt\$16384\$11\$[\w-]{22}\$[\w-]{43}$/);
    expect(row?.password_hash).not.toContain('a password of some length');
  });

  it('refuses a taken name in any letter case with 409 NAME_TAKEN, and creates nothing', async () => {
    const user = await signup(server, `Linus-${Date.now()}`);
    for (const name of [user.name, user.name.toLowerCase(), ` ${user.name.toUpperCase()} `]) {
      expectHttpError(await http(server, 'POST', '/users', { body: { name, password: 'another password' } }), 409, 'NAME_TAKEN');
    }
    const [count] = await server.db.sequelize.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE lower(name) = lower($1)', { bind: [user.name], type: QueryTypes.SELECT });
    expect(count?.n).toBe(1);
  });

  it('answers a wrong password and an unknown name with the same 401 body', async () => {
    const user = await signup(server);
    const wrongPassword = await http(server, 'POST', '/sessions', { body: { name: user.name, password: 'not the password' } });
    const unknownName = await http(server, 'POST', '/sessions', { body: { name: `${user.name}-nobody`, password: 'not the password' } });
    expectHttpError(wrongPassword, 401, 'UNAUTHORIZED');
    expect({ status: unknownName.status, body: unknownName.body }).toEqual({ status: wrongPassword.status, body: wrongPassword.body });
  });

  it('refuses a passwordless signup unless ALLOW_PASSWORDLESS_SIGNUP', async () => {
    const res = await http(server, 'POST', '/users', { body: { name: `nopass-${Date.now()}` } });
    expectHttpError(res, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(res.body.error.details)).toContain('/password');
  });
});

describe('sessions: refresh, reuse, logout, sockets', () => {
  let server: TestServer;
  serverFor({}, (s) => (server = s));

  it('refresh rotates: a new pair, both access tokens work, the spent refresh token is kept as spent', async () => {
    const user = await signup(server);
    const res = await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: user.refreshToken } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ token: expect.any(String), refreshToken: expect.any(String) });
    expect(res.body.refreshToken).not.toBe(user.refreshToken);
    expect(sessionOf(res.body.token)).toBe(sessionOf(user.token));
    for (const token of [user.token, res.body.token]) expect((await http(server, 'GET', '/wallets/me', { token })).status).toBe(200);
    expect(await sessionRow(server.db, sessionOf(user.token))).toEqual({ userId: user.id, revoked: false, spent: 1 });
  });

  it('a spent refresh token presented again revokes the whole session: 401, and its refresh and access tokens and sockets stop working', async () => {
    const user = await signup(server);
    const socket = await client(server, user.token);
    const gone = disconnected(socket);
    const rotated = (await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: user.refreshToken } })).body;
    expectHttpError(await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'UNAUTHORIZED');
    await gone;
    expectHttpError(await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: rotated.refreshToken } }), 401, 'UNAUTHORIZED');
    for (const token of [user.token, rotated.token]) expectHttpError(await http(server, 'GET', '/wallets/me', { token }), 401, 'UNAUTHORIZED');
    await expect(connectClient(server, rotated.token)).rejects.toThrow('UNAUTHORIZED');
    expect(await sessionRow(server.db, sessionOf(user.token))).toMatchObject({ revoked: true });
  });

  it('when 20 refreshes race with one refresh token, exactly one gets a new pair and the session ends revoked', async () => {
    const user = await signup(server);
    const replies = await Promise.all(Array.from({ length: 20 }, () => http(server, 'POST', '/sessions/refresh', { body: { refreshToken: user.refreshToken } })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, ...Array<number>(19).fill(401)]);
    expect(await sessionRow(server.db, sessionOf(user.token))).toEqual({ userId: user.id, revoked: true, spent: 1 });
  });

  it('the instance that opened a session trusts it from memory: its first socket does not read the row back', async () => {
    const user = await signup(server);
    // Behind the server's back, so no revocation message clears its memory: only a read would see this.
    await server.db.sequelize.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', { bind: [sessionOf(user.token)] });
    expect((await client(server, user.token)).connected).toBe(true);
    // A logout still ends it at once, memory included.
    const other = await signup(server);
    expect((await http(server, 'POST', '/sessions/logout', { token: other.token })).status).toBe(200);
    await expect(connectClient(server, other.token)).rejects.toThrow('UNAUTHORIZED');
  });

  it('a made-up refresh token naming a live session is refused and leaves the session alone', async () => {
    const user = await signup(server);
    const madeUp = `${sessionOf(user.token)}.${'A'.repeat(43)}`;
    expectHttpError(await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: madeUp } }), 401, 'UNAUTHORIZED');
    expect((await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: user.refreshToken } })).status).toBe(200);
  });

  it('logout revokes the session: its access and refresh tokens answer 401 and its sockets are disconnected; another session of the user lives on', async () => {
    const user = await signup(server);
    const other = await login(server, user);
    const mine = await client(server, user.token);
    const theirs = await client(server, other.token);
    const gone = disconnected(mine);
    const res = await http(server, 'POST', '/sessions/logout', { token: user.token });
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: {} });
    await gone;
    expectHttpError(await http(server, 'GET', '/wallets/me', { token: user.token }), 401, 'UNAUTHORIZED');
    expectHttpError(await http(server, 'POST', '/sessions/refresh', { body: { refreshToken: user.refreshToken } }), 401, 'UNAUTHORIZED');
    expectHttpError(await http(server, 'POST', '/sessions/logout', { token: user.token }), 401, 'UNAUTHORIZED');
    await roundTrip(theirs);
    expect(theirs.connected).toBe(true);
    expect((await http(server, 'GET', '/wallets/me', { token: other.token })).status).toBe(200);
  });

  it('auth:refresh replaces the socket’s token with another of the same user; the socket then follows the new session', async () => {
    const user = await signup(server);
    const socket = await client(server, user.token);
    const stranger = await signup(server);
    expectAckError(await ask(socket, 'auth:refresh', { token: stranger.token }), 'UNAUTHORIZED');
    expectAckError(await ask(socket, 'auth:refresh', { token: 'not-a-jwt' }), 'UNAUTHORIZED');
    expectAckError(await ask(socket, 'auth:refresh', {}), 'VALIDATION_FAILED');
    const second = await login(server, user);
    expect(expectAckOk(await ask(socket, 'auth:refresh', { token: second.token }))).toEqual({});
    // The old session's logout no longer concerns this socket; the new one's does.
    await http(server, 'POST', '/sessions/logout', { token: user.token });
    await roundTrip(socket);
    expect(socket.connected).toBe(true);
    const gone = disconnected(socket);
    await http(server, 'POST', '/sessions/logout', { token: second.token });
    await gone;
  });

  it('a connected socket stays authenticated after its access token expires', async () => {
    const user = await signup(server);
    const token = jwt.sign({ typ: 'user', sid: sessionOf(user.token) }, JWT_SECRET, { algorithm: 'HS256', subject: String(user.id), expiresIn: 1 });
    const socket = await client(server, token);
    await waitFor(async () => (await http(server, 'GET', '/wallets/me', { token })).status === 401, 'the token to expire');
    expect(expectAckOk(await ask(socket, 'wallet:get', {}))).toEqual({ balance: 0, history: [] });
  });
});

describe('handshakes that must read their sessions, all at once', () => {
  let server: TestServer;
  serverFor({}, (s) => (server = s));

  it('300 sockets of sessions no instance opened connect together; the revoked, expired and foreign ones among them are refused', async () => {
    const users = await Promise.all(Array.from({ length: 300 }, () => signup(server)));
    const tokens = await sessionsNoInstanceOpened(testDatabaseUrl(), users.map((u) => u.id));
    const revoked = await sessionNoInstanceOpened(testDatabaseUrl(), users[0]!.id);
    const expired = await sessionNoInstanceOpened(testDatabaseUrl(), users[1]!.id, '-1 second');
    // A live session of one user, in a token that names another.
    const foreign = jwt.sign({ typ: 'user', sid: sessionOf(await sessionNoInstanceOpened(testDatabaseUrl(), users[2]!.id)) }, JWT_SECRET, {
      subject: String(users[3]!.id),
      algorithm: 'HS256',
      expiresIn: 900,
    });
    await server.db.sequelize.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', { bind: [sessionOf(revoked)] });
    const outcomes = await Promise.allSettled([...tokens, revoked, expired, foreign].map((token) => client(server, token)));
    expect(outcomes.slice(0, 300).every((o) => o.status === 'fulfilled' && o.value.connected)).toBe(true);
    expect(outcomes.slice(300)).toEqual([1, 2, 3].map(() => ({ status: 'rejected', reason: expect.objectContaining({ message: 'UNAUTHORIZED' }) })));
  });
});

describe('switches', () => {
  let server: TestServer;
  serverFor({ env: { ALLOW_PASSWORDLESS_SIGNUP: 'true' } }, (s) => (server = s));

  it('with ALLOW_PASSWORDLESS_SIGNUP, {name} alone signs up, and such an account can never log in', async () => {
    const name = `demo-${Date.now()}`;
    const res = await http(server, 'POST', '/users', { body: { name } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ user: { id: anId(), name }, token: expect.any(String), refreshToken: expect.any(String) });
    const wrong = await http(server, 'POST', '/sessions', { body: { name: `${name}-unknown`, password: 'anything at all' } });
    for (const password of ['anything at all', '']) {
      const attempt = await http(server, 'POST', '/sessions', { body: { name, password } });
      expect(attempt.status).toBe(password ? 401 : 400);
      if (password) expect(attempt.body).toEqual(wrong.body);
    }
  });

  it('ALLOW_SIGNUP=false answers signup with 403 FORBIDDEN', async () => {
    const off = await startServer({ env: { ALLOW_SIGNUP: 'false' } });
    try {
      expectHttpError(await http(off, 'POST', '/users', { body: { name: 'nobody', password: 'long enough' } }), 403, 'FORBIDDEN');
    } finally {
      await off.close();
    }
  });
});

describe('logout across instances sharing Redis', () => {
  let cluster: Instance[] = [];
  beforeAll(async () => {
    cluster = await startCluster(2);
  }, 90_000);
  afterAll(() => stopCluster(cluster));

  it('logging out on one instance disconnects the session’s socket on the other and its token stops working there', async () => {
    const [a, b] = cluster as [Instance, Instance];
    const user = await signup(a);
    // Cached as live on b first: the revocation must clear b's cache, not only the database.
    expect((await http(b, 'GET', '/wallets/me', { token: user.token })).status).toBe(200);
    const socket = await client(b, user.token);
    const gone = disconnected(socket);
    expect((await http(a, 'POST', '/sessions/logout', { token: user.token })).status).toBe(200);
    await gone;
    expectHttpError(await http(b, 'GET', '/wallets/me', { token: user.token }), 401, 'UNAUTHORIZED');
  });
});
