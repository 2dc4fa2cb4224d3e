/**
 * The opening's draw at scale: `npx tsx bench/opening-draw.ts [--users 100000] [--stores durable,redis] [--detached] [--per-user]`.
 * Stores: `durable` is the default mode's (no Redis: memory written to PostgreSQL, on a scratch
 * database of the local server, dropped afterwards), `memory` the in-process store alone (what
 * the default mode was before it was durable), `redis` the shared store. With `durable` it also
 * reports when the drawn entries' rows have all moved to their tickets (in the background, `--chunk`
 * entries per write, 500 by default) and what that costs joins made meanwhile.
 * Fills a pre-queue with that many users (straight into the queue store, no sockets: one
 * process holds at most ~19,900), then does what the lease holder's tick does at the
 * opening, timed step by step: the Fisher–Yates shuffle on crypto.randomInt, the store's
 * atomic draw (durable in the store before anyone is told), and one `queue:status` push per
 * drawn user through a real socket.io server's push path (encoded and handed to the
 * adapter; no socket is connected, so no network write). With Redis the drawn are told as
 * the server tells them, one published message then the pushes; `--per-user` pushes each
 * through the sharded Redis adapter instead (a publish per user, the path before). Then the first tick after the
 * opening and a check that drawn positions are exact.
 *
 * Wall times swing with whatever else the machine runs; the CPU columns do much less: the
 * Redis server's own CPU for the draw (INFO cpu, before and after) and this process's CPU for
 * the pushes. Point REDIS_URL at a Redis of your own to keep other clients out of the figures.
 */
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { createSocketPush } from '../src/handlers/socket-push';
import type { AppServer } from '../src/handlers/socket';
import { QueryTypes } from 'sequelize';
import { createLogger } from '../src/logger';
import { openDatabase, type Database } from '../src/models/database';
import { QueueEntryRepository } from '../src/models/queue-entry-repository';
import { DurableQueueStore } from '../src/rooms/queue/durable-queue-store';
import { MemoryQueueStore } from '../src/rooms/queue/memory-queue-store';
import { systemClock } from '../src/timers/clock';
import { createDatabase } from './lib/server-process';
import { RedisQueueStore } from '../src/rooms/queue/redis-queue-store';
import type { QueueStore } from '../src/rooms/queue/queue-store';
import { shuffle } from '../src/rooms/queue/shuffle';
import { drawNews, eachDrawn, type DrawNews } from '../src/rooms/queue/draw-news';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

/** Joins after the opening, one every 5 ms while the drawn rows move: what the move costs them. */
const LATE_JOINS = 200;

/** A scratch database with one concert and `users` users (the durable store's rows reference both). */
async function durableScratch(users: number) {
  const scratch = await createDatabase();
  const db = await openDatabase(scratch.url, 4);
  const [row] = await db.sequelize.query<{ id: number }>(`INSERT INTO concerts (title, venue) VALUES ('bench', 'hall') RETURNING id`, { type: QueryTypes.SELECT });
  const ids = await db.sequelize.query<{ id: number }>(`INSERT INTO users (name) SELECT 'draw-' || g FROM generate_series(1, $1::int) g RETURNING id`, {
    type: QueryTypes.SELECT,
    bind: [users + LATE_JOINS],
  });
  const chunk = Number(arg('chunk', '500'));
  const store = new DurableQueueStore({ repository: new QueueEntryRepository(db), priorRate: 50, log: createLogger('warn'), clock: systemClock, drawChunk: chunk });
  return { db, scratch, store, concertId: (row as { id: number }).id, userIds: ids.map((r) => r.id) };
}

/** Rows still under their pre-queue key: the draw's background rewrite has not reached them yet. */
async function unrewritten(db: Database, concertId: number): Promise<number> {
  const [row] = await db.sequelize.query<{ n: number }>('SELECT count(*)::int AS n FROM queue_entries WHERE concert_id = $1 AND key < 0', { type: QueryTypes.SELECT, bind: [concertId] });
  return row?.n ?? 0;
}

