/**
 * A handshake racing a logout: a socket whose handshake was still under way
 * when its session was revoked must not end up connected with the revoked
 * session, whether the logout ran on its own instance or on another (Redis
 * pub/sub).
 *
 * The window is between the token check (the session read as live) and the
 * socket being connected, where the instance's revocation finds no socket of
 * the session to close. A handshake crosses it in well under a millisecond,
 * so the test widens it the way a slow database read would: a Socket.IO
 * middleware of its own, after the server's, holds the session's handshakes
 * once their token has been accepted. Of 300 handshakes, 100 are let through
 * before the logout (they connect, and the logout must close them) and 200
 * after the instance has processed the revocation (they must not stay).
 */
import { io as connect, type Socket } from 'socket.io-client';
import { http, signup, startServer, type TestServer } from '../support/server';
import { startInstance, stopCluster, type Instance } from '../support/cluster';
import { testRedisPrefix } from '../support/env';
import { sessionOf } from '../support/tokens';
import { sleep, waitFor } from '../support/wait';

const HANDSHAKES = 300;
const BEFORE_LOGOUT = 100;

/** Holds, after the server's own token check, every handshake that presents `token`. */
function holdHandshakes(server: TestServer, token: string) {
  const held: (() => void)[] = [];
  let holding = true;
  server.app.io.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown };
    if (holding && auth.token === token) held.push(() => next());
    else next();
  });
  return {
    held,
    release(count: number) {
      for (const next of held.splice(0, count)) next();
    },
    stop() {
      holding = false;
      this.release(held.length);
    },
  };
}

interface Outcome {
  socket: Socket;
  /** Settles at the first connect or connect_error. */
  settled: Promise<void>;
  connected: boolean;
}

function handshake(url: string, token: string): Outcome {
  const socket = connect(url, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
  const outcome: Outcome = { socket, connected: false, settled: Promise.resolve() };
  outcome.settled = new Promise<void>((resolve) => {
    socket.once('connect', () => {
      outcome.connected = true;
      resolve();
    });
    socket.once('connect_error', () => resolve());
  });
  return outcome;
}

/**
 * 300 handshakes of `token` on `server`, held after the token check; 100 let through, then
 * `logout()` and `revoked()` (the server has processed the revocation), then the other 200.
 * Resolves with the outcomes once all settled and the contract's second for a revocation passed.
 */
async function raceHandshakesAgainstLogout(server: TestServer, token: string, logout: () => Promise<void>, revoked: () => Promise<void>): Promise<Outcome[]> {
  const gate = holdHandshakes(server, token);
  const outcomes = Array.from({ length: HANDSHAKES }, () => handshake(server.url, token));
  try {
    await waitFor(() => gate.held.length === HANDSHAKES, 'every handshake to pass the token check', 30_000);
    gate.release(BEFORE_LOGOUT);
    await waitFor(() => outcomes.filter((o) => o.connected).length === BEFORE_LOGOUT, 'the first 100 sockets to connect', 20_000);
    await logout();
    await revoked();
    gate.release(HANDSHAKES);
    await Promise.all(outcomes.map((o) => o.settled));
    await sleep(1000);
    return outcomes;
  } finally {
    gate.stop();
  }
}

const closeAll = (outcomes: Outcome[]) => outcomes.forEach((o) => o.socket.close());

describe('handshakes racing a logout on the same instance', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.close());

  it(`of ${HANDSHAKES} handshakes of a session logged out while they run, none stays connected`, async () => {
    const user = await signup(server);
    const outcomes = await raceHandshakesAgainstLogout(
      server,
      user.token,
      async () => expect((await http(server, 'POST', '/sessions/logout', { token: user.token })).status).toBe(200),
      // The logout answers after this instance has dropped the session.
      () => Promise.resolve(),
    );
    try {
      expect(outcomes.filter((o) => o.connected).length).toBeGreaterThanOrEqual(BEFORE_LOGOUT);
      expect(outcomes.filter((o) => o.socket.connected).length).toBe(0);
      const left = (await server.app.io.local.fetchSockets()).filter((s) => s.data.sessionId === sessionOf(user.token));
      expect(left).toHaveLength(0);
    } finally {
      closeAll(outcomes);
    }
  });
});

describe('handshakes on one instance racing a logout on another', () => {
  let other: Instance | undefined;
  let server: TestServer;
  beforeAll(async () => {
    const prefix = testRedisPrefix(`race${Date.now().toString(36)}`);
    other = await startInstance('logout', prefix, {});
    server = await startServer({ redis: true, env: { REDIS_PREFIX: prefix } });
  }, 90_000);
  afterAll(async () => {
    await server?.close();
    await stopCluster(other ? [other] : []);
  });

  it(`of ${HANDSHAKES} handshakes of a session logged out on the other instance while they run, none stays connected`, async () => {
    const logoutAt = other!;
    const user = await signup(logoutAt);
    const outcomes = await raceHandshakesAgainstLogout(
      server,
      user.token,
      async () => expect((await http(logoutAt, 'POST', '/sessions/logout', { token: user.token })).status).toBe(200),
      // The handshakes cached the session as live here: a 401 means the revocation arrived.
      () => waitFor(async () => (await http(server, 'GET', '/wallets/me', { token: user.token })).status === 401, 'the revocation to reach this instance', 5000).then(() => undefined),
    );
    try {
      expect(outcomes.filter((o) => o.connected).length).toBeGreaterThanOrEqual(BEFORE_LOGOUT);
      expect(outcomes.filter((o) => o.socket.connected).length).toBe(0);
      const left = (await server.app.io.local.fetchSockets()).filter((s) => s.data.sessionId === sessionOf(user.token));
      expect(left).toHaveLength(0);
    } finally {
      closeAll(outcomes);
    }
  });
});
