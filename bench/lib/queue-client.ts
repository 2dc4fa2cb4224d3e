import { solveChallenge } from '../../src/client/solve-challenge';
import type { Socket } from 'socket.io-client';
import { ack } from './client';
import type { PhaseStats } from './stats';

/**
 * One buyer's entry in one concert's waiting room, following PROTOCOL.md's
 * client algorithm: position from the join/status reply, then each
 * `queue:tick` broadcast moves it; a missed tick means a `queue:status`
 * resync. Sampled buyers also poll `queue:status` and compare the server's
 * position with the one they computed (exact positions).
 */
export class QueueEntry {
  token?: string;
  ticket = 0;
  tick = -1;
  position = 0;
  admittedAt?: number;
  expired?: string;
  private pending: any[] = [];
  private wake?: (status: string) => void;
  private joinedAt = 0;

  constructor(
    readonly concertId: number,
    private readonly socket: Socket,
    private readonly stats: PhaseStats,
    private readonly activeTtlMs: number,
    private readonly ackTimeoutMs: number,
  ) {}

  /** Joins and waits for admission; resolves 'ACTIVE', 'stopped' or why not. */
  async join(stopped: Promise<void>, pollMs: number): Promise<string> {
    this.joinedAt = Date.now();
    let r = await ack(this.socket, 'queue:join', { concertId: this.concertId }, this.ackTimeoutMs);
    if (!r.ok && r.error.code === 'CHALLENGE_FAILED') {
      // The sale asks for proof of work (QUEUE_CHALLENGE=pow): solve it as a browser would, and join again.
      const c = await ack(this.socket, 'queue:challenge', { concertId: this.concertId }, this.ackTimeoutMs);
      if (c.ok) r = await ack(this.socket, 'queue:join', { concertId: this.concertId, solution: solveChallenge(c.data.challenge) }, this.ackTimeoutMs);
    }
    this.stats.hists.join.add(Date.now() - this.joinedAt);
    if (!r.ok) {
      this.stats.count(`queue:join:${r.error.code}`);
      return `join-${r.error.code}`;
    }
    this.token = r.data.token;
    this.ticket = r.data.ticket;
    this.adopt(r.data);
    for (const t of this.pending.splice(0)) this.onTick(t);
    if (r.data.status === 'ACTIVE' && this.admittedAt === undefined) this.admitted(Date.now(), undefined);
    if (this.admittedAt !== undefined) return 'ACTIVE';
    if (this.expired) return `queue-expired-${this.expired}`;
    this.stats.count('waited');
    return new Promise<string>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (s: string) => {
        if (timer) clearTimeout(timer);
        this.wake = undefined;
        resolve(s);
      };
      this.wake = done;
      void stopped.then(() => done('stopped'));
      if (pollMs > 0) {
        const poll = () => {
          timer = setTimeout(() => void this.status().then(() => this.wake && poll()), pollMs * (0.5 + Math.random()));
        };
        poll();
      }
    });
  }

  private adopt(status: { tick: number; position: number; status: string }): void {
    this.tick = status.tick;
    this.position = status.position;
  }

  /** queue:status; checks the computed position when both refer to the same tick. */
  async status(): Promise<void> {
    if (!this.token || this.admittedAt !== undefined) return;
    const r = await ack(this.socket, 'queue:status', { queueToken: this.token }, this.ackTimeoutMs);
    if (!r.ok) {
      this.stats.count(`queue:status:${r.error.code}`);
      return;
    }
    if (this.admittedAt !== undefined) return;
    if (r.data.status === 'WAITING' && r.data.tick === this.tick) {
      this.stats.count('position-checks');
      if (r.data.position !== this.position) this.stats.count('position-mismatches');
    }
    if (r.data.tick >= this.tick) this.adopt(r.data);
    if (r.data.status === 'ACTIVE') {
      // The push should have come; give it a moment before proceeding without it.
      setTimeout(() => {
        if (this.admittedAt === undefined) {
          this.stats.count('admitted-without-push');
          this.admitted(Date.now(), undefined);
        }
      }, 2000);
    }
  }

  onTick(t: any): void {
    const recv = Date.now();
    this.stats.tick(this.concertId, t.tick, recv);
    if (typeof t.at === 'number') this.stats.hists.tickLatency.add(recv - t.at);
    if (typeof t.waiting === 'number') this.stats.max('waiting', t.waiting);
    if (this.tick < 0) {
      this.pending.push(t);
      return;
    }
    if (t.tick <= this.tick || this.admittedAt !== undefined) return;
    if (t.tick > this.tick + 1) {
      this.stats.count('tick-resyncs');
      this.tick = t.tick;
      void this.status();
      return;
    }
    const left = Array.isArray(t.left) ? (t.left as number[]).filter((x) => x < this.ticket).length : 0;
    this.position -= (t.admitted ?? 0) + left;
    this.tick = t.tick;
  }

  onAdmitted(ev: any): void {
    if (this.admittedAt !== undefined) return;
    const recv = Date.now();
    // Server time of admission: `at` when the server sends it, else expiresAt − QUEUE_ACTIVE_TTL.
    const serverAt = typeof ev.at === 'number' ? ev.at : Date.parse(ev.expiresAt) - this.activeTtlMs;
    this.stats.count(typeof ev.at === 'number' ? 'admit-push-timestamped' : 'admit-push-derived');
    if (Number.isFinite(serverAt)) this.stats.hists.admitPush.add(recv - serverAt);
    this.admitted(recv, ev);
  }

  private admitted(recv: number, _ev: unknown): void {
    this.admittedAt = recv;
    if (this.joinedAt) this.stats.hists.joinToAdmit.add(recv - this.joinedAt);
    this.stats.count('admitted');
    this.wake?.('ACTIVE');
  }

  onExpired(ev: any): void {
    this.expired = String(ev.reason);
    this.stats.count(`queue-expired:${this.expired}`);
    if (this.admittedAt === undefined) this.wake?.(`queue-expired-${this.expired}`);
  }

  async leave(): Promise<void> {
    if (!this.token || this.expired) return;
    const r = await ack(this.socket, 'queue:leave', { queueToken: this.token }, this.ackTimeoutMs);
    if (!r.ok) this.stats.count(`queue:leave:${r.error.code}`);
    this.expired = 'LEFT';
  }
}
