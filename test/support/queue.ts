import type { Socket } from 'socket.io-client';
import { QueuePosition, type QueueTracker } from '../../src/client/queue-position';
import type { QueueStatus, QueueTick } from '../../src/protocol/events';
import { connectClient, http, signup, startServer, type TestServer, type TestUser } from './server';
import { sleep } from './wait';

/** Settings that admit everyone almost at once, for tests about seats and payments rather than the queue. */
export const FAST_QUEUE = {
  QUEUE_ADMIT_INTERVAL_MS: '50',
  QUEUE_ADMIT_BATCH: '1000',
  QUEUE_MAX_ACTIVE: '100000',
};

/** Joins the concert's waiting room over HTTP and waits until ACTIVE; returns the queue token. */
export async function activeToken(server: { url: string }, user: TestUser, concertId: number, timeoutMs = 15_000): Promise<string> {
  const joined = await http(server, 'POST', '/queue/token', { token: user.token, body: { concertId } });
  if (joined.status !== 201 && joined.status !== 200) throw new Error(`queue join failed: ${joined.status} ${JSON.stringify(joined.body)}`);
  const queueToken = joined.body['token'] as string;
  const deadline = Date.now() + timeoutMs;
  let status = joined.body['status'];
  while (status !== 'ACTIVE') {
    if (Date.now() > deadline) throw new Error(`not admitted within ${timeoutMs} ms (status ${String(status)})`);
    await sleep(25);
    const res = await http(server, 'GET', '/queue/status', { token: user.token, headers: { 'queue-token': queueToken } });
    status = res.body['status'];
  }
  return queueToken;
}

/** A server with the queue settings of a scenario, on the in-process store or on Redis. */
export function queueServer(redis: boolean, env: Record<string, string>): Promise<TestServer> {
  return startServer({ redis, env: { QUEUE_ADMIT_INTERVAL_MS: '100', ...env } });
}

/** A user in the waiting room over a socket, keeping their own position with the shipped function. */
export interface Waiter {
  user: TestUser;
  socket: Socket;
  token: string;
  /** Null while pre-queued. */
  ticket: number | null;
  tracker: QueueTracker;
  /** `queue:status` pushes (the opening's draw). */
  pushed: QueueStatus[];
  /** Every position the tracker held, in order. */
  positions: number[];
  admitted: { concertId: number; expiresAt: string }[];
  expired: { concertId: number; reason: string }[];
  soldout: number;
  resyncs: number;
  status(): Promise<QueueStatus>;
}

export async function waiter(server: TestServer, concertId: number, user?: TestUser): Promise<Waiter> {
  const who = user ?? (await signup(server));
  const socket = await connectClient(server, who.token);
  const tracker = QueuePosition.createTracker();
  const w: Waiter = {
    user: who,
    socket,
    token: '',
    ticket: 0,
    tracker,
    pushed: [],
    positions: [],
    admitted: [],
    expired: [],
    soldout: 0,
    resyncs: 0,
    async status() {
      const reply = await socket.emitWithAck('queue:status', { queueToken: w.token });
      if (!reply.ok) throw new Error(`queue:status failed: ${JSON.stringify(reply.error)}`);
      return reply.data as QueueStatus;
    },
  };
  socket.on('queue:tick', (t: QueueTick) => {
    if (tracker.onTick(t) === 'gap') {
      w.resyncs++;
      void w.status().then((s) => tracker.reset(s));
    }
    if (tracker.position !== null) w.positions.push(tracker.position);
  });
  socket.on('queue:status', (s: QueueStatus) => {
    w.pushed.push(s);
    w.ticket = s.ticket;
    tracker.reset(s);
    if (s.position !== null) w.positions.push(s.position);
  });
  socket.on('queue:admitted', (e: Waiter['admitted'][number]) => w.admitted.push(e));
  socket.on('queue:expired', (e: Waiter['expired'][number]) => w.expired.push(e));
  socket.on('queue:soldout', () => w.soldout++);
  const reply = await socket.emitWithAck('queue:join', { concertId });
  if (!reply.ok) throw new Error(`queue:join failed: ${JSON.stringify(reply.error)}`);
  const status = reply.data as QueueStatus & { token: string };
  w.token = status.token;
  w.ticket = status.ticket;
  tracker.reset(status);
  if (status.position !== null) w.positions.push(status.position);
  return w;
}

export async function joinHttp(server: TestServer, user: TestUser, concertId: number) {
  return http<QueueStatus & { token: string }>(server, 'POST', '/queue/token', { token: user.token, body: { concertId } });
}

export async function statusHttp(server: TestServer, user: TestUser, queueToken?: string) {
  return http<QueueStatus>(server, 'GET', '/queue/status', { token: user.token, headers: queueToken === undefined ? {} : { 'queue-token': queueToken } });
}

export async function leave(w: Waiter): Promise<void> {
  const reply = await w.socket.emitWithAck('queue:leave', { queueToken: w.token });
  expect(reply).toEqual({ ok: true, data: {} });
}

export function closeAll(waiters: Waiter[]): void {
  for (const w of waiters) w.socket.close();
}
