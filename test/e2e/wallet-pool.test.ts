import type { Socket } from 'socket.io-client';
import { connectClient, serverFor, signup, type TestServer } from '../support/server';

/** test/support/server.ts opens the main pool with 10 connections. */
const MAIN_POOL = 10;
let server: TestServer;
serverFor({}, (s) => (server = s));

/**
 * A sale's commands fill the main pool in bursts; a charge writes on the commits pool, so it does
 * not queue behind them (BENCHMARKS.md, cut 4). A keyed charge still purges old keys on the main pool.
 */
describe('wallet:charge while the main pool is taken', () => {
  let socket: Socket;
  const taken: unknown[] = [];

  afterEach(() => {
    for (const c of taken.splice(0)) server.db.sequelize.connectionManager.releaseConnection(c as never);
    socket?.disconnect();
  });

  it('charges without waiting for a main-pool connection', async () => {
    const user = await signup(server);
    socket = await connectClient(server, user.token);
    for (let i = 0; i < MAIN_POOL; i++) taken.push(await server.db.sequelize.connectionManager.getConnection({ type: 'write' }));

    // The pool is really full: a main-pool query waits (it runs once the connections come back).
    const waiting = server.db.sequelize.query('SELECT 1');
    const first = await Promise.race([waiting.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
    expect(first).toBe('waiting');

    const started = Date.now();
    const plain = await socket.timeout(5000).emitWithAck('wallet:charge', { amount: 100 });

    expect(plain).toEqual({ ok: true, data: { balance: 100 } });
    // The main pool's acquire timeout is 30 s: a charge that needed it would not answer in time.
    expect(Date.now() - started).toBeLessThan(5000);
    for (const c of taken.splice(0)) server.db.sequelize.connectionManager.releaseConnection(c as never);
    await waiting;
  });
});
