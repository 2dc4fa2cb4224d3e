import { AppError, notFound } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { FenceError, StaleStateError, type BatchInput, type BatchResult, type LoadedDate, type LoadedReservation } from '../../src/models/reservation-repository';
import type { ReservationStatus } from '../../src/protocol/events';
import type { Push } from '../../src/rooms/push';
import { DateRoom } from '../../src/rooms/date/date-room';
import type { DateRoomStore } from '../../src/rooms/date/date-room-store';
import { RoomClosedError } from '../../src/rooms/date/group-commit';
import { systemClock } from '../../src/timers/clock';

const T0 = Date.parse('2030-03-01T10:00:00.000Z');
const TTL = 60_000;
const DATE_ID = 11;
const CONCERT_ID = 3;
const PRICE = 100;

type StoredReservation = Omit<LoadedReservation, 'status'> & { status: ReservationStatus };

/**
 * The database as the room sees it, in memory: a batch lands whole or not at
 * all, with the same refusals as tix_commit_batch (a stale status, a short
 * balance), and it can be paused or told to fail the next commit.
 */
class MemoryStore implements DateRoomStore {
  version = 7;
  readonly reservations = new Map<number, StoredReservation>();
  readonly balances = new Map<number, number>([[1, 1000], [2, 1000], [3, 1000]]);
  /** Every batch the room sent, and whether it landed. */
  readonly attempts: { batch: BatchInput; landed: boolean }[] = [];
  private nextId = 1;
  private nextPaymentId = 1;
  private readonly failures: Error[] = [];
  private gate: Promise<void> = Promise.resolve();

  failNext(err: Error): void {
    this.failures.push(err);
  }

  /** Commits wait until the returned function is called. */
  pause(): () => void {
    let release = (): void => undefined;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => release();
  }

  statusOf = (id: number): ReservationStatus | undefined => this.reservations.get(id)?.status;

  async loadDate(dateId: number): Promise<LoadedDate | null> {
    if (dateId !== DATE_ID) return null;
    const seats = Array.from({ length: 6 }, (_, i) => ({ number: i + 1, grade: 'R', price: PRICE }));
    const live = [...this.reservations.values()].flatMap((r) => (r.status === 'HELD' || r.status === 'CONFIRMED' ? [{ ...r, status: r.status }] : []));
    return { id: DATE_ID, concertId: CONCERT_ID, startsAt: new Date(T0 + 24 * 3600_000), version: this.version, seats, live };
  }

  async commitBatch(batch: BatchInput): Promise<BatchResult> {
    await this.gate;
    const attempt = { batch, landed: false };
    this.attempts.push(attempt);
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    const stale = batch.transitions.find((t) => this.statusOf(t.id) !== t.prev);
    if (stale) throw new StaleStateError(`reservation ${stale.id} is not ${stale.prev}`);
    const balances = new Map(this.balances);
    const after = batch.money.map((m) => {
      const balance = balances.get(m.userId);
      if (balance === undefined) throw notFound('user');
      const next = m.kind === 'PAYMENT' ? balance - m.amount : balance + m.amount;
      if (next < 0) throw new AppError('INSUFFICIENT_BALANCE', 'balance is below the amount due', { balance, required: m.amount });
      balances.set(m.userId, next);
      return next;
    });
    // Every check passed: now the batch lands whole.
    for (const [userId, balance] of balances) this.balances.set(userId, balance);
    for (const t of batch.transitions) {
      const r = this.reservations.get(t.id) as StoredReservation;
      r.status = t.status;
      if (t.status === 'CONFIRMED') r.paidAt = t.at;
    }
    const ids = batch.inserts.map(({ seats, ...row }) => {
      const id = this.nextId++;
      this.reservations.set(id, { ...row, id, status: 'HELD', paidAt: null, seatNumbers: seats.map((s) => s.number) });
      return id;
    });
    const money = batch.money.map((m, i) => ({ balance: after[i] as number, paymentId: m.kind === 'PAYMENT' ? this.nextPaymentId++ : null }));
    this.version = batch.version;
    attempt.landed = true;
    return { ids, money };
  }
}

