import type { ExpiryReason, Sale } from '../../protocol/events';
import type { Logger } from '../../logger';
import type { Metrics } from '../../metrics';
import type { Clock } from '../../timers/clock';
import { Ticker } from '../../timers/ticker';
import type { Push } from '../push';
import type { QueueStore, TickParams } from './queue-store';
import { shuffle, type RandomInt } from './shuffle';
import { drawNews, eachDrawn, type TellDrawn } from './draw-news';

export interface WaitingRoomDeps {
  store: QueueStore;
  push: Push;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  intervalMs: number;
  /** What the sale's settings do not give. */
  params: Omit<TickParams, 'now' | 'paused' | 'batch' | 'maxActive' | 'activeTtlMs'>;
  /** The concert's sale settings as of now: read every tick, so a change applies from the next one. */
  sale(): Promise<Sale>;
  /** Takes the user's sockets out of the concert's tick broadcast (admitted or expired). */
  leaveBroadcast(userId: number, concertId: number): void;
  /** The ticker (re)started: a good moment to check for a sell-out. */
  onStart(concertId: number): void;
  /** The opening draw's randomness; crypto.randomInt unless a test seeds it. */
  random?: RandomInt;
  /** How the drawn hear of it; one push per user when not given. */
  tellDrawn?: TellDrawn;
}

/**
 * One concert's admission clock on this instance. Every instance with users
 * of the concert runs one; the store's lease lets only one of them change
 * anything per tick, and that one sends the pushes. The clock runs while the
 * concert has live entries and stops when the room is empty.
 */
export class WaitingRoom {
  private readonly ticker: Ticker;
  /** Someone joined (or asked) during the current tick: do not stop on an "empty" answer read before them. */
  private wanted = false;

  constructor(
    readonly concertId: number,
    private readonly deps: WaitingRoomDeps,
  ) {
    this.ticker = new Ticker(deps.intervalMs, () => this.tick(), (err) => deps.log.error({ err, concertId }, 'admission tick failed'), deps.clock);
  }

  get ticking(): boolean {
    return this.ticker.active;
  }

  ensureTicking(): void {
    this.wanted = true;
    if (this.ticker.active) return;
    this.ticker.start();
    this.deps.onStart(this.concertId);
  }

  /** The user's entry ended outside a tick (leave, payment): tell them and stop their ticks. */
  ended(userId: number, reason: ExpiryReason): void {
    this.deps.push.toUser(userId, 'queue:expired', { concertId: this.concertId, reason });
    this.deps.leaveBroadcast(userId, this.concertId);
    // The leaver's ticket must be announced and the slot refilled by a tick.
    this.ensureTicking();
  }

  close(): Promise<void> {
    return this.ticker.stop();
  }

  private async tick(): Promise<void> {
    this.wanted = false;
    const { store, push, metrics } = this.deps;
    const started = process.hrtime.bigint();
    const sale = await this.deps.sale();
    const r = await store.tick(this.concertId, {
      ...this.deps.params,
      now: this.deps.clock.now(),
      paused: sale.paused,
      batch: sale.paused ? 0 : sale.admitPerTick,
      maxActive: sale.maxActive,
      activeTtlMs: sale.activeTtlSeconds * 1000,
    });
    if (r.leader) {
      const concertId = this.concertId;
      if (r.changed) {
        push.toQueue(concertId, 'queue:tick', {
          concertId,
          tick: r.tick,
          admitted: r.admitted.length,
          left: r.left,
          waiting: r.waiting,
          etaSecondsPerPosition: sale.paused ? null : r.secondsPerPosition,
          paused: sale.paused,
        });
      }
      for (const a of r.admitted) {
        push.toUser(a.userId, 'queue:admitted', { concertId, expiresAt: new Date(a.expiresAt).toISOString() });
        this.deps.leaveBroadcast(a.userId, concertId);
      }
      for (const e of r.expired) {
        push.toUser(e.userId, 'queue:expired', { concertId, reason: e.reason });
        this.deps.leaveBroadcast(e.userId, concertId);
      }
      metrics.queueAdmitted.inc(r.admitted.length);
      metrics.queueTickDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
    if (r.leader && r.preQueued > 0 && this.deps.clock.now() >= Date.parse(sale.opensAt)) await this.draw(sale);
    if (r.empty && !this.wanted) void this.ticker.stop();
  }

  /**
   * The opening: one shuffle of those who joined before it, stored (atomically, by the lease
   * holder) before anyone hears of it; then each drawn user is told their ticket and position.
   * A store that refuses (lease lost, or a join raced the count) is asked again next tick.
   */
  private async draw(sale: Sale): Promise<void> {
    const { store, push, metrics, params } = this.deps;
    const r = await store.draw(this.concertId, (early) => shuffle(early, this.deps.random), { now: this.deps.clock.now(), leaseMs: params.leaseMs });
    if (!r) return;
    metrics.queueDraws.inc();
    metrics.queueDrawn.inc(r.drawn.length);
    const news = drawNews(this.concertId, r, sale);
    if (this.deps.tellDrawn) this.deps.tellDrawn(news);
    else eachDrawn(news, (userId, status) => push.toUser(userId, 'queue:status', status));
  }
}
