/**
 * The embedded PostgreSQL (no DATABASE_URL) is supervised: killed under a
 * running server, it is restarted and the server serves again without a
 * restart of its own. Its superuser password is random per data directory.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort, startInstance, stopCluster, type Instance } from '../support/cluster';
import { testRedisPrefix } from '../support/env';
import { PASSWORD, http, signup } from '../support/server';
import { waitFor } from '../support/wait';

const dataDir = mkdtempSync(path.join(tmpdir(), 'tix-embedded-fault-'));
// The embedded PostgreSQL runs as the `postgres` user when the tests run as root.
chmodSync(dataDir, 0o755);
let instance: Instance | undefined;
afterAll(async () => {
  if (instance) await stopCluster([instance]);
  rmSync(dataDir, { recursive: true, force: true });
});

it('restarts its embedded PostgreSQL after kill -9 and serves again, with a random password kept under DATA_DIR', async () => {
  const pgPort = await freePort();
  instance = await startInstance('embedded', testRedisPrefix('emb'), { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), SEED_DEMO: 'false' });
  await signup(instance);

  const password = readFileSync(path.join(dataDir, 'pg-password'), 'utf8').trim();
  expect(password).toMatch(/^[0-9a-f]{48}$/);
  const wellKnown = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres` });
  await expect(wellKnown.connect()).rejects.toThrow(/password authentication failed/);

  const postmaster = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(postmaster, 'SIGKILL');
  const killedAt = Date.now();
  const up = instance;
  await waitFor(async () => (await http(up, 'POST', '/users', { body: { name: `after-${Date.now()}`, password: PASSWORD } })).status === 201, 'a sign-up after the restart', 60_000);
  const recoveryMs = Date.now() - killedAt;
  expect(instance.output()).toMatch(/embedded PostgreSQL died; restarting it/);
  expect(instance.output()).toMatch(/embedded PostgreSQL restarted/);
  expect(instance.child.exitCode).toBeNull();
  expect(instance.output()).not.toMatch(/unhandled|uncaught/i);
  process.stdout.write(`fault-embedded-postgres: serving again ${recoveryMs} ms after kill -9 of the postmaster\n`);
}, 180_000);
