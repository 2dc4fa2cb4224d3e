import type { Socket } from 'socket.io-client';
import { QueuePosition, joinQueue, type QueueStatus } from '../../src/client';
import { ack } from './client';
import type { PhaseStats } from './stats';

/**
 * One buyer's entry in one concert's waiting room, kept with the shipped
 * position function (the typed client's QueuePosition tracker): position from
 * the join/status reply, then each `queue:tick` broadcast moves it; a missed
 * tick means a `queue:status` resync. Sampled buyers also poll `queue:status`
 * and compare the server's position with the one they computed (exact positions).
 */
export class QueueEntry {
  token = '';
  admittedAt?: number;
  expired?: string;
  private readonly tracker = QueuePosition.createTracker();
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
    // Solves the door's proof of work when the sale asks for one (QUEUE_CHALLENGE=pow), as a browser would.
    const r = await joinQueue(this.socket, this.concertId, this.ackTimeoutMs).catch(() => ({ ok: false as const, error: { code: this.socket.connected ? 'ACK_TIMEOUT' : 'DISCONNECTED' } }));
    this.stats.hists.join.add(Date.now() - this.joinedAt);
    if (!r.ok) {
      this.stats.count(`queue:join:${r.error.code}`);
      return `join-${r.error.code}`;
    }
    this.token = r.data.token;
    this.tracker.reset(r.data);
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

  /** queue:status; checks the computed position when both refer to the same tick. */
  async status(): Promise<void> {
    if (!this.token || this.admittedAt !== undefined) return;
    const r = await ack(this.socket, 'queue:status', { queueToken: this.token }, this.ackTimeoutMs);
    if (!r.ok) {
      this.stats.count(`queue:status:${r.error.code}`);
      return;
    }
    if (this.admittedAt !== undefined) return;
    const status = r.data as QueueStatus;
    const mine = this.tracker.entry;
    if (status.status === 'WAITING' && mine && status.tick === mine.tick) {
      this.stats.count('position-checks');
      if (status.position !== mine.position) this.stats.count('position-mismatches');
    }
    if (!mine || status.tick >= mine.tick) this.tracker.reset(status);
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
    if (this.admittedAt !== undefined) return;
    // Before the join's answer the tracker keeps the tick and replays it on the first status.
    if (this.tracker.onTick(t) === 'gap' && this.token) {
      this.stats.count('tick-resyncs');
      void this.status();
    }
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
    this.stats.rates.admissions.mark(recv);
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
