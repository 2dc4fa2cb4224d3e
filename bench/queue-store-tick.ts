/**
 * Admission-tick cost of the queue stores alone, by line length: the part of
 * a tick that must stay flat in the number of waiters (no sockets involved).
 */
import { Redis } from 'ioredis';
import { MemoryQueueStore } from '../src/rooms/queue/memory-queue-store';
import { RedisQueueStore } from '../src/rooms/queue/redis-queue-store';
import type { QueueStore, TickParams } from '../src/rooms/queue/queue-store';

export interface StoreTickRow {
  store: string;
  waiters: number;
  'fill ms': number;
  'tick p50 ms': number;
  'tick p99 ms': number;
  'status p50 ms': number;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};
const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** `ticks` ticks admitting `batch` each, with `leavers` waiters from the middle ending before each tick. */
export async function storeTickCost(kind: 'memory' | 'redis', waiters: number, ticks = 50, batch = 50, leavers = 10): Promise<StoreTickRow> {
  const redis = kind === 'redis' ? new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379') : undefined;
  const prefix = `tix-bench-${process.pid}-${Date.now()}:`;
  const store: QueueStore = redis ? new RedisQueueStore(redis, prefix, 50) : new MemoryQueueStore(50);
  const concertId = 1;
  try {
    const fillStart = performance.now();
    for (let from = 1; from <= waiters; from += 1000) {
      const users = Array.from({ length: Math.min(1000, waiters - from + 1) }, (_, i) => from + i);
      await Promise.all(users.map((u) => store.join(concertId, u, 0, waiters + 1)));
    }
    const fillMs = performance.now() - fillStart;
    const params: TickParams = { now: 0, paused: false, intervalMs: 1000, batch, maxActive: 1e9, activeTtlMs: 1e12, idleMs: 1e12, leaseMs: 60_000, limit: 1000 };
    const tickMs: number[] = [];
    const statusMs: number[] = [];
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 1; i <= ticks; i++) {
      for (let j = 0; j < leavers; j++) await store.end(concertId, Math.floor(waiters / 4 + random() * (waiters / 2)), 'LEFT', i * 1000, false);
      const t0 = performance.now();
      await store.tick(concertId, { ...params, now: i * 1000 });
      tickMs.push(performance.now() - t0);
      const s0 = performance.now();
      await store.view(concertId, waiters, i * 1000);
      statusMs.push(performance.now() - s0);
    }
    return {
      store: kind === 'memory' ? 'in-process' : 'redis',
      waiters,
      'fill ms': Math.round(fillMs),
      'tick p50 ms': round(quantile(tickMs, 0.5)),
      'tick p99 ms': round(quantile(tickMs, 0.99)),
      'status p50 ms': round(quantile(statusMs, 0.5)),
    };
  } finally {
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  }
}