async function run(kind: string, users: number, detached: boolean, perUser: boolean) {
  const redis = kind === 'redis' ? new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379') : undefined;
  const prefix = `tix-bench-draw-${process.pid}-${Date.now()}:`;
  const durable = kind === 'durable' ? await durableScratch(users) : undefined;
  const store: QueueStore = redis ? new RedisQueueStore(redis, prefix, 50) : (durable?.store ?? new MemoryQueueStore(50));
  const io: AppServer = new Server();
  const adapterClients = redis && perUser ? [redis.duplicate({ enableAutoPipelining: true }), redis.duplicate()] : [];
  if (adapterClients[0] && adapterClients[1]) io.adapter(createShardedAdapter(adapterClients[0], adapterClients[1], { subscriptionMode: 'dynamic', channelPrefix: `${prefix}sio` }));
  const push = createSocketPush(io);
  const concertId = durable?.concertId ?? 1;
  const userOf = (i: number) => durable?.userIds[i - 1] ?? i;
  // The durable store's rows carry real times; the others' clocks are the bench's own.
  const opensAt = durable ? Date.now() + 3_600_000 : 1_000_000;
  try {
    const fill0 = performance.now();
    for (let from = 1; from <= users; from += 1000) {
      const batch = Array.from({ length: Math.min(1000, users - from + 1) }, (_, i) => userOf(from + i));
      // Waiting on the page: a socket open, so not detached (--detached: joined over HTTP, no socket).
      if (!detached) await Promise.all(batch.map((userId) => store.presence(userId, 1, 1)));
      // Every real join stores the entry's queue token, which the draw moves to the ticket.
      await Promise.all(
        batch.map(async (userId) => {
          const joined = await store.join(concertId, userId, 1, users + 1, opensAt);
          if (!joined.full) await store.setToken(concertId, joined.entry.ticket, `queue-token-of-${userId}`);
        }),
      );
    }
    const fillMs = performance.now() - fill0;
    const before = await store.tick(concertId, { now: opensAt, paused: false, intervalMs: 1000, batch: 0, maxActive: 0, activeTtlMs: 600_000, idleMs: 1e12, leaseMs: 60_000, limit: 1000 });
    if (before.preQueued !== users) throw new Error(`pre-queued ${before.preQueued}, expected ${users}`);

    const redisCpu0 = redis ? await redisCpuMs(redis) : 0;
    const t0 = performance.now();
    let shuffleMs = 0;
    const drawn = await store.draw(
      concertId,
      (n) => {
        const s0 = performance.now();
        const order = shuffle(n);
        shuffleMs = performance.now() - s0;
        return order;
      },
      { now: opensAt, leaseMs: 60_000 },
    );
    const t1 = performance.now();
    const redisDrawCpu = redis ? (await redisCpuMs(redis)) - redisCpu0 : undefined;
    if (!drawn || drawn.drawn.length !== users) throw new Error('draw refused or short');
    const pushCpu0 = process.cpuUsage();
    const news = drawNews(concertId, drawn, { opensAt: new Date(opensAt).toISOString(), paused: false, admitPerTick: 50, maxActive: 200, activeTtlSeconds: 600, challenge: 'off' });
    if (redis && !perUser) {
      // The server's path with Redis (src/modules/draw-channel.ts): one message; each instance, on
      // receiving it, pushes to its own sockets. Counted here as if every drawn user were
      // connected to this one instance, the worst case for one process.
      const sub = redis.duplicate();
      await sub.subscribe(`${prefix}draw`);
      const told = new Promise<void>((resolve) =>
        sub.on('message', (_channel: string, message: string) => {
          eachDrawn(JSON.parse(message) as DrawNews, (userId, status) => push.toUser(userId, 'queue:status', status));
          resolve();
        }),
      );
      await redis.publish(`${prefix}draw`, JSON.stringify(news));
      await told;
      await sub.quit();
    } else {
      // One push per user through the adapter (--per-user with Redis: the sharded Redis adapter, a publish each).
      eachDrawn(news, (userId, status) => push.toUser(userId, 'queue:status', status));
      await redis?.ping();
    }
    const t2 = performance.now();
    const pushCpu = process.cpuUsage(pushCpu0);

    const tick0 = performance.now();
    const first = await store.tick(concertId, { now: opensAt + 1000, paused: false, intervalMs: 1000, batch: 50, maxActive: 200, activeTtlMs: 600_000, idleMs: 1e12, leaseMs: 60_000, limit: 1000 });
    const tickMs = performance.now() - tick0;
    let rewrittenMs: number | undefined;
    const lateAcks: number[] = [];
    if (durable) {
      const late = durable.userIds.slice(users).map(async (userId, i) => {
        await new Promise((r) => setTimeout(r, i * 5));
        const at = performance.now();
        await store.join(concertId, userId, opensAt + 1000, users + LATE_JOINS + 1, opensAt);
        lateAcks.push(performance.now() - at);
      });
      await durable.store.drawsWritten();
      rewrittenMs = performance.now() - t1;
      await Promise.all(late);
      if ((await unrewritten(durable.db, concertId)) > 0) throw new Error('drawn rows left under their pre-queue keys');
      lateAcks.sort((a, b) => a - b);
    }
    // Exact from the first tick: a drawn user's position minus that tick's admissions.
    for (const d of drawn.drawn.filter((_, i) => i % Math.max(1, Math.floor(users / 50)) === 0 && i >= 50)) {
      const view = await store.view(concertId, d.ticket, opensAt + 1000);
      if (view?.position !== d.position - first.admitted.length) throw new Error(`position of ticket ${d.ticket}: ${view?.position}, expected ${d.position - first.admitted.length}`);
    }
    const totalMs = t2 - t0;
    return {
      store: kind === 'memory' ? 'in-process' : kind,
      users,
      sockets: detached ? 'none' : 'open',
      told: !redis ? 'pushes' : perUser ? 'adapter, per user' : 'one message',
      'fill ms': Math.round(fillMs),
      'shuffle ms': Math.round(shuffleMs),
      'store draw ms (incl. shuffle)': Math.round(t1 - t0),
      'redis CPU ms (draw)': redisDrawCpu === undefined ? '-' : Math.round(redisDrawCpu),
      'pushes ms': Math.round(t2 - t1),
      'pushes CPU ms': Math.round((pushCpu.user + pushCpu.system) / 1000),
      'shuffled and told ms': Math.round(totalMs),
      'users/s': Math.round(users / (totalMs / 1000)),
      'first tick ms': Math.round(tickMs * 10) / 10,
      'rows moved ms (after the draw)': rewrittenMs === undefined ? '-' : Math.round(rewrittenMs),
      'late join ack p50/p99/max ms': lateAcks.length === 0 ? '-' : [0.5, 0.99, 1].map((q) => Math.round(lateAcks[Math.min(lateAcks.length - 1, Math.floor(q * lateAcks.length))] ?? 0)).join(' / '),
    };
  } finally {
    await io.close().catch(() => undefined);
    if (durable) {
      await durable.store.close();
      await durable.db.close();
      await durable.scratch.drop();
    }
    await Promise.all(adapterClients.map((c) => c.quit().catch(() => undefined)));
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  }
}

/** The Redis server's CPU time so far (user + system), from INFO cpu. */
async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 'NaN');
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

async function main() {
  const users = Number(arg('users', '100000'));
  const rows = [];
  for (const kind of arg('stores', 'durable,redis').split(',')) rows.push(await run(kind, users, process.argv.includes('--detached'), process.argv.includes('--per-user')));
  console.table(rows);
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