class RecordingPush implements Push {
  readonly toDates: { dateId: number; event: string; payload: unknown }[] = [];
  readonly toUsers: { userId: number; event: string; payload: unknown }[] = [];

  toDate(dateId: number, event: string, payload: unknown): void {
    this.toDates.push({ dateId, event, payload });
  }
  toUser(userId: number, event: string, payload: unknown): void {
    this.toUsers.push({ userId, event, payload });
  }
  toQueue(): void {}
  clear(): void {
    this.toDates.length = this.toUsers.length = 0;
  }
}

const opened: DateRoom[] = [];

async function openRoom(store: MemoryStore) {
  const push = new RecordingPush();
  const expired: number[] = [];
  const fenceLost: number[] = [];
  const room = await DateRoom.open(DATE_ID, {
    store, push, log: createLogger('silent'), holdTtlMs: TTL, maxSeatsPerUser: 4,
    clock: systemClock, // it reads jest's fake Date and timers
    onExpired: (count) => expired.push(count),
    onFenceLost: (dateId) => fenceLost.push(dateId),
  });
  if (!room) throw new Error('the date did not load');
  opened.push(room);
  return { room, push, expired, fenceLost };
}

/** Runs what was posted, without moving the clock: the mailbox starts on a setImmediate (FIFO, so before ours). */
async function flush(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await jest.advanceTimersByTimeAsync(0);
}

async function settled<T>(promise: Promise<T>): Promise<T> {
  await flush();
  return promise;
}

const seatsOf = async (room: DateRoom) => Object.fromEntries((await settled(room.snapshot())).seats.map((s) => [s.number, s.status]));

// setImmediate stays real: fake timers would start a batch posted by a timer 1 ms late (a zero delay
// inside a fake tick counts as 1 ms), while Node runs it in the same turn of the event loop.
beforeEach(() => jest.useFakeTimers({ now: T0, doNotFake: ['setImmediate'] }));
afterEach(async () => {
  const disposed = Promise.all(opened.splice(0).map((r) => r.dispose()));
  await flush();
  await disposed;
  jest.useRealTimers();
});

