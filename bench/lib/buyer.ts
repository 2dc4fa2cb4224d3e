import type { Socket } from 'socket.io-client';
import { ack, connect, rng, sleep, type Semaphore } from './client';
import type { LoadOptions } from './options';
import { QueueEntry } from './queue-client';
import type { PhaseStats } from './stats';
import { WatchSession, type Delta, type SeatSource } from './watch';

/** What every buyer of one worker shares. */
export interface BuyerContext {
  url: string;
  runId: string;
  options: LoadOptions;
  concertId: number;
  dates: { id: number; totalSeats: number }[];
  t0: number;
  totalBuyers: number;
  connects: Semaphore;
  stopped: Promise<void>;
  isStopping(): boolean;
  /** The stats of the phase a concert or date belongs to (sale or storm). */
  statsFor(kind: 'concert' | 'date', id: number): PhaseStats;
  sale: PhaseStats;
}

type Behavior = 'pay' | 'abandon' | 'cancel';

/**
 * One simulated buyer: sign up (done by the worker), connect, join the
 * waiting room, wait for admission, watch a date, hold 1..K FREE seats
 * (a fresh pick from the live map after SEAT_UNAVAILABLE), then pay,
 * cancel or let the hold expire. It remembers what it was told, so the
 * end-of-run checks can compare the server's state with each buyer's.
 */
export class Buyer {
  socket?: Socket;
  readonly queues = new Map<number, QueueEntry>();
  readonly sessions = new Map<number, WatchSession>();
  readonly money = { charged: 0, paid: 0, refunded: 0, known: true };
  /** reservation id → the status this buyer expects it to end in. */
  readonly expected = new Map<number, string>();
  /** reservation id → expiresAt (ms) of holds left to expire. */
  private readonly abandoned = new Map<number, number>();
  readonly mismatches: string[] = [];
  outcome?: string;
  private readonly random: () => number;
  private readonly behavior: Behavior;
  private readonly refunds: boolean;
  private ops = 0;

  constructor(
    readonly g: number,
    readonly userId: number,
    private readonly token: string,
    private readonly ctx: BuyerContext,
  ) {
    const o = ctx.options;
    this.random = rng(o.seed * 1_000_003 + g);
    const r = this.random() * (o.pay + o.abandon + o.cancel);
    this.behavior = r < o.pay ? 'pay' : r < o.pay + o.abandon ? 'abandon' : 'cancel';
    this.refunds = this.random() < o.refund;
  }

  async run(): Promise<void> {
    try {
      this.outcome = await this.sale();
    } catch (err) {
      this.outcome = 'crashed';
      this.ctx.sale.count(`crash:${String(err instanceof Error ? err.message : err).slice(0, 80)}`);
    }
    this.ctx.sale.count(`outcome:${this.outcome}`);
    if (!this.ctx.options.stayWatching) await this.unwatchAll();
  }

  /** A buyer who is done closes the seat map; its socket stays connected. */
  async unwatchAll(): Promise<void> {
    for (const dateId of [...this.sessions.keys()]) {
      this.sessions.delete(dateId);
      if (this.socket?.connected) await ack(this.socket, 'seats:unwatch', { dateId }, this.ctx.options.ackTimeoutMs);
    }
  }

  private think(): Promise<void> {
    return sleep(this.random() * 2 * this.ctx.options.thinkMs);
  }

  private async sale(): Promise<string> {
    const { ctx } = this;
    const o = ctx.options;
    await sleep(ctx.t0 + (o.rampMs * this.g) / ctx.totalBuyers - Date.now());
    if (ctx.isStopping()) return 'not-started';
    let started = 0;
    // Handshake time only: the wait for a connect slot (--connect-concurrency) is not the server's.
    const c = await ctx.connects.run(() => {
      started = Date.now();
      return connect(ctx.url, this.token);
    });
    if ('error' in c) {
      ctx.sale.count(`connect-error:${c.error}`);
      return 'connect-failed';
    }
    ctx.sale.hists.connect.add(Date.now() - started);
    ctx.sale.rates.connect.mark();
    ctx.sale.count('connected');
    this.attach(c.socket);
    const q = this.queue(ctx.concertId);
    // One buyer in 20 also polls queue:status while waiting, to check the position it computes.
    const joined = await q.join(ctx.stopped, this.g % 20 === 0 ? 3000 : 0);
    if (joined !== 'ACTIVE') return joined;
    const date = ctx.dates[Math.floor(this.random() * ctx.dates.length)] ?? ctx.dates[0];
    if (!date) return 'no-date';
    const session = await this.watch(date.id, q, ctx.sale);
    if (!session) return this.leaving(q, 'watch-failed');
    await this.think();
    const held = await this.hold(session, q, ctx.sale);
    if (typeof held === 'string') return this.leaving(q, held);
    if (this.behavior === 'abandon') {
      this.expected.set(held.id, 'EXPIRED');
      this.abandoned.set(held.id, Date.parse(held.expiresAt));
      return this.leaving(q, 'abandoned');
    }
    await this.think();
    if (this.behavior === 'cancel') return this.leaving(q, (await this.cancel(held, ctx.sale)) ? 'canceled' : 'cancel-not-done');
    return this.pay(held, q);
  }

