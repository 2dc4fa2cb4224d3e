import type { Config } from '../../config';
import { AppError, notFound } from '../../errors';
import type { QueueStatus, Sale } from '../../protocol/events';
import type { Metrics } from '../../metrics';
import type { Tokens } from '../../tokens';
import type { Logger } from '../../logger';
import type { CatalogRepository } from '../../models/catalog-repository';
import { systemClock, type Clock } from '../../timers/clock';
import { KeyedDebounce } from '../../timers/debounce';
import { Ticker } from '../../timers/ticker';
import type { Push } from '../push';
import type { QueueGate } from './queue-gate';
import type { Challenge, QueueDoor } from './queue-door';
import type { EntryView, QueueStore } from './queue-store';
import { WaitingRoom } from './waiting-room';
import type { TellDrawn } from './draw-news';

export interface WaitingRoomRegistryDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  tokens: Tokens;
  catalog: Pick<CatalogRepository, 'hasUnsoldSeat'>;
  /** Each concert's sale settings; undefined names no concert. */
  sales: { get(concertId: number): Promise<Sale | undefined> };
  push: Push;
  store: QueueStore;
  /** Puts all the user's sockets (every instance) in the concert's tick broadcast: "everyone waiting" gets ticks. */
  joinBroadcast(userId: number, concertId: number): void;
  leaveBroadcast(userId: number, concertId: number): void;
  clock?: Clock;
  /** Proof of work and the per-address cap, for new entries. */
  door?: QueueDoor;
  /** How the opening's drawn hear of it (one push per user when not given). */
  tellDrawn?: TellDrawn;
}

/** Who knocks: what the door checks of a newcomer. */
export interface Knock {
  ip: string;
  solution?: string;
}

/**
 * Runs once the concert is known and before the entry is read: a socket that
 * joins the tick broadcast here receives every tick after the status it gets
 * (one that lands in between arrives before the ack and is already counted).
 */
export type BeforeRead = (concertId: number) => Promise<void>;

/** Seat changes come in bursts; one sold-out query per concert per this long is plenty. */
const SOLD_OUT_DEBOUNCE_MS = 250;
/** Most expiries of one kind a single tick handles; the rest wait for the next tick. */
const TICK_LIMIT = 1000;

/**
 * All waiting rooms of this instance: the queue commands, the gate the seat
 * and payment commands call, and presence (sockets keep users from idling).
 */
export class WaitingRoomRegistry implements QueueGate {
  private readonly rooms = new Map<number, WaitingRoom>();
  /** Sockets per user on this instance; the store hears only of the first and the last. */
  private readonly sockets = new Map<number, number>();
  /** Presence writes in flight: close() lets them finish before the store goes. */
  private readonly presenceWrites = new Set<Promise<void>>();
  private readonly soldOut: KeyedDebounce<number>;
  private readonly discovery: Ticker;
  private readonly clock: Clock;
  private closing = false;

  constructor(private readonly deps: WaitingRoomRegistryDeps) {
    this.clock = deps.clock ?? systemClock;
    this.soldOut = new KeyedDebounce(
      SOLD_OUT_DEBOUNCE_MS,
      (c) => this.checkSoldOut(c),
      (err, c) => deps.log.error({ err, concertId: c }, 'sold-out check failed'),
      this.clock,
    );
    // Rooms with entries made on other instances (or before a restart) need a clock here too,
    // so a live instance takes over the admissions of a dead one.
    this.discovery = new Ticker(
      Math.max(1000, 5 * deps.config.queueAdmitIntervalMs),
      () => this.discover(),
      (err) => deps.log.error({ err }, 'waiting-room discovery failed'),
      this.clock,
    );
  }

  async start(): Promise<void> {
    this.discovery.start();
    await this.discover();
  }

