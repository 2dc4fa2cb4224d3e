/**
 * Hold throughput and latency on one hot date, with and without group commit,
 * side by side in one run (same machine, same database, same load):
 *
 *   npx tsx bench/holds.ts [--clients 200] [--seconds 10] [--seats 60000] [--profile]
 *
 * Each mode starts a fresh server process (DATE_ROOM_MAX_BATCH=512 vs 1) on a
 * fresh PostgreSQL database, then `clients` sockets hold single seats in a
 * closed loop (next free seat from a shared counter, so no conflicts) for
 * `seconds`. Reports successful holds/s, their latency p50/p95/p99 and the
 * mean batch size (any refusal is counted as an error and left out).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { createDatabase } from './lib/server-process';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIENTS = arg('clients', 200);
const SECONDS = arg('seconds', 10);
const SEATS = arg('seats', 100_000);
const ADMIN = 'bench-admin-token-0123456789';

async function main() {
  const rows: Record<string, string | number>[] = [];
  for (const [mode, batch] of [['group commit', 512], ['one commit per hold', 1]] as const) {
    const db = await createDatabase();
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const url = `http://127.0.0.1:${port}`;
    const server = startServer(port, db.url, batch);
    try {
      await waitHealthy(url);
      rows.push({ mode, ...(await run(url)) });
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      await db.drop();
    }
  }
  console.table(rows);
  const [group, single] = rows;
  if (group && single) console.log(`group commit / one commit per hold: ${(Number(group['holds/s']) / Number(single['holds/s'])).toFixed(2)}× throughput`);
}

function startServer(port: number, databaseUrl: string, maxBatch: number): ChildProcess {
  const profile = process.argv.includes('--profile') ? ['--cpu-prof', '--cpu-prof-dir', path.join(__dirname, '..', 'data', 'profiles')] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(__dirname, '..', 'src', 'index.ts')], {
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef',
      ALLOW_PASSWORDLESS_SIGNUP: 'true',
      ADMIN_TOKEN: ADMIN,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      DATE_ROOM_MAX_BATCH: String(maxBatch),
      MAX_SEATS_PER_USER: '1000',
      HOLD_TTL_SECONDS: '3600',
      RATE_LIMIT_PER_USER: '1000000',
      QUEUE_ADMIT_INTERVAL_MS: '50',
      QUEUE_ADMIT_BATCH: '10000',
      QUEUE_MAX_ACTIVE: '100000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

async function run(url: string) {
  const concert = await post(url, '/admin/concerts', ADMIN, {
    title: 'Bench', venue: 'Hall',
    dates: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: SEATS, price: 1000 } }],
  });
  const dateId: number = concert.concert.dates[0].id;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => buyer(url, concert.concert.id, i)));
  let next = 1;
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < deadline && next <= SEATS) {
        const seat = next++;
        const t0 = performance.now();
        const reply = await c.socket.emitWithAck('seats:hold', { dateId, seatNumbers: [seat], queueToken: c.queueToken });
        if (reply.ok) latencies.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const sum = Number(/tix_date_room_batch_size_sum (\S+)/.exec(metrics)?.[1] ?? 0);
  const count = Number(/tix_date_room_batch_size_count (\S+)/.exec(metrics)?.[1] ?? 1);
  clients.forEach((c) => c.socket.close());
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(1);
  return {
    clients: CLIENTS,
    holds: latencies.length,
    errors,
    'holds/s': Math.round(latencies.length / elapsed),
    'p50 ms': q(0.5),
    'p95 ms': q(0.95),
    'p99 ms': q(0.99),
    'mean batch': (sum / count).toFixed(1),
  };
}

async function buyer(url: string, concertId: number, i: number) {
  const { token } = await post(url, '/users', undefined, { name: `bench${i}` });
  const joined = await post(url, '/queue/token', token, { concertId });
  let status = joined.status;
  while (status !== 'ACTIVE') {
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${url}/queue/status`, { headers: { authorization: `Bearer ${token}`, 'queue-token': joined.token } });
    status = ((await res.json()) as { status: string }).status;
  }
  const socket: Socket = io(url, { transports: ['websocket'], auth: { token }, forceNew: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', reject);
  });
  return { socket, queueToken: joined.token as string };
}

async function post(url: string, route: string, token: string | undefined, body: unknown) {
  const res = await fetch(`${url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as any;
}

async function waitHealthy(url: string) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
