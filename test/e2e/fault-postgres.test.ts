/**
 * PostgreSQL stops answering (PROTOCOL.md "Durability and shutdown"): the
 * process keeps running, commands answer 503 UNAVAILABLE with Retry-After
 * within a second (never 500), and everything resumes by itself. The server
 * gets a database of its own, so that cutting it off (its backends terminated,
 * new connections refused) touches nothing else; the shared PostgreSQL runs on.
 */
import { Client } from 'pg';
import { buyer, hold, pay } from '../support/buyers';
import { ask, closeClients } from '../support/clients';
import { startInstance, stopCluster, type Instance } from '../support/cluster';
import { PG_ADMIN_URL, testRedisPrefix } from '../support/env';
import { FAST_QUEUE } from '../support/queue';
import { connectClient, createConcert, http, signup } from '../support/server';
import { sessionNoInstanceOpened } from '../support/tokens';
import { waitFor } from '../support/wait';

afterEach(closeClients);

const name = `tix_fault_pg_${Date.now()}_${process.pid}`;
let admin: Client;

async function cutOff(allow: boolean): Promise<void> {
  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${allow}`);
  if (!allow) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
}

beforeAll(async () => {
  admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
});

describe('a server process whose PostgreSQL stops answering', () => {
  let instance: Instance;
  let databaseUrl: string;
  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    instance = await startInstance('pg-fault', testRedisPrefix('pgf'), { REDIS_URL: '', DATABASE_URL: databaseUrl, ...FAST_QUEUE });
  }, 60_000);
  afterAll(async () => {
    if (process.env['FAULT_DEBUG']) process.stdout.write(instance.output().slice(-4000));
    await stopCluster([instance]);
    await cutOff(true);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  });

  it('answers 503 UNAVAILABLE within a second while it is down, never 500, and resumes by itself when it returns', async () => {
    const concert = await createConcert(instance, { seats: 20 });
    const dateId = concert.dates[0]!.id;
    const b = await buyer(instance, concert.id, { balance: 10_000 });
    const first = await hold(b, dateId, [1]);
    expect(first).toMatchObject({ ok: true });
    // A session no instance opened (so none trusts it from memory): its first request must read it.
    const newcomer = { token: await sessionNoInstanceOpened(databaseUrl, (await signup(instance)).id) };
    const joiner = await signup(instance);
    // Its session checked once while PostgreSQL answers (as b's was), so the join itself meets the outage.
    expect(await http(instance, 'GET', '/wallets/me', { token: joiner.token })).toMatchObject({ status: 200 });

    await cutOff(false);
    // First after the cut: a join reaches the store and is answered only once its row is in
    // PostgreSQL (the waiting room survives restarts), so its write meets the outage: 503.
    const joinStarted = Date.now();
    expect(await http(instance, 'POST', '/queue/token', { token: joiner.token, body: { concertId: concert.id } })).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    const joinMs = Date.now() - joinStarted;
    const unavailable = { ok: false, error: { code: 'UNAVAILABLE', message: expect.any(String), details: { retryAfterMs: 1000 } } };
    const timings: number[] = [];
    for (const run of [() => hold(b, dateId, [2]), () => pay(b, first.data.id), () => ask(b.socket, 'wallet:get', {}), () => hold(b, dateId, [3])]) {
      const started = Date.now();
      expect(await run()).toEqual(unavailable);
      timings.push(Date.now() - started);
    }
    const started = Date.now();
    const viaHttp = await http(instance, 'GET', '/wallets/me', { token: b.token });
    timings.push(Date.now() - started);
    expect(viaHttp).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    expect(viaHttp.headers.get('retry-after')).toBe('1');
    // A session that must be read to authenticate is an outage too, not INTERNAL nor UNAUTHORIZED.
    const firstRequest = await http(instance, 'POST', '/queue/token', { token: newcomer.token, body: { concertId: concert.id } });
    expect(firstRequest).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    await expect(connectClient(instance, newcomer.token)).rejects.toThrow('UNAVAILABLE');
    for (const ms of [joinMs, ...timings]) expect(ms).toBeLessThan(1000);
    expect(await http(instance, 'GET', '/ready')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    expect(await http(instance, 'GET', '/health')).toMatchObject({ status: 200 });

    await cutOff(true);
    const back = Date.now();
    await waitFor(async () => (await ask(b.socket, 'wallet:get', {})).ok === true, 'a command served after PostgreSQL returned', 20_000);
    const servedMs = Date.now() - back;
    // What was refused during the outage changed nothing: the same hold and payment go through now.
    expect(await hold(b, dateId, [2])).toMatchObject({ ok: true });
    expect(await pay(b, first.data.id)).toMatchObject({ ok: true, data: { reservation: { status: 'CONFIRMED' } } });
    // The refused join kept its place: joining again finds that entry (200, not a new one).
    const joined = await http(instance, 'POST', '/queue/token', { token: joiner.token, body: { concertId: concert.id } });
    expect(joined).toMatchObject({ status: 200, body: { status: expect.stringMatching(/WAITING|ACTIVE/) } });
    expect(await http(instance, 'GET', '/ready')).toMatchObject({ status: 200 });
    process.stdout.write(`fault-postgres: 503s in ${[joinMs, ...timings].join('/')} ms while down (the join first); served again ${servedMs} ms after PostgreSQL accepted connections\n`);
    expect(instance.child.exitCode).toBeNull();
    expect(instance.output()).not.toMatch(/unhandled|uncaught/i);
  }, 120_000);
});

describe('a server process started while its PostgreSQL is down', () => {
  const late = `tix_fault_pg_late_${Date.now()}_${process.pid}`;
  let instance: Instance | undefined;
  afterAll(async () => {
    if (instance) await stopCluster([instance]);
    await admin.query(`ALTER DATABASE ${late} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [late]);
    await admin.query(`DROP DATABASE IF EXISTS ${late}`);
  });

  it('does not exit: it waits for PostgreSQL, then starts and serves', async () => {
    await admin.query(`CREATE DATABASE ${late}`);
    await admin.query(`ALTER DATABASE ${late} ALLOW_CONNECTIONS false`);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${late}`;
    let output = () => '';
    const starting = startInstance('pg-late', testRedisPrefix('pgl'), { REDIS_URL: '', DATABASE_URL: url.toString(), ...FAST_QUEUE }, (o) => (output = o));
    await waitFor(() => /PostgreSQL does not answer yet/.test(output()), 'the log line naming the cause', 30_000);
    await admin.query(`ALTER DATABASE ${late} ALLOW_CONNECTIONS true`);
    const back = Date.now();
    instance = await starting;
    expect(await http(instance, 'GET', '/ready')).toMatchObject({ status: 200, body: { status: 'ready' } });
    await createConcert(instance);
    process.stdout.write(`fault-postgres (start while down): serving ${Date.now() - back} ms after PostgreSQL accepted connections\n`);
  }, 120_000);
});
