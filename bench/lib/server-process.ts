import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { LoadOptions } from './options';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PG_ADMIN_URL = process.env['LOADTEST_PG_ADMIN_URL'] ?? process.env['TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TSX_LOADER = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');

/** `node --import tsx file.ts`: TypeScript children without a build step, pid = the real process. */
export function forkTs(file: string, args: string[], env: NodeJS.ProcessEnv, silent = false, nodeArgs: string[] = []): ChildProcess {
  return fork(file, args, { execArgv: ['--import', TSX_LOADER, ...nodeArgs], env, silent, cwd: ROOT, serialization: 'advanced' });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function databaseUrlFor(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `tix_loadtest_${Date.now()}_${process.pid}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: databaseUrlFor(name),
    async drop() {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface ServerChild {
  url: string;
  pid: number;
  /** Engine from the server's start log ("uws" or "node"), when seen. */
  engine?: string;
  logFile: string;
  /** Where --cpu-prof writes the profile when the server stops (with --profile). */
  profileDir?: string;
  stop(): Promise<void>;
}

/** The real server (src/index.ts) in a child process on a free port, with short timers. */
export async function startServerChild(o: LoadOptions, databaseUrl: string): Promise<ServerChild> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: 'loadtest-secret-0123456789-0123456789-abcdef',
    // The load generator's buyers sign up without a password: a scrypt hash each would measure signup, not the sale.
    ALLOW_PASSWORDLESS_SIGNUP: 'true',
    ADMIN_TOKEN: o.adminToken,
    SEED_DEMO: 'false',
    LOG_LEVEL: process.env['LOADTEST_SERVER_LOG_LEVEL'] ?? 'info',
    WS_ENGINE: o.engine,
    HOLD_TTL_SECONDS: String(o.holdTtlS),
    MAX_SEATS_PER_USER: String(Math.max(4, o.maxSeats)),
    QUEUE_ADMIT_BATCH: String(o.admitBatch),
    QUEUE_ADMIT_INTERVAL_MS: String(o.admitIntervalMs),
    QUEUE_MAX_ACTIVE: String(o.maxActive),
    QUEUE_ACTIVE_TTL_SECONDS: String(o.activeTtlS),
    QUEUE_IDLE_TIMEOUT_SECONDS: String(Math.max(30, o.durationS)),
    QUEUE_MAX_WAITING: String(Math.max(100_000, o.buyers * 2)),
    RATE_LIMIT_PER_USER: String(o.rateLimitPerUser),
    RATE_LIMIT_PER_IP: '1000000',
    MAX_SOCKETS_PER_USER: '1000',
    REDIS_URL: '',
    NODE_ENV: 'production',
  };
  const logFile = path.join(os.tmpdir(), `loadtest-server-${process.pid}-${port}.log`);
  const log = createWriteStream(logFile);
  const profileDir = o.profile ? path.join(os.tmpdir(), `loadtest-prof-${process.pid}-${port}`) : undefined;
  const child = forkTs(path.join(ROOT, 'src', 'index.ts'), [], env, true, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const result: ServerChild = { url: `http://127.0.0.1:${port}`, pid: child.pid ?? 0, logFile, profileDir, stop: () => stopChild(child) };
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (result.engine) return;
    buffered += chunk.toString('utf8');
    const m = /"engine":"(\w+)"/.exec(buffered);
    if (m) result.engine = m[1];
  });
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `server exited (code ${code}, signal ${signal}); log: ${logFile}`;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(exited);
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`server did not answer /health within 60 s; log: ${logFile}`);
    }
    try {
      const res = await fetch(`${result.url}/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return result;
}

export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