describe('DateRoom', () => {
  it('releases a hold at its expiresAt and not a millisecond before', async () => {
    const store = new MemoryStore();
    const { room, push, expired } = await openRoom(store);
    const held = await settled(room.hold(1, [2]));
    expect(held).toMatchObject({ status: 'HELD', expiresAt: new Date(T0 + TTL).toISOString() });
    push.clear();

    await jest.advanceTimersByTimeAsync(TTL - 1);
    expect(store.statusOf(held.id)).toBe('HELD');
    expect((await seatsOf(room))[2]).toBe('HELD');
    expect(push.toDates).toEqual([]);
    expect(expired).toEqual([]);

    await jest.advanceTimersByTimeAsync(1);
    expect(store.statusOf(held.id)).toBe('EXPIRED');
    expect(store.attempts.at(-1)?.batch.transitions).toEqual([{ id: held.id, prev: 'HELD', status: 'EXPIRED', at: new Date(T0 + TTL) }]);
    expect(await seatsOf(room)).toEqual({ 1: 'FREE', 2: 'FREE', 3: 'FREE', 4: 'FREE', 5: 'FREE', 6: 'FREE' });
    const freed = { dateId: DATE_ID, version: 9, seats: [{ number: 2, status: 'FREE' }], at: T0 + TTL };
    expect(push.toDates).toEqual([{ dateId: DATE_ID, event: 'seats:changed', payload: freed }]);
    expect(push.toUsers).toEqual([{ userId: 1, event: 'reservation:updated', payload: { ...held, status: 'EXPIRED' } }]);
    expect(expired).toEqual([1]);
    expect(room.pendingHolds).toBe(0);
  });

  it('expires, without the clock moving, a hold that lapsed while no room owned the date', async () => {
    const store = new MemoryStore();
    store.reservations.set(40, { id: 40, userId: 2, status: 'HELD', total: PRICE, expiresAt: new Date(T0 - 5), createdAt: new Date(T0 - TTL - 5), paidAt: null, seatNumbers: [4] });
    const { room, expired } = await openRoom(store);
    await flush();
    expect((await seatsOf(room))[4]).toBe('FREE');
    expect(store.statusOf(40)).toBe('EXPIRED');
    expect(expired).toEqual([1]);
  });

  describe('when a payment and the expiry of its hold land in one batch', () => {
    it.each([
      ['the payment was posted before the timer fired', 'confirm first'],
      ['the timer fired before the payment was posted', 'expiry first'],
    ])('exactly one wins, the expiry (%s)', async (_, order) => {
      const store = new MemoryStore();
      const { room, push, expired } = await openRoom(store);
      const held = await settled(room.hold(1, [1]));
      await jest.advanceTimersByTimeAsync(TTL - 1);
      push.clear();

      // A commit in flight keeps the mailbox busy, so what follows queues up into the next batch.
      const release = store.pause();
      const other = room.hold(2, [5]);
      await flush();
      const pay = () => room.confirm(1, held.id).catch((err: unknown) => err);
      const paidFirst = order === 'confirm first' ? pay() : undefined;
      await jest.advanceTimersByTimeAsync(1);
      const payment = paidFirst ?? pay();
      release();
      await flush();
      await other;

      expect(await payment).toMatchObject({ code: 'RESERVATION_NOT_PAYABLE', message: 'reservation is no longer held' });
      expect(store.statusOf(held.id)).toBe('EXPIRED');
      expect(store.balances.get(1)).toBe(1000);
      expect(store.attempts.flatMap((a) => a.batch.money)).toEqual([]);
      expect((await seatsOf(room))[1]).toBe('FREE');
      expect(push.toUsers.filter((p) => p.userId === 1)).toEqual([{ userId: 1, event: 'reservation:updated', payload: { ...held, status: 'EXPIRED' } }]);
      expect(expired).toEqual([1]);
    });

    it('a payment whose commit is already in flight when the timer fires wins, and the expiry does nothing', async () => {
      const store = new MemoryStore();
      const { room, expired } = await openRoom(store);
      const held = await settled(room.hold(1, [1]));
      await jest.advanceTimersByTimeAsync(TTL - 1);

      const release = store.pause();
      const payment = room.confirm(1, held.id);
      await flush();
      await jest.advanceTimersByTimeAsync(1);
      release();

      expect(await settled(payment)).toEqual({
        payment: { id: 1, amount: PRICE, at: new Date(T0 + TTL - 1).toISOString() },
        reservation: { ...held, status: 'CONFIRMED', paidAt: new Date(T0 + TTL - 1).toISOString() },
        balance: 1000 - PRICE,
      });
      await flush();
      expect(store.statusOf(held.id)).toBe('CONFIRMED');
      expect(store.attempts.flatMap((a) => a.batch.transitions).map((t) => t.status)).toEqual(['CONFIRMED']);
      expect((await seatsOf(room))[1]).toBe('SOLD');
      expect(expired).toEqual([]);
      expect(room.pendingHolds).toBe(0);
    });
  });

  it('when the second payment of a batch is refused, only it fails and the others commit, one version each', async () => {
    const store = new MemoryStore();
    store.balances.set(2, PRICE - 1);
    const { room, push } = await openRoom(store);
    const holds = await settled(Promise.all([room.hold(1, [1]), room.hold(2, [2]), room.hold(3, [3])]));
    const before = (await settled(room.snapshot())).version;
    push.clear();
    const attemptsBefore = store.attempts.length;

    const results = await settled(Promise.allSettled(holds.map((h, i) => room.confirm(i + 1, h.id))));

    expect(results[0]).toMatchObject({ value: { reservation: { id: holds[0]?.id, status: 'CONFIRMED' }, balance: 1000 - PRICE } });
    expect(results[1]).toMatchObject({ reason: { code: 'INSUFFICIENT_BALANCE', details: { balance: PRICE - 1, required: PRICE } } });
    expect(results[2]).toMatchObject({ value: { reservation: { id: holds[2]?.id, status: 'CONFIRMED' }, balance: 1000 - PRICE } });
    // The batch of three was tried once, refused whole, then each payment went alone.
    const tried = store.attempts.slice(attemptsBefore).map((a) => [a.batch.money.map((m) => m.userId), a.landed]);
    expect(tried).toEqual([[[1, 2, 3], false], [[1], true], [[2], false], [[3], true]]);
    expect(await seatsOf(room)).toMatchObject({ 1: 'SOLD', 2: 'HELD', 3: 'SOLD' });
    expect(store.statusOf(holds[1]?.id ?? 0)).toBe('HELD');
    expect([...store.balances]).toEqual([[1, 1000 - PRICE], [2, PRICE - 1], [3, 1000 - PRICE]]);
    expect((await settled(room.snapshot())).version).toBe(before + 2);
    expect(store.version).toBe(before + 2);
    expect(push.toDates.map((p) => p.payload)).toEqual([
      { dateId: DATE_ID, version: before + 1, seats: [{ number: 1, status: 'SOLD' }], at: T0 },
      { dateId: DATE_ID, version: before + 2, seats: [{ number: 3, status: 'SOLD' }], at: T0 },
    ]);
  });

  it('a commit refused by the fence closes the room, refuses the whole batch and reports the date once', async () => {
    const store = new MemoryStore();
    const { room, fenceLost } = await openRoom(store);
    await settled(room.hold(1, [1]));
    store.failNext(new FenceError(DATE_ID));

    const results = await settled(Promise.allSettled([room.hold(2, [2]), room.hold(3, [3])]));

    expect(results).toEqual([1, 2].map(() => ({ status: 'rejected', reason: expect.any(RoomClosedError) })));
    expect(store.attempts.filter((a) => !a.landed)).toHaveLength(1);
    expect(fenceLost).toEqual([DATE_ID]);
    expect(room.isClosed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a seat map read while a hold is being committed shows the committed map at once, and the next read shows the hold', async () => {
    const store = new MemoryStore();
    const { room } = await openRoom(store);
    const before = await settled(room.snapshot());
    const release = store.pause();
    const held = room.hold(1, [1]);
    await flush(); // applied in memory, its commit waiting

    // Answered without waiting for the commit in flight, and without what it has not committed yet.
    const during = await room.snapshot();
    expect(during).toEqual(before);
    expect(during.seats[0]?.status).toBe('FREE');

    release();
    await settled(held);
    const after = await room.snapshot();
    expect(after.version).toBe(before.version + 1);
    expect(after.seats.map((s) => s.status)).toEqual(['HELD', 'FREE', 'FREE', 'FREE', 'FREE', 'FREE']);
    expect(store.version).toBe(after.version);
  });

  it('a refused commit leaves the seat map as last committed', async () => {
    const store = new MemoryStore();
    const { room } = await openRoom(store);
    const before = await settled(room.snapshot());
    store.failNext(new AppError('INSUFFICIENT_BALANCE', 'short'));

    const refused = room.hold(1, [2]).catch((err: unknown) => err);
    await flush();
    expect(await refused).toMatchObject({ code: 'INSUFFICIENT_BALANCE' });

    expect(await room.snapshot()).toEqual(before);
    expect((await settled(room.hold(2, [2]))).seats).toEqual([{ number: 2, price: PRICE }]);
    expect((await room.snapshot()).seats[1]?.status).toBe('HELD');
  });

  it('leaves no timer after dispose, and refuses what was still queued', async () => {
    const store = new MemoryStore();
    const { room } = await openRoom(store);
    await settled(Promise.all([room.hold(1, [1]), room.hold(2, [2, 3])]));
    expect(room.pendingHolds).toBe(2);
    expect(jest.getTimerCount()).toBe(1);

    const queued = room.hold(3, [4]).catch((err: unknown) => err);
    const disposed = room.dispose();
    await flush();
    await disposed;

    expect(await queued).toBeInstanceOf(RoomClosedError);
    await expect(room.snapshot()).rejects.toBeInstanceOf(RoomClosedError);
    expect(jest.getTimerCount()).toBe(0);
  });
});
