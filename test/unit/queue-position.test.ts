import { QueuePosition } from '../../src/client/queue-position';
import { MemoryQueueStore } from '../../src/rooms/queue/memory-queue-store';
import { toStatus } from '../../src/rooms/queue/waiting-room-registry';
import type { QueueStatus, QueueTick, Sale } from '../../src/protocol/events';

const SALE: Sale = { opensAt: '2026-01-01T00:00:00.000Z', admitPerTick: 7, maxActive: 7, activeTtlSeconds: 600, paused: false, challenge: 'off' };

const status = (over: Partial<QueueStatus> = {}): QueueStatus => ({
  concertId: 1,
  status: 'WAITING',
  ticket: 10,
  opensAt: '2026-01-01T00:00:00.000Z',
  paused: false,
  tick: 4,
  position: 6,
  waiting: 20,
  etaSeconds: 6,
  ...over,
});
const tick = (over: Partial<QueueTick> = {}): QueueTick => ({ concertId: 1, tick: 5, admitted: 2, left: [], waiting: 18, etaSecondsPerPosition: 0.5, paused: false, ...over });

describe('the shipped queue position function (public/queue-position.js)', () => {
  it('subtracts the admitted and the leavers ahead, and nothing for leavers behind', () => {
    const step = QueuePosition.applyTick(status(), tick({ left: [3, 9, 11, 40] }));
    expect(step).toEqual({ kind: 'applied', entry: { ...status(), tick: 5, position: 2, waiting: 18, etaSeconds: 1 } });
  });

  it('ignores a tick already counted and asks for a resync after a missed one', () => {
    expect(QueuePosition.applyTick(status(), tick({ tick: 4 })).kind).toBe('stale');
    expect(QueuePosition.applyTick(status(), tick({ tick: 6 }))).toEqual({ kind: 'gap', entry: status() });
  });

  it('keeps ticks that arrive before the first status and applies the newer ones on top of it', () => {
    const tracker = QueuePosition.createTracker();
    expect(tracker.onTick(tick({ tick: 4 }))).toBe('buffered');
    expect(tracker.onTick(tick({ tick: 5, admitted: 1 }))).toBe('buffered');
    tracker.reset(status());
    expect(tracker.entry).toMatchObject({ tick: 5, position: 5 });
    expect(tracker.onTick(tick({ tick: 7 }))).toBe('gap');
    tracker.reset(status({ tick: 6, position: 3 }));
    expect(tracker.entry).toMatchObject({ tick: 7, position: 1 });
    expect(tracker.onTick(tick({ tick: 8, concertId: 2 }))).toBe('ignored');
  });

  it('tracks every waiter exactly through many ticks with leavers in the middle (in-process store)', async () => {
    const store = new MemoryQueueStore(10);
    const C = 3;
    const trackers = new Map<number, ReturnType<typeof QueuePosition.createTracker>>();
    for (let u = 1; u <= 500; u++) {
      const r = await store.join(C, u, 0, 10_000);
      if (r.full) throw new Error('full');
      trackers.set(r.entry.ticket, QueuePosition.createTracker(toStatus(C, r.entry, false, SALE)));
    }
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 1; round <= 30; round++) {
      for (const ticket of trackers.keys()) {
        if (random() < 0.03) {
          await store.end(C, ticket, 'LEFT', 0, false);
          trackers.delete(ticket);
        }
      }
      const r = await store.tick(C, { now: round * 1000, paused: false, intervalMs: 1000, batch: 7, maxActive: 7 * round, activeTtlMs: 1e9, idleMs: 1e9, leaseMs: 1000, limit: 1000 });
      const broadcast: QueueTick = { concertId: C, tick: r.tick, admitted: r.admitted.length, left: r.left, waiting: r.waiting, etaSecondsPerPosition: r.secondsPerPosition, paused: false };
      for (const a of r.admitted) trackers.delete(a.ticket);
      for (const [ticket, tracker] of trackers) {
        const before = tracker.position ?? 0;
        if (r.changed) expect(tracker.onTick(broadcast)).toBe('applied');
        const server = await store.view(C, ticket, 0);
        expect(tracker.entry).toMatchObject({ tick: server?.tick, position: server?.position });
        expect(tracker.position).toBeLessThanOrEqual(before);
      }
    }
    expect(trackers.size).toBeGreaterThan(20);
  });
});
