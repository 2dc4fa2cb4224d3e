import { createMetrics } from '../../src/metrics';
import { createLogger } from '../../src/logger';
import { MemoryQueueStore } from '../../src/rooms/queue/memory-queue-store';
import type { Push } from '../../src/rooms/push';
import { WaitingRoom } from '../../src/rooms/queue/waiting-room';
import { systemClock } from '../../src/timers/clock';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

function room(store: MemoryQueueStore) {
  const sent: { to: string; event: string; payload: unknown }[] = [];
  const push: Push = {
    toUser: (id, event, ...args) => void sent.push({ to: `user:${id}`, event, payload: args[0] }),
    toDate: (id, event, ...args) => void sent.push({ to: `date:${id}`, event, payload: args[0] }),
    toQueue: (id, event, ...args) => void sent.push({ to: `queue:${id}`, event, payload: args[0] }),
  };
  const left: number[] = [];
  const waitingRoom = new WaitingRoom(1, {
    store,
    push,
    log: createLogger('silent'),
    metrics: createMetrics(),
    clock: systemClock,
    intervalMs: 100,
    params: { intervalMs: 100, idleMs: 60_000, leaseMs: 1000, limit: 100 },
    sale: async () => ({ opensAt: new Date(0).toISOString(), admitPerTick: 1, maxActive: 1, activeTtlSeconds: 0.25, paused: false, challenge: 'off' as const }),
    leaveBroadcast: (userId) => void left.push(userId),
    onStart: () => undefined,
  });
  return { waitingRoom, sent, left };
}

describe('one concert’s admission clock', () => {
  it('admits one batch per tick, broadcasts each change once, pushes to the user, and stops when the room is empty', async () => {
    const store = new MemoryQueueStore(10);
    await store.join(1, 7, Date.now(), 100);
    await store.join(1, 8, Date.now(), 100);
    const { waitingRoom, sent, left } = room(store);
    waitingRoom.ensureTicking();
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([
      { to: 'queue:1', event: 'queue:tick', payload: expect.objectContaining({ tick: 1, admitted: 1, left: [], waiting: 1 }) },
      { to: 'user:7', event: 'queue:admitted', payload: { concertId: 1, expiresAt: expect.any(String) } },
    ]);
    expect(left).toEqual([7]);
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(200);
    expect(sent.slice(2).map((s) => [s.to, s.event])).toEqual([
      ['queue:1', 'queue:tick'],
      ['user:8', 'queue:admitted'],
      ['user:7', 'queue:expired'],
    ]);
    expect(waitingRoom.ticking).toBe(true);
    await jest.advanceTimersByTimeAsync(400);
    expect(sent.at(-1)).toEqual({ to: 'user:8', event: 'queue:expired', payload: { concertId: 1, reason: 'TIMEOUT' } });
    expect(waitingRoom.ticking).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('leaves no timer behind after close', async () => {
    const store = new MemoryQueueStore(10);
    await store.join(1, 7, Date.now(), 100);
    const { waitingRoom } = room(store);
    waitingRoom.ensureTicking();
    await jest.advanceTimersByTimeAsync(50);
    await waitingRoom.close();
    expect(waitingRoom.ticking).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });
});
