import type { CommandReply, QueueChallenge } from '../protocol/commands';
import type { ErrorBody } from '../protocol/errors';
import type { ExpiryReason, QueueStatus, QueueTick } from '../protocol/events';
import { QueuePosition, type QueueTracker } from './queue-position';
import { send, type TicketSocket } from './socket';
import { solveChallenge } from './solve-challenge';

/** queue:join refused, or the entry ended before admission. */
export class LineError extends Error {
  constructor(
    readonly code: ErrorBody['code'] | `EXPIRED_${ExpiryReason}` | 'TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'LineError';
  }
}

/**
 * queue:join, solving the door's proof of work when the sale asks for one
 * (CHALLENGE_FAILED without a solution): the ack as received.
 */
export async function joinQueue(socket: TicketSocket, concertId: number, timeoutMs = 20_000): Promise<CommandReply<'queue:join'>> {
  const first = await send(socket, 'queue:join', { concertId }, timeoutMs);
  if (first.ok || first.error.code !== 'CHALLENGE_FAILED') return first;
  const asked = await send(socket, 'queue:challenge', { concertId }, timeoutMs);
  if (!asked.ok) return first;
  const challenge: QueueChallenge = asked.data.challenge;
  return send(socket, 'queue:join', { concertId, solution: solveChallenge(challenge) }, timeoutMs);
}

/**
 * One user's place in one concert's waiting room, kept exact with the shipped
 * position function: each `queue:tick` broadcast moves it, a missed tick asks
 * queue:status again. The listeners are on before the join is sent, so no tick
 * falls between the join's answer and the first broadcast.
 */
export class WaitingLine {
  readonly tracker: QueueTracker = QueuePosition.createTracker();
  queueToken = '';
  /** When the entry's admission ends (set once ACTIVE). */
  expiresAt?: string;
  expired?: ExpiryReason;
  private readonly changed = new Set<() => void>();

  private constructor(
    private readonly socket: TicketSocket,
    readonly concertId: number,
    private readonly timeoutMs: number,
  ) {}

  /** Joins (rejects with LineError when refused); the line keeps itself current until close(). */
  static async join(socket: TicketSocket, concertId: number, timeoutMs = 20_000): Promise<WaitingLine> {
    const line = new WaitingLine(socket, concertId, timeoutMs);
    line.listen();
    const reply = await joinQueue(socket, concertId, timeoutMs);
    if (!reply.ok) {
      line.close();
      throw new LineError(reply.error.code, `queue:join: ${reply.error.code} ${reply.error.message}`);
    }
    line.queueToken = reply.data.token;
    line.adopt(reply.data);
    return line;
  }

  /** Users ahead + 1; 0 once admitted; null while pre-queued. */
  get position(): number | null {
    return this.expiresAt === undefined ? this.tracker.position : 0;
  }

  /** Resolves with `expiresAt` once admitted; rejects with LineError if the entry ends first or after `timeoutMs`. */
  whenActive(timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const finish = (error?: LineError) => {
        clearTimeout(timer);
        this.changed.delete(check);
        if (error) reject(error);
        else resolve(this.expiresAt ?? '');
      };
      const check = () => {
        if (this.expiresAt !== undefined) finish();
        else if (this.expired) finish(new LineError(`EXPIRED_${this.expired}`, `the entry ended before admission: ${this.expired}`));
      };
      const timer = setTimeout(() => finish(new LineError('TIMEOUT', `not admitted within ${timeoutMs} ms`)), timeoutMs);
      this.changed.add(check);
      check();
    });
  }

  /** queue:leave: the entry ends at once and everyone behind moves up. */
  async leave(): Promise<CommandReply<'queue:leave'>> {
    const reply = await send(this.socket, 'queue:leave', { queueToken: this.queueToken }, this.timeoutMs);
    if (reply.ok) this.end('LEFT');
    return reply;
  }

  /** Asks queue:status and takes it as the truth (after a missed tick, or a reconnect). */
  async resync(): Promise<CommandReply<'queue:status'>> {
    const reply = await send(this.socket, 'queue:status', { queueToken: this.queueToken }, this.timeoutMs);
    if (reply.ok) this.adopt(reply.data);
    return reply;
  }

  /** Stops listening on the socket (the entry itself stays in line). */
  close(): void {
    this.socket.off('queue:tick', this.onTick);
    this.socket.off('queue:status', this.onStatus);
    this.socket.off('queue:admitted', this.onAdmitted);
    this.socket.off('queue:expired', this.onExpired);
  }

  private listen(): void {
    this.socket.on('queue:tick', this.onTick);
    this.socket.on('queue:status', this.onStatus);
    this.socket.on('queue:admitted', this.onAdmitted);
    this.socket.on('queue:expired', this.onExpired);
  }

  private adopt(status: QueueStatus): void {
    if (status.concertId !== this.concertId) return;
    this.tracker.reset(status);
    if (status.status === 'ACTIVE' && status.expiresAt !== undefined) this.admit(status.expiresAt);
    if (status.status === 'EXPIRED') this.end('TIMEOUT');
  }

  private admit(expiresAt: string): void {
    this.expiresAt ??= expiresAt;
    this.notify();
  }

  private end(reason: ExpiryReason): void {
    this.expired ??= reason;
    this.notify();
  }

  private notify(): void {
    for (const f of [...this.changed]) f();
  }

  private readonly onTick = (t: QueueTick): void => {
    if (t.concertId !== this.concertId) return;
    // Before the join's answer the tracker keeps ticks and replays them on the first status.
    if (this.tracker.onTick(t) === 'gap' && this.queueToken) void this.resync().catch(() => undefined);
  };

  private readonly onStatus = (s: QueueStatus): void => this.adopt(s);

  private readonly onAdmitted = (e: { concertId: number; expiresAt: string }): void => {
    if (e.concertId === this.concertId) this.admit(e.expiresAt);
  };

  private readonly onExpired = (e: { concertId: number; reason: ExpiryReason }): void => {
    if (e.concertId === this.concertId) this.end(e.reason);
  };
}