  private async leaving(q: QueueEntry, outcome: string): Promise<string> {
    if (!this.ctx.isStopping()) await q.leave();
    return outcome;
  }

  queue(concertId: number): QueueEntry {
    const o = this.ctx.options;
    const q = new QueueEntry(concertId, this.socket as Socket, this.ctx.statsFor('concert', concertId), o.activeTtlS * 1000, o.ackTimeoutMs);
    this.queues.set(concertId, q);
    return q;
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('queue:tick', (t: any) => this.queues.get(t?.concertId)?.onTick(t));
    socket.on('queue:admitted', (ev: any) => this.queues.get(ev?.concertId)?.onAdmitted(ev));
    socket.on('queue:expired', (ev: any) => this.queues.get(ev?.concertId)?.onExpired(ev));
    socket.on('seats:changed', (d: Delta) => this.onChanged(d));
    socket.on('reservation:updated', (r: any) => {
      const expiresAt = this.abandoned.get(r?.id);
      if (r?.status === 'EXPIRED') this.ctx.statsFor('date', r.dateId).rates.expiries.mark();
      if (r?.status === 'EXPIRED' && expiresAt !== undefined) {
        this.abandoned.delete(r.id);
        this.ctx.statsFor('date', r.dateId).hists.expiryLag.add(Date.now() - expiresAt);
      }
    });
    socket.on('disconnect', (reason) => {
      if (!this.ctx.isStopping()) this.ctx.sale.count(`disconnect:${reason}`);
    });
  }

  private onChanged(d: Delta): void {
    const recv = Date.now();
    const stats = this.ctx.statsFor('date', d.dateId);
    if (typeof d.at === 'number') {
      stats.hists.fanout.add(recv - d.at);
      stats.commit(d.dateId, d.version, d.at, recv);
    } else stats.count('deltas-without-at');
    const session = this.sessions.get(d.dateId);
    if (!session) return;
    const wasBroken = session.broken;
    session.onChanged(d);
    if (session.broken && !wasBroken) {
      // PROTOCOL.md: a client that sees a gap watches again for a fresh snapshot.
      const q = [...this.queues.values()].find((x) => x.admittedAt !== undefined && !x.expired);
      if (q && !this.ctx.isStopping()) void this.watch(d.dateId, q, stats);
    }
  }

  async watch(dateId: number, q: QueueEntry, stats: PhaseStats): Promise<WatchSession | undefined> {
    const session = new WatchSession(dateId, stats.order, `buyer ${this.g}`);
    this.sessions.set(dateId, session);
    const r = await ack(this.socket as Socket, 'seats:watch', { dateId, queueToken: q.token }, this.ctx.options.ackTimeoutMs);
    if (!r.ok) {
      stats.count(`seats:watch:${r.error.code}`);
      if (this.sessions.get(dateId) === session) this.sessions.delete(dateId);
      return undefined;
    }
    session.snapshot(r.data);
    return session;
  }

  /** Holds 1..K FREE seats from the live map; a fresh pick after each SEAT_UNAVAILABLE. */
  async hold(session: SeatSource, q: QueueEntry, stats: PhaseStats, maxSeats = this.ctx.options.maxSeats): Promise<any> {
    const o = this.ctx.options;
    for (let attempt = 0; attempt <= o.holdRetries; attempt++) {
      if (this.ctx.isStopping()) return 'stopped';
      let free = session.free();
      const waitUntil = Date.now() + o.soldoutWaitMs;
      // A seat freed by one delta can be taken by the next one, delivered in the same read: look again.
      while (free.length === 0) {
        const left = waitUntil - Date.now();
        if (left <= 0 || !(await session.waitForFree(left, () => this.ctx.isStopping()))) return this.ctx.isStopping() ? 'stopped' : 'sold-out';
        free = session.free();
      }
      const pick: number[] = [];
      const k = Math.min(free.length, 1 + Math.floor(this.random() * maxSeats));
      while (pick.length < k) {
        const i = Math.floor(this.random() * free.length);
        pick.push(free[i] as number);
        free.splice(i, 1);
      }
      const started = Date.now();
      const r = await ack(this.socket as Socket, 'seats:hold', { dateId: session.dateId, seatNumbers: pick.sort((a, b) => a - b), queueToken: q.token }, o.ackTimeoutMs);
      const ms = Date.now() - started;
      stats.hists.hold.add(ms);
      stats.rates.holdAttempts.mark();
      if (r.ok) {
        stats.hists.holdOk.add(ms);
        stats.rates.holds.mark();
        stats.count('holds');
        stats.count('seats-held', pick.length);
        this.expected.set(r.data.id, 'HELD');
        return r.data;
      }
      stats.count(`seats:hold:${r.error.code}`);
      if (r.error.code === 'SEAT_UNAVAILABLE') {
        const taken: unknown = r.error.details?.seatNumbers;
        for (const n of Array.isArray(taken) ? (taken as number[]) : pick) session.avoid.add(n);
        // A person clicks again after a moment, not in the same millisecond.
        await sleep(this.random() * this.ctx.options.thinkMs * 0.5);
      } else if (r.error.code === 'RATE_LIMITED') await sleep(200);
      else return `hold-${r.error.code}`;
    }
    return 'hold-gave-up';
  }

