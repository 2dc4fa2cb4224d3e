/**
 * Server CPU per command, one command type at a time, beside baselines from
 * the same run (issue 21):
 *
 *   npm run bench:cpu -- [--users 300] [--lanes 50] [--seconds 4] [--reps 3] [--engine auto|uws|node] [--profile]
 *
 * Starts the real server (src/index.ts) in a child process on a fresh
 * database with the budgets lifted, signs up `users` buyers (one socket each)
 * and admits them, then per repetition: an idle stretch (the server's CPU with
 * no command), each command in a closed loop from `lanes` sockets for
 * `seconds` (payment:pay once per user: a payment ends the queue entry), a
 * socket's connect and close (a user's token: the handshake's session check,
 * the user's room, the socket cap) beside a bare socket.io server's, a
 * bare socket.io ack echo on the same engine, and the hot path's SQL straight
 * through `pg` (with PostgreSQL's own CPU per row, read from its backends'
 * /proc entries: the database's share of a commit, which the server's CPU
 * leaves out). CPU is the whole process's (every thread, /proc schedstat)
 * over the phase ÷ commands acknowledged; figures are medians over the
 * repetitions. `--profile` runs the server under --cpu-prof and attributes
 * each phase's main-thread self time to areas (transport, JSON, validation,
 * tokens, metrics, logging, budgets, room, ORM/driver, handlers, GC, other).
 * `--top N` lists the N heaviest functions per phase (8).
 * `--only a,b` runs only the phases whose names contain one of those strings.
 * Writes data/bench/cpu-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { io, type Socket } from 'socket.io-client';
import { DEFAULTS, type LoadOptions } from './lib/options';
import { createDatabase, forkTs, ROOT, startServerChild, stopChild } from './lib/server-process';
import type { BareFromChild } from './lib/bare-server';
import { connect, mapLimit } from './lib/client';
import { Meter, median, Refused } from './lib/cpu-loop';
import { admitAll, createDates, get, pgHoldCancel, send, users } from './lib/cpu-commands';
import { summarize, printAttribution } from './lib/cpu-report';
import { attribute } from './lib/cpu-attribution';
import { processCpuUs } from './lib/proc-cpu';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const engineArg = process.argv[process.argv.indexOf('--engine') + 1];
const USERS = arg('users', 300);
const LANES = Math.min(USERS, arg('lanes', 50));
const SECONDS = arg('seconds', 4);
const REPS = arg('reps', 3);
const PROFILE = process.argv.includes('--profile');
/** `--top N`: how many of the heaviest functions per phase the profile summary lists (8). */
const TOP = arg('top', 8);
const onlyArg = process.argv.indexOf('--only');
/** `--only status,hold`: just the phases whose names contain one of these (idle and the echo always run). */
const ONLY = onlyArg > 0 ? (process.argv[onlyArg + 1] ?? '').split(',').filter(Boolean) : [];
const wanted = (phase: string): boolean => ONLY.length === 0 || phase.startsWith('idle') || phase.includes('echo') || ONLY.some((x) => phase.includes(x));

/** The server's group commits so far: how many, how many commands they carried, and their time (s) as the room measured it. */
async function commits(url: string): Promise<{ count: number; commands: number; seconds: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: read('tix_date_room_batch_size_count'), commands: read('tix_date_room_batch_size_sum'), seconds: read('tix_date_room_commit_seconds_sum') };
}

/** Waits for the socket to connect, then closes it: one connection's whole life, counted as one. */
async function closeAfterConnect(socket: Socket): Promise<void> {
  if (!socket.connected) {
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('connect_error', reject));
  }
  socket.close();
}

/** Commands per group commit in each phase that committed any: what the commit's fixed cost is shared by. */
const perCommit = new Map<string, number[]>();
/** Mean time of one group commit in each phase (the room's own measure: its statement's round trip, pool wait included). */
const commitMs = new Map<string, number[]>();
/** PostgreSQL's own CPU per row of the pg baseline, per repetition (the bench's backends, read from /proc). */
const backendPerRow = new Map<string, number[]>();
const backendCpuUs = (pids: number[]) => pids.reduce((sum, pid) => sum + processCpuUs(pid), 0);
async function countCommits<T>(url: string, phase: string, run: () => Promise<T>): Promise<T> {
  const before = await commits(url);
  const result = await run();
  const after = await commits(url);
  const n = after.count - before.count;
  if (n > 0) {
    perCommit.set(phase, [...(perCommit.get(phase) ?? []), (after.commands - before.commands) / n]);
    commitMs.set(phase, [...(commitMs.get(phase) ?? []), ((after.seconds - before.seconds) * 1000) / n]);
  }
  return result;
}

