import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { ADMIN_TOKEN, CHEAP_SCRYPT, JWT_SECRET, LIFTED_LIMITS } from './server';
import { REDIS_URL, testDatabaseUrl, testRedisPrefix } from './env';

const ROOT = path.resolve(__dirname, '..', '..');

export interface Instance {
  id: string;
  url: string;
  child: ChildProcess;
  output(): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Real server processes on one PostgreSQL database and one Redis (a key
 * prefix of their own), as a load balancer would see them.
 */
export async function startCluster(count: number, env: Record<string, string> = {}): Promise<Instance[]> {
  const prefix = testRedisPrefix(`cluster${Date.now().toString(36)}`);
  return Promise.all(Array.from({ length: count }, (_, i) => startInstance(`i${i}`, prefix, env)));
}

/** `onOutput` gets the instance's output reader at once, before it is healthy (to wait on a log line during start). */
export async function startInstance(id: string, prefix: string, env: Record<string, string>, onOutput?: (output: () => string) => void): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'index.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL,
      REDIS_PREFIX: prefix,
      INSTANCE_ID: id,
      JWT_SECRET,
      ADMIN_TOKEN,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      ...LIFTED_LIMITS,
      ...CHEAP_SCRYPT,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  onOutput?.(() => out);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`instance ${id} exited: ${out.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`instance ${id} not healthy in time: ${out.slice(-2000)}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { id, url, child, output: () => out };
}

export async function stopCluster(instances: Instance[]): Promise<void> {
  await Promise.all(
    instances.map(
      (i) =>
        new Promise<void>((resolve) => {
          if (i.child.exitCode !== null || i.child.signalCode !== null) return resolve();
          i.child.once('exit', () => resolve());
          i.child.kill('SIGCONT');
          i.child.kill('SIGTERM');
          setTimeout(() => i.child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
}
