/**
 * Graceful drain (PROTOCOL.md "Durability and shutdown"): on SIGTERM an
 * instance answers every command it has received with its real outcome,
 * refuses later ones with UNAVAILABLE, tells its sockets, and closes.
 */
import type { Socket } from 'socket.io-client';
import { buyer, hold, type Buyer } from '../support/buyers';
import { ask, closeClients, record } from '../support/clients';
import { startInstance, stopCluster, type Instance } from '../support/cluster';
import { reservationStatus } from '../support/db';
import { testDatabaseUrl, testRedisPrefix } from '../support/env';
import { checkInvariants } from '../support/invariants';
import { FAST_QUEUE } from '../support/queue';
import { connectClient, createConcert, http, madeByThisFile, startServer, type TestServer } from '../support/server';
import { openDatabase, type Database } from '../../src/models/database';

let db: Database;
beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 4);
});
afterEach(closeClients);
afterAll(async () => {
  await db.close();
});

type Outcome = { kind: 'ok' } | { kind: 'unavailable' } | { kind: 'unanswered' } | { kind: 'other'; detail: string };

/** payment:pay over the socket; `unanswered` if the socket closes first (the command may never have arrived). */
function paySocket(b: Buyer, reservationId: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket: Socket = b.socket;
    const onClose = () => resolve({ kind: 'unanswered' });
    socket.once('disconnect', onClose);
    socket.emit('payment:pay', { reservationId, queueToken: b.queueToken }, (reply: { ok: boolean; error?: { code: string; details?: { retryAfterMs?: number } } }) => {
      socket.off('disconnect', onClose);
      if (reply.ok) resolve({ kind: 'ok' });
      else if (reply.error?.code === 'UNAVAILABLE' && (reply.error.details?.retryAfterMs ?? 0) > 0) resolve({ kind: 'unavailable' });
      else resolve({ kind: 'other', detail: JSON.stringify(reply) });
    });
  });
}

async function payHttp(b: Buyer, reservationId: number): Promise<Outcome> {
  try {
    const res = await http(b.server, 'POST', '/payments', { token: b.token, body: { reservationId }, headers: { 'queue-token': b.queueToken } });
    if (res.status === 201) return { kind: 'ok' };
    if (res.status === 503 && res.body['error']?.code === 'UNAVAILABLE' && Number(res.headers.get('retry-after')) > 0) return { kind: 'unavailable' };
    return { kind: 'other', detail: `${res.status} ${JSON.stringify(res.body)}` };
  } catch {
    return { kind: 'unanswered' };
  }
}

describe('SIGTERM on a server process', () => {
  let instance: Instance;
  beforeAll(async () => {
    instance = await startInstance('drain', testRedisPrefix('drain'), { REDIS_URL: '', ...FAST_QUEUE });
  }, 60_000);
  afterAll(async () => {
    await stopCluster([instance]);
  });

  it('during a burst of 50 payments over sockets and HTTP: every payment received is answered with its real outcome, none 500, and the invariants hold', async () => {
    const concert = await createConcert(instance, { seats: 50, price: 1000 });
    const dateId = concert.dates[0]!.id;
    const buyers = await Promise.all(Array.from({ length: 50 }, () => buyer(instance, concert.id, { balance: 5000 })));
    const reservations = await Promise.all(
      buyers.map(async (b, i) => {
        const reply = await hold(b, dateId, [i + 1]);
        expect(reply).toMatchObject({ ok: true });
        return reply.data.id as number;
      }),
    );
    const drainings = buyers.map((b) => record<{ reconnectInMs: number }>(b.socket, 'server:draining'));
    const exited = new Promise<number | null>((resolve) => instance.child.once('exit', (code) => resolve(code)));

    const payOne = (i: number) => (i % 2 === 0 ? paySocket(buyers[i]!, reservations[i]!) : payHttp(buyers[i]!, reservations[i]!));
    // 30 payments in flight; the signal lands with the first answer, and the last 20 follow it.
    let late: Promise<Outcome[]> | undefined;
    const early = Array.from({ length: 30 }, (_, i) =>
      payOne(i).then((o) => {
        if (!late) {
          instance.child.kill('SIGTERM');
          late = Promise.all(Array.from({ length: 20 }, (_, j) => payOne(30 + j)));
        }
        return o;
      }),
    );
    const outcomes = [...(await Promise.all(early)), ...(await late!)];
    expect(await exited).toBe(0);

    expect(outcomes.filter((o) => o.kind === 'other')).toEqual([]);
    expect(outcomes.filter((o) => o.kind === 'ok').length).toBeGreaterThan(0);
    const statuses = await Promise.all(reservations.map((id) => reservationStatus(db, id)));
    outcomes.forEach((o, i) => {
      // A payment that took effect was answered; one refused or never received changed nothing.
      expect({ i, outcome: o.kind, status: statuses[i] }).toEqual({ i, outcome: o.kind, status: o.kind === 'ok' ? 'CONFIRMED' : 'HELD' });
    });
    const told = drainings.filter((d) => d.length > 0);
    for (const d of told) expect(d[0]!.reconnectInMs).toBeGreaterThan(0);
    expect(await checkInvariants(db, madeByThisFile())).toEqual([]);
    process.stdout.write(`drain: ${outcomes.filter((o) => o.kind === 'ok').length} paid, ${outcomes.filter((o) => o.kind === 'unavailable').length} UNAVAILABLE, ${outcomes.filter((o) => o.kind === 'unanswered').length} not received; ${told.length}/50 sockets told server:draining\n`);
  }, 120_000);
});

describe('a draining server', () => {
  let server: TestServer;
  afterEach(async () => {
    await server?.close();
  });

  it('/health is liveness and /ready readiness: ready while serving, draining from the moment it drains', async () => {
    server = await startServer({ env: { SHUTDOWN_GRACE_MS: '60000' } });
    expect(await http(server, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await http(server, 'GET', '/ready')).toMatchObject({ status: 200, body: { status: 'ready' } });
    const concert = await createConcert(server);
    const b = await buyer(server, concert.id);
    const told = record<{ reconnectInMs: number }>(b.socket, 'server:draining');

    // A command received and not yet answered keeps the instance draining.
    expect(server.app.gate.enter()).toBe(true);
    const closed = server.app.close();
    expect(await http(server, 'GET', '/ready')).toMatchObject({ status: 503, body: { status: 'draining' } });
    expect(await http(server, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(told).toEqual([{ reconnectInMs: expect.any(Number) }]);

    const refused = await http(server, 'GET', '/wallets/me', { token: b.token });
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await ask(b.socket, 'wallet:get', {})).toEqual({
      ok: false,
      error: { code: 'UNAVAILABLE', message: expect.any(String), details: { retryAfterMs: expect.any(Number) } },
    });
    await expect(connectClient(server, b.token)).rejects.toThrow('UNAVAILABLE');

    server.app.gate.leave();
    await closed;
  });

  it('closes after SHUTDOWN_GRACE_MS even if a command never finishes', async () => {
    server = await startServer({ env: { SHUTDOWN_GRACE_MS: '200' } });
    expect(server.app.gate.enter()).toBe(true);
    await server.app.close();
    expect(server.app.gate.pending).toBe(1);
  });
});
