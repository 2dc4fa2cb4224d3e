import type { Sequelize } from 'sequelize';
import { notFound } from '../../errors';
import type { Logger } from '../../logger';
import { ReservationRepository } from '../../models/reservation-repository';
import { systemClock, type Clock } from '../../timers/clock';
import { DateRoom, type DateRoomOptions } from './date-room';
import { bindStore, type DateRoomStore } from './date-room-store';
import { RoomClosedError } from './group-commit';
import { NotOwnerError, type DateLeases } from './date-leases';

export interface DateRoomRegistryOptions extends Omit<DateRoomOptions, 'log'> {
  /** The pool rooms load and commit on. */
  sequelize: Sequelize;
  /** Idle sweeps and every room's timers read this one clock. */
  clock?: Clock;
  log: Logger;
  /** A room with no command, hold or watcher for this long is unloaded. */
  idleMs: number;
  /** How many sockets watch a date on this instance. */
  watchers(dateId: number): number;
}

/**
 * Date rooms, created on first use and exactly once: concurrent first commands
 * share one load. Idle rooms are unloaded; a room that closed itself (its
 * state disagreed with the database) is reloaded by the next command.
 */
export class DateRoomRegistry {
  readonly repo: ReservationRepository;
  private readonly store: DateRoomStore;
  private readonly clock: Clock;
  private readonly rooms = new Map<number, Promise<DateRoom | null>>();
  private readonly sweeper: NodeJS.Timeout;
  private takeover?: NodeJS.Timeout;
  private ownership?: DateLeases;
  /** Dates with holds whose lease stayed free for this many sweeps though another instance is preferred. */
  private readonly unclaimed = new Map<number, number>();

  constructor(private readonly options: DateRoomRegistryOptions) {
    this.repo = new ReservationRepository(options.sequelize);
    this.store = bindStore(this.repo, options.sequelize);
    this.clock = options.clock ?? systemClock;
    this.sweeper = setInterval(() => void this.sweep(), Math.max(100, Math.floor(options.idleMs / 2)));
    this.sweeper.unref();
  }

  /** Runs `fn` on the date's room; retried on a fresh room if the room closed under it. */
  async run<T>(dateId: number, fn: (room: DateRoom) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const room = await this.get(dateId);
      try {
        return await fn(room);
      } catch (err) {
        if (!(err instanceof RoomClosedError) || attempt >= 2) throw err;
      }
    }
  }

  async get(dateId: number): Promise<DateRoom> {
    for (;;) {
      let pending = this.rooms.get(dateId);
      if (!pending) {
        const fence = this.ownership?.fence(dateId);
        if (this.ownership && fence === undefined) throw new NotOwnerError(dateId);
        pending = DateRoom.open(dateId, { ...this.options, fence, store: this.store, log: this.options.log.child({ dateId }) });
        this.rooms.set(dateId, pending);
      }
      const room = await pending.catch((err: unknown) => {
        if (this.rooms.get(dateId) === pending) this.rooms.delete(dateId);
        throw err;
      });
      if (room && !room.isClosed) return room;
      if (this.rooms.get(dateId) === pending) this.rooms.delete(dateId);
      if (!room) throw notFound('date');
    }
  }

  /**
   * With several instances, rooms live only where their lease is. From now on,
   * every second, dates with unpaid holds whose owner is gone are taken over,
   * so a dead owner's holds still expire within seconds.
   */
  startTakeovers(ownership: DateLeases): void {
    this.ownership = ownership;
    this.takeover = setInterval(() => void this.recover(), 1000);
    this.takeover.unref();
  }

  /** Opens the rooms of every date with unpaid holds (that this instance can own), so their timers run. */
  async recover(): Promise<number> {
    const dates = await this.repo.datesWithHolds().catch(() => []);
    let opened = 0;
    for (const dateId of dates) {
      if (this.rooms.has(dateId)) continue;
      try {
        if (this.ownership && !(await this.claimForRecovery(this.ownership, dateId))) continue;
        await this.get(dateId);
        opened++;
      } catch (err) {
        if (!(err instanceof NotOwnerError)) this.options.log.error({ err, dateId }, 'recovery failed');
      }
    }
    return opened;
  }

  private async claimForRecovery(ownership: DateLeases, dateId: number): Promise<boolean> {
    const claim = await ownership.acquire(dateId);
    if (claim.self || !claim.free) {
      this.unclaimed.delete(dateId);
      return claim.self;
    }
    // Its preferred owner should take it; instances can briefly disagree on who is live, so after two sweeps anyone does.
    const seen = (this.unclaimed.get(dateId) ?? 0) + 1;
    this.unclaimed.set(dateId, seen);
    if (seen < 3) return false;
    this.unclaimed.delete(dateId);
    return (await ownership.acquire(dateId, true)).self;
  }

  /** The lease is gone: close the room at once; its queued commands are re-routed by their callers. */
  evict(dateId: number): void {
    const pending = this.rooms.get(dateId);
    this.rooms.delete(dateId);
    void pending?.then((room) => room?.dispose()).catch(() => undefined);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    if (this.takeover) clearInterval(this.takeover);
    const rooms = await Promise.all([...this.rooms.values()].map((p) => p.catch(() => null)));
    this.rooms.clear();
    await Promise.all(rooms.map((r) => r?.dispose() ?? Promise.resolve()));
  }

  private async sweep(): Promise<void> {
    const now = this.clock.now();
    for (const [dateId, pending] of this.rooms) {
      const room = await pending.catch(() => null);
      if (!room) continue;
      if (room.isClosed) {
        // It closed itself after a failed commit and may own holds: reload it so their timers run.
        if (this.rooms.get(dateId) === pending) this.rooms.delete(dateId);
        void this.get(dateId).catch(() => undefined);
        continue;
      }
      const idle = now - room.lastActivity >= this.options.idleMs && room.pendingHolds === 0 && this.options.watchers(dateId) === 0;
      if (idle && this.rooms.get(dateId) === pending) {
        this.rooms.delete(dateId);
        await room.dispose();
        await this.ownership?.release(dateId);
      }
    }
  }
}
