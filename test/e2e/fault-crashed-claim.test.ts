/**
 * A server process is killed (kill -9) in the middle of a payment with an
 * Idempotency-Key: the retry with that key, on the restarted server, is
 * answered within a second with the real outcome, not after a 30 s wait with
 * a 500. The server gets a database of its own so that the killed process's
 * orphaned backends can be ended without touching anything else.
 */
import { Client } from 'pg';
import { buyer, hold } from '../support/buyers';
import { closeClients } from '../support/clients';
import { startInstance, stopCluster, type Instance } from '../support/cluster';
import { PG_ADMIN_URL, testRedisPrefix } from '../support/env';
import { FAST_QUEUE } from '../support/queue';
import { createConcert, http } from '../support/server';
import { waitFor } from '../support/wait';

afterEach(closeClients);

const name = `tix_fault_claim_${Date.now()}_${process.pid}`;
const url = new URL(PG_ADMIN_URL);
url.pathname = `/${name}`;
let admin: Client;
let own: Client;
const instances: Instance[] = [];

beforeAll(async () => {
  admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  own = new Client({ connectionString: url.toString() });
  await own.connect();
});
afterAll(async () => {
  await stopCluster(instances);
  await own.end();
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.end();
});

it('kill -9 during a keyed payment: the retry on the restarted server takes the claim over and answers within a second with the real outcome', async () => {
  // The queue lives in Redis so that the buyer's queue token outlives the process; short leases let the restarted server own the date at once.
  const prefix = testRedisPrefix(`claim${Date.now().toString(36)}`);
  const env = { DATABASE_URL: url.toString(), DATE_LEASE_MS: '500', ...FAST_QUEUE };
  const first = await startInstance('claim-a', prefix, env);
  instances.push(first);
  const concert = await createConcert(first, { seats: 10, price: 1000 });
  const b = await buyer(first, concert.id, { balance: 5000 });
  const held = await hold(b, concert.dates[0]!.id, [1]);
  expect(held).toMatchObject({ ok: true });
  const reservationId = held.data.id as number;

  // The payment's commit (it debits the wallet) waits behind this row lock, which still lets the claim (a foreign key
  // to the user) in: the process dies with its claim pending.
  await own.query('BEGIN');
  await own.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [b.id]);
  const payment = { token: b.token, body: { reservationId }, headers: { 'queue-token': b.queueToken, 'idempotency-key': 'crash-1' } };
  const lost = http(first, 'POST', '/payments', payment).catch(() => undefined);
  await waitFor(async () => (await own.query(`SELECT 1 FROM idempotency_keys WHERE key = 'crash-1' AND response IS NULL`)).rowCount === 1, 'the pending claim');
  const exited = new Promise((resolve) => first.child.once('exit', resolve));
  first.child.kill('SIGKILL');
  await exited;
  await lost;
  // PostgreSQL ends a dead client's backend when it next talks to it; end the one waiting on the lock now.
  await own.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  await own.query('ROLLBACK');

  const second = await startInstance('claim-b', prefix, env);
  instances.push(second);
  const started = Date.now();
  const retry = await http(second, 'POST', '/payments', payment);
  const retryMs = Date.now() - started;
  expect(retry).toMatchObject({ status: 201, body: { reservation: { id: reservationId, status: 'CONFIRMED' }, balance: 4000 } });
  expect(retryMs).toBeLessThan(1000);
  // Once answered, the key replays that answer.
  expect((await http(second, 'POST', '/payments', payment)).body).toEqual(retry.body);
  const { rows } = await own.query('SELECT count(*)::int AS n FROM payments WHERE reservation_id = $1', [reservationId]);
  expect(rows[0].n).toBe(1);
  process.stdout.write(`fault-crashed-claim: the retry after kill -9 answered ${retry.status} in ${retryMs} ms\n`);
}, 120_000);