  async cancel(reservation: any, stats: PhaseStats): Promise<boolean> {
    const started = Date.now();
    const r = await ack(this.socket as Socket, 'reservation:cancel', { reservationId: reservation.id }, this.ctx.options.ackTimeoutMs);
    stats.hists.cancel.add(Date.now() - started);
    if (!r.ok) {
      stats.count(`reservation:cancel:${r.error.code}`);
      // Timed out: may or may not have happened; refused: the hold lapsed or was paid meanwhile.
      this.expected.delete(reservation.id);
      if (r.error.code === 'ACK_TIMEOUT' || r.error.code === 'INTERNAL') this.money.known = false;
      return false;
    }
    stats.rates.cancels.mark();
    // Cancel is idempotent: a hold that lapsed meanwhile is answered as it is (EXPIRED).
    const status = String(r.data?.status ?? 'CANCELED');
    if (status !== 'CANCELED') stats.count(`cancel-answered-${status}`);
    const wasPaid = reservation.status === 'CONFIRMED' || this.expected.get(reservation.id) === 'CONFIRMED';
    if (status === 'CANCELED' && wasPaid) this.money.refunded += reservation.total;
    this.expected.set(reservation.id, status);
    return status === 'CANCELED';
  }

  private checkBalance(balance: unknown): void {
    if (typeof balance !== 'number' || !this.money.known) return;
    const m = this.money;
    const expected = m.charged - m.paid + m.refunded;
    if (balance !== expected && this.mismatches.length < 3) this.mismatches.push(`buyer ${this.g}: balance ${balance}, expected ${expected}`);
  }

  private async pay(held: any, q: QueueEntry): Promise<string> {
    const { ctx } = this;
    const o = ctx.options;
    const stats = ctx.sale;
    const amount = held.total + (this.random() < 0.3 ? 1000 : 0);
    let started = Date.now();
    const charged = await ack(this.socket as Socket, 'wallet:charge', { amount, idempotencyKey: `${ctx.runId}-c${this.g}-${++this.ops}` }, o.ackTimeoutMs);
    stats.hists.charge.add(Date.now() - started);
    if (!charged.ok) {
      stats.count(`wallet:charge:${charged.error.code}`);
      if (charged.error.code === 'ACK_TIMEOUT' || charged.error.code === 'INTERNAL') this.money.known = false;
      return this.leaving(q, `charge-${charged.error.code}`);
    }
    this.money.charged += amount;
    this.checkBalance(charged.data.balance);
    await this.think();
    started = Date.now();
    const paid = await ack(this.socket as Socket, 'payment:pay', { reservationId: held.id, queueToken: q.token, idempotencyKey: `${ctx.runId}-p${this.g}-${++this.ops}` }, o.ackTimeoutMs);
    stats.hists.pay.add(Date.now() - started);
    if (!paid.ok) {
      stats.count(`payment:pay:${paid.error.code}`);
      if (paid.error.code === 'RESERVATION_NOT_PAYABLE') {
        this.expected.set(held.id, 'EXPIRED');
        return this.leaving(q, 'pay-too-late');
      }
      if (paid.error.code === 'ACK_TIMEOUT' || paid.error.code === 'INTERNAL') {
        this.money.known = false;
        this.expected.delete(held.id);
      }
      return this.leaving(q, `pay-${paid.error.code}`);
    }
    stats.rates.payments.mark();
    this.money.paid += paid.data.payment.amount;
    this.expected.set(held.id, 'CONFIRMED');
    this.checkBalance(paid.data.balance);
    if (!this.refunds) return 'paid';
    await this.think();
    return (await this.cancel({ ...held, status: 'CONFIRMED' }, stats)) ? 'refunded' : 'refund-not-done';
  }
}