  async join(userId: number, concertId: number, beforeRead?: BeforeRead, knock?: Knock): Promise<{ created: boolean; status: QueueStatus }> {
    const sale = await this.sale(concertId);
    const { store, config, tokens, door } = this.deps;
    // Rejoining with a live entry passes the door freely (a reload, a second tab).
    const newcomer = door && knock && !(await this.hasLiveEntry(concertId, userId));
    if (newcomer) await door.admit(concertId, knock.ip, knock.solution, (other) => this.hasLiveEntry(concertId, other));
    await beforeRead?.(concertId);
    const result = await store.join(concertId, userId, this.clock.now(), config.queueMaxWaiting, Date.parse(sale.opensAt));
    if (result.full) {
      const retryAfter = Math.min(60, Math.max(1, Math.ceil(result.secondsPerPosition)));
      throw new AppError('QUEUE_FULL', 'the waiting room is full; try again later', { waiting: result.waiting }, retryAfter);
    }
    const entry = result.entry;
    if (newcomer && result.created) await door.entered(concertId, knock.ip, userId);
    // Concurrent first joins (tabs, transports) each sign; the store keeps the first token, so all get the same one.
    // A pre-queued entry's token names its pre-queue key, which keeps naming it after the draw.
    entry.token ??= await store.setToken(concertId, entry.ticket, tokens.signQueue({ userId, concertId, ticket: entry.ticket }));
    this.follow(userId, concertId, entry);
    return { created: result.created, status: toStatus(concertId, entry, true, sale) };
  }

  /** The challenge a newcomer must solve to join the concert's waiting room. */
  async challenge(concertId: number): Promise<Challenge> {
    if (!this.deps.door) throw notFound('challenge');
    return this.deps.door.challenge(concertId);
  }

  private async hasLiveEntry(concertId: number, userId: number): Promise<boolean> {
    const ticket = await this.deps.store.currentTicket(concertId, userId);
    if (ticket === undefined) return false;
    const entry = await this.deps.store.view(concertId, ticket, this.clock.now());
    return entry !== undefined && entry.userId === userId && entry.status !== 'EXPIRED';
  }

  async status(userId: number, queueToken: string | undefined, beforeRead?: BeforeRead): Promise<QueueStatus> {
    const { concertId, ticket } = this.deps.tokens.verifyQueue(queueToken, userId);
    // Awaited only when given: an admitted socket's poll skips it, and every await is a turn of the loop.
    if (beforeRead) await beforeRead(concertId);
    const entry = await this.deps.store.view(concertId, ticket, this.clock.now());
    if (!entry || entry.userId !== userId) throw new AppError('QUEUE_TOKEN_INVALID', 'queue entry no longer exists');
    this.follow(userId, concertId, entry);
    return toStatus(concertId, entry, false, await this.sale(concertId));
  }

  async leave(userId: number, queueToken: string | undefined): Promise<void> {
    const { concertId, ticket } = this.deps.tokens.verifyQueue(queueToken, userId);
    const ended = await this.deps.store.end(concertId, ticket, 'LEFT', this.clock.now(), false);
    if (ended && ended.userId === userId) this.room(concertId).ended(userId, 'LEFT');
  }

