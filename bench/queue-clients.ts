/**
 * A child process of bench/queue-tick.ts: `count` waiting-room clients (one
 * socket.io-client socket and one user each), every one keeping its own
 * position with the shipped function, recording when each `queue:tick`
 * arrived. Spread over several processes because one process may open at
 * most 20,000 files here.
 */
import { io } from 'socket.io-client';
import { QueuePosition, type QueueTracker } from '../src/client/queue-position';
import type { QueueStatus, QueueTick } from '../src/protocol/events';
import { openRawSocket, type BenchConn } from './queue-raw-socket';
import { signup } from './lib/client';

// Names are unique per run; the server runs with ALLOW_PASSWORDLESS_SIGNUP=true.
const runTag = Math.random().toString(36).slice(2, 8);

export interface ClientsInit {
  url: string;
  secret: string;
  concertId: number;
  firstUserId: number;
  count: number;
  concurrency: number;
  /** socket.io-client (what apps use) or the minimal client (cheap enough to measure the server). */
  client: 'socket.io-client' | 'raw';
}
/**
 * churn: from now on admitted clients leave at once (their slot goes to the next waiter, so
 * every tick admits a batch) and, at each tick, `leavers` random waiters leave too (so ticks carry `left`).
 */
export type ToClients = { type: 'churn'; leavers: number } | { type: 'calm' } | { type: 'report' } | { type: 'verify'; sample: number } | { type: 'close' };
export type FromClients =
  | { type: 'ready'; joined: number; failed: number; ms: number }
  | { type: 'report'; received: Record<number, number[]>; pings: Record<number, number[]>; gaps: number }
  | { type: 'verified'; checked: number; exact: number; admitted: number };

const now = () => performance.timeOrigin + performance.now();

interface Client {
  socket: BenchConn;
  token: string;
  tracker: QueueTracker;
  admitted: boolean;
}

const clients: Client[] = [];
const received: Record<number, number[]> = {};
/** Arrivals of bare broadcasts (no waiting-room logic) to the same sockets, for comparison. */
const pings: Record<number, number[]> = {};
let gaps = 0;
let churn: { leavers: number } | undefined;
let lastChurnTick = 0;

function leave(c: Client): void {
  c.admitted = true;
  void c.socket.emitWithAck('queue:leave', { queueToken: c.token });
}

function onTickChurn(tick: number): void {
  if (!churn || tick <= lastChurnTick) return;
  lastChurnTick = tick;
  for (let i = 0; i < churn.leavers; i++) {
    const c = clients[Math.floor(Math.random() * clients.length)];
    if (c && !c.admitted) leave(c);
  }
}

async function connectAndJoin(init: ClientsInit, userId: number): Promise<boolean> {
  let socket: BenchConn;
  try {
    const { token } = await signup(init.url, `qc-${runTag}-${userId}`);
    socket = init.client === 'raw' ? await openRawSocket(init.url, token) : await openSocketIo(init.url, token);
  } catch {
    return false;
  }
  const tracker = QueuePosition.createTracker();
  const client: Client = { socket, token: '', tracker, admitted: false };
  socket.on('queue:tick', (t: QueueTick) => {
    const at = now();
    (received[t.tick] ??= []).push(at);
    if (tracker.onTick(t) === 'gap') gaps++;
    onTickChurn(t.tick);
  });
  socket.on('bench:ping', (p: { i: number }) => {
    (pings[p.i] ??= []).push(now());
  });
  socket.on('queue:admitted', () => {
    if (churn) leave(client);
    else client.admitted = true;
  });
  const reply = (await socket.emitWithAck('queue:join', { concertId: init.concertId })) as { ok: boolean; data: QueueStatus & { token: string } };
  if (!reply.ok) return false;
  client.token = reply.data.token;
  tracker.reset(reply.data);
  clients.push(client);
  return true;
}

function openSocketIo(url: string, token: string): Promise<BenchConn> {
  const socket = io(url, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true, timeout: 60_000 });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ on: (e, h) => void socket.on(e, h), emitWithAck: (e, p) => socket.emitWithAck(e, p), close: () => socket.close() }));
    socket.once('connect_error', reject);
  });
}

/** Compares the tracked position with `queue:status` for a sample of the clients still waiting. */
async function verify(sample: number): Promise<{ checked: number; exact: number; admitted: number }> {
  const waiting = clients.filter((c) => !c.admitted);
  const step = Math.max(1, Math.floor(waiting.length / sample));
  let checked = 0;
  let exact = 0;
  for (let i = 0; i < waiting.length; i += step) {
    const c = waiting[i];
    if (!c) continue;
    for (let attempt = 0; attempt < 20; attempt++) {
      const reply = (await c.socket.emitWithAck('queue:status', { queueToken: c.token })) as { ok: boolean; data: QueueStatus };
      // The status ack follows every tick it includes on the same socket: equal ticks compare like with like.
      if (reply.ok && reply.data.status === 'WAITING' && reply.data.tick === c.tracker.entry?.tick) {
        checked++;
        if (reply.data.position === c.tracker.position) exact++;
        break;
      }
      if (!reply.ok || reply.data.status !== 'WAITING') break;
    }
  }
  return { checked, exact, admitted: clients.length - waiting.length };
}

async function start(init: ClientsInit): Promise<void> {
  const started = Date.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: init.concurrency }, async () => {
      while (next < init.count) {
        const userId = init.firstUserId + next++;
        if (!(await connectAndJoin(init, userId))) failed++;
      }
    }),
  );
  process.send?.({ type: 'ready', joined: clients.length, failed, ms: Date.now() - started } satisfies FromClients);
}

process.on('message', (m: ClientsInit | ToClients) => {
  if ('url' in m) void start(m);
  else if (m.type === 'churn') {
    churn = { leavers: m.leavers };
    for (const c of clients) if (c.admitted) leave(c);
  } else if (m.type === 'calm') churn = undefined;
  else if (m.type === 'report') process.send?.({ type: 'report', received, pings, gaps } satisfies FromClients);
  else if (m.type === 'verify') void verify(m.sample).then((r) => process.send?.({ type: 'verified', ...r } satisfies FromClients));
  else {
    for (const c of clients) c.socket.close();
    setTimeout(() => process.exit(0), 200);
  }
});