async function main(): Promise<void> {
  const options: LoadOptions = {
    ...DEFAULTS,
    engine: engineArg === 'uws' || engineArg === 'node' ? engineArg : 'auto',
    buyers: USERS,
    holdTtlS: 3600,
    maxSeats: 1000,
    admitBatch: 10_000,
    admitIntervalMs: 50,
    maxActive: 100_000,
    activeTtlS: 3600,
    durationS: 3600,
    rateLimitPerUser: 1_000_000,
    profile: PROFILE,
  };
  process.env['LOADTEST_SERVER_LOG_LEVEL'] ??= 'info';
  const db = await createDatabase();
  const server = await startServerChild(options, db.url);
  const engine = server.engine === 'node' ? 'node' : 'uws';
  const bare = forkTs(path.join(__dirname, 'lib', 'bare-server.ts'), [engine], process.env);
  // Few connections, opened at the start and kept: the PostgreSQL server is shared with every other
  // run on the machine, and a connection asked for mid-run can find none left.
  const pool = new Pool({ connectionString: db.url, max: 4, idleTimeoutMillis: 0 });
  // Dropping the database at the end terminates these connections: not a failure of the run.
  pool.on('error', () => undefined);
  let echoSockets: Socket[] = [];
  let all: Awaited<ReturnType<typeof users>> = [];
  try {
    const bareListening = await new Promise<Extract<BareFromChild, { type: 'listening' }>>((resolve, reject) =>
      bare.on('message', (m: BareFromChild) => (m.type === 'listening' ? resolve(m) : m.type === 'failed' ? reject(new Error(m.message)) : undefined)),
    );
    const warm = await Promise.all(Array.from({ length: 4 }, () => pool.connect()));
    // The backends serving the pg baseline: their own CPU is PostgreSQL's side of each statement.
    const backends = await Promise.all(warm.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0));
    warm.forEach((c) => c.release());
    const dates = await createDates(server.url, options.adminToken, LANES + USERS * REPS + 100);
    all = await users(server.url, USERS);
    await admitAll(all, dates.concertId);
    await mapLimit(all, 50, (u) => send(u.socket, 'wallet:charge', { amount: 1_000_000 }));
    echoSockets = await Promise.all(
      Array.from({ length: LANES }, () => {
        const s = io(`http://127.0.0.1:${bareListening.port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
        return new Promise<Socket>((resolve, reject) => s.once('connect', () => resolve(s)).once('connect_error', reject));
      }),
    );
    const meter = new Meter(wanted, (phase) => (phase.startsWith('baseline: socket.io') ? { pid: bare.pid ?? 0 } : phase.startsWith('baseline: pg') ? 'self' : { pid: server.pid }));
    const u = (lane: number) => all[lane] as (typeof all)[number];
    const userIds = all.map((x) => x.id);
    let nextSeat = LANES + 1;
    for (let rep = 0; rep < REPS; rep++) {
      if (rep > 0) await admitAll(all, dates.concertId);
      await meter.idle('idle (per second)', 2);
      await meter.loop(`baseline: socket.io ack echo (${engine})`, LANES, SECONDS, async (lane) => {
        await (echoSockets[lane] as Socket).emitWithAck('echo', { dateId: dates.hot, seatNumbers: [lane + 1], queueToken: u(lane).queueToken });
        return 1;
      });
      // A connection's own cost: the handshake, the session's check, the user's room and its socket count.
      await meter.loop(`baseline: socket.io connect + close (${engine})`, LANES, SECONDS, async () => {
        await closeAfterConnect(io(`http://127.0.0.1:${bareListening.port}`, { transports: ['websocket'], forceNew: true, reconnection: false }));
        return 1;
      });
      await meter.loop('socket connect + close', LANES, SECONDS, async (lane) => {
        const c = await connect(server.url, u(lane).token);
        if ('error' in c) throw new Refused(c.error);
        await closeAfterConnect(c.socket);
        return 1;
      });
      await countCommits(server.url, 'seats:hold + reservation:cancel', () =>
        meter.loop('seats:hold + reservation:cancel', LANES, SECONDS, async (lane) => {
          const r = await send(u(lane).socket, 'seats:hold', { dateId: dates.hot, seatNumbers: [lane + 1], queueToken: u(lane).queueToken });
          await send(u(lane).socket, 'reservation:cancel', { reservationId: r.id });
          return 2;
        }),
      );
      await meter.loop('wallet:charge', LANES, SECONDS, async (lane) => (await send(u(lane).socket, 'wallet:charge', { amount: 1 }), 1));
      await meter.loop('queue:join (live entry)', LANES, SECONDS, async (lane) => (await send(u(lane).socket, 'queue:join', { concertId: dates.concertId }), 1));
      await meter.loop('queue:status', LANES, SECONDS, async (lane) => (await send(u(lane).socket, 'queue:status', { queueToken: u(lane).queueToken }), 1));
      await meter.loop('seats:watch (50-seat map)', LANES, SECONDS, async (lane) => (await send(u(lane).socket, 'seats:watch', { dateId: dates.small, queueToken: u(lane).queueToken }), 1));
      await meter.loop('concerts:list', LANES, SECONDS, async (lane) => (await send(u(lane).socket, 'concerts:list', {}), 1));
      await meter.loop('HTTP GET /concerts', LANES, SECONDS, (lane) => get(server.url, '/concerts', { authorization: `Bearer ${u(lane).token}` }));
      await meter.loop('HTTP GET /queue/status', LANES, SECONDS, (lane) => get(server.url, '/queue/status', { authorization: `Bearer ${u(lane).token}`, 'queue-token': u(lane).queueToken }));
      // One payment per user and repetition: each needs a fresh hold, taken outside the measurement.
      const held = !wanted('payment:pay') ? [] : await mapLimit(all, 50, async (x) => {
        const r = await send(x.socket, 'seats:hold', { dateId: dates.hot, seatNumbers: [nextSeat++], queueToken: x.queueToken });
        return { user: x, reservationId: r.id as number };
      });
      await countCommits(server.url, 'payment:pay', () =>
        meter.each('payment:pay', LANES, held, async (h) => (await send(h.user.socket, 'payment:pay', { reservationId: h.reservationId, queueToken: h.user.queueToken }), 1)),
      );
      for (const rows of [1, 50]) {
        const phase = `baseline: pg tix_commit_batch, ${rows} row${rows > 1 ? 's' : ''} per statement`;
        const before = backendCpuUs(backends);
        const sample = await meter.loop(phase, Math.min(LANES, 4), SECONDS, pgHoldCancel(pool, dates, userIds, rows));
        if (sample && sample.commands > 0) backendPerRow.set(phase, [...(backendPerRow.get(phase) ?? []), (backendCpuUs(backends) - before) / sample.commands]);
      }
      process.stderr.write(`repetition ${rep + 1}/${REPS} done\n`);
    }
    all.forEach((x) => x.socket.close());
    echoSockets.forEach((s) => s.close());
    await server.stop();
    const report = summarize(meter.samples, { engine: server.engine ?? engine, bareEngine: bareListening.engine, users: USERS, lanes: LANES, seconds: SECONDS, reps: REPS, profile: PROFILE });
    const windows = meter.windows.filter((w) => !w.phase.startsWith('baseline') && !w.phase.startsWith('idle'));
    const attribution = PROFILE && server.profileDir ? attribute(server.profileDir, windows, TOP) : undefined;
    if (attribution) printAttribution(attribution, report.phases);
    const commandsPerCommit = Object.fromEntries([...perCommit].map(([phase, xs]) => [phase, median(xs)]));
    const commitMsMedian = Object.fromEntries([...commitMs].map(([phase, xs]) => [phase, median(xs)]));
    for (const [phase, n] of Object.entries(commandsPerCommit)) {
      console.log(`${phase}: ${n.toFixed(1)} commands per group commit, ${(commitMsMedian[phase] ?? 0).toFixed(2)} ms per commit (medians over repetitions)`);
    }
    const postgresPerRow = Object.fromEntries([...backendPerRow].map(([phase, xs]) => [phase, median(xs)]));
    for (const [phase, us] of Object.entries(postgresPerRow)) console.log(`${phase}: PostgreSQL backend CPU ${us.toFixed(1)} µs per row (median over repetitions)`);
    const out = path.join(ROOT, 'data', 'bench', `cpu-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify({ ...report, commandsPerCommit, commitMs: commitMsMedian, postgresPerRow, attribution }, null, 2));
    console.log(`JSON: ${out}`);
  } finally {
    all.forEach((x) => x.socket.close());
    echoSockets.forEach((s) => s.close());
    await server.stop();
    await stopChild(bare, 3000);
    await pool.end();
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