  async requireActive(userId: number, concertId: number, queueToken: string | undefined): Promise<void> {
    const claims = this.deps.tokens.verifyQueue(queueToken, userId);
    if (claims.concertId !== concertId) throw new AppError('QUEUE_TOKEN_INVALID', 'queue token is for another concert');
    const now = this.clock.now();
    const entry = await this.deps.store.view(concertId, claims.ticket, now);
    if (!entry || entry.userId !== userId || entry.status === 'EXPIRED') {
      throw new AppError('QUEUE_TOKEN_INVALID', 'queue entry has ended or no longer exists');
    }
    if (entry.status === 'WAITING') throw new AppError('QUEUE_NOT_ACTIVE', 'still waiting in the queue');
    // Past its TTL but not yet swept by a tick: already over for the gate.
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) throw new AppError('QUEUE_TOKEN_INVALID', 'queue entry has expired');
  }

  async releasePaid(userId: number, concertId: number): Promise<void> {
    const { store } = this.deps;
    const ticket = await store.currentTicket(concertId, userId);
    if (ticket === undefined) return;
    const ended = await store.end(concertId, ticket, 'PAID', this.clock.now(), true);
    if (ended) this.room(concertId).ended(userId, 'PAID');
  }

  seatsChanged(concertId: number): void {
    this.soldOut.trigger(concertId);
  }

  /** One of the user's connections opened on this instance: a connected user does not go idle. */
  connected(userId: number): void {
    this.presence(userId, 1);
  }

  disconnected(userId: number): void {
    this.presence(userId, -1);
  }

  async close(): Promise<void> {
    await this.discovery.stop();
    await Promise.all([...this.rooms.values()].map((r) => r.close()));
    await this.soldOut.close();
    // This instance's sockets are going: their users count as disconnected from now (another
    // instance's connect counts them back), and disconnects seen after this point change nothing.
    this.closing = true;
    const now = this.clock.now();
    const leaving = [...this.sockets.keys()].map((userId) => this.deps.store.presence(userId, -1, now).catch(() => undefined));
    this.sockets.clear();
    await Promise.all([...this.presenceWrites, ...leaving]);
    await this.deps.store.close();
  }

  /** A live entry keeps its concert's clock running; a waiting one gets the ticks on all the user's sockets. */
  private follow(userId: number, concertId: number, entry: EntryView): void {
    if (entry.status === 'EXPIRED') return;
    this.room(concertId).ensureTicking();
    if (entry.status === 'WAITING') this.deps.joinBroadcast(userId, concertId);
  }

  private presence(userId: number, delta: 1 | -1): void {
    if (this.closing) return;
    const before = this.sockets.get(userId) ?? 0;
    const after = before + delta;
    if (after > 0) this.sockets.set(userId, after);
    else this.sockets.delete(userId);
    if (before > 0 && after > 0) return;
    const write = this.deps.store
      .presence(userId, delta, this.clock.now())
      .catch((err: unknown) => this.deps.log.error({ err, userId }, 'presence update failed'))
      .finally(() => this.presenceWrites.delete(write));
    this.presenceWrites.add(write);
  }

  private room(concertId: number): WaitingRoom {
    let room = this.rooms.get(concertId);
    if (room) return room;
    const { config, store, push, log, metrics } = this.deps;
    const intervalMs = config.queueAdmitIntervalMs;
    room = new WaitingRoom(concertId, {
      store,
      push,
      metrics,
      log,
      clock: this.clock,
      intervalMs,
      sale: () => this.sale(concertId),
      params: {
        intervalMs,
        idleMs: config.queueIdleTimeoutSeconds * 1000,
        leaseMs: Math.max(3 * intervalMs, 1000),
        limit: TICK_LIMIT,
      },
      leaveBroadcast: (userId, c) => this.deps.leaveBroadcast(userId, c),
      onStart: (c) => this.seatsChanged(c),
      tellDrawn: this.deps.tellDrawn,
    });
    this.rooms.set(concertId, room);
    return room;
  }

  private sale(concertId: number): Promise<Sale> {
    return this.deps.sales.get(concertId).then(known);
  }

  private async discover(): Promise<void> {
    for (const concertId of await this.deps.store.liveConcerts()) this.room(concertId).ensureTicking();
  }

  private async checkSoldOut(concertId: number): Promise<void> {
    // Held seats may still come free: sold out means every seat of every future date is SOLD.
    const unsold = await this.deps.catalog.hasUnsoldSeat(concertId);
    if ((await this.deps.store.setSoldOut(concertId, !unsold)) && !unsold) {
      this.deps.push.toQueue(concertId, 'queue:soldout', { concertId });
    }
  }
}

function known(sale: Sale | undefined): Sale {
  if (!sale) throw notFound('concert');
  return sale;
}

export function toStatus(concertId: number, entry: EntryView, withToken: boolean, sale: Sale): QueueStatus {
  const waiting = entry.status === 'WAITING';
  const drawn = !entry.preQueued;
  const status: QueueStatus = {
    concertId,
    status: entry.status,
    ticket: drawn ? entry.ticket : null,
    opensAt: sale.opensAt,
    paused: sale.paused,
    tick: entry.tick,
    position: !waiting ? 0 : drawn ? entry.position : null,
    waiting: entry.waiting,
    etaSeconds: !waiting ? 0 : sale.paused || !drawn ? null : Math.ceil(entry.position * entry.secondsPerPosition),
  };
  if (entry.status === 'ACTIVE' && entry.expiresAt !== undefined) status.expiresAt = new Date(entry.expiresAt).toISOString();
  return withToken && entry.token !== undefined ? { token: entry.token, ...status } : status;
}
