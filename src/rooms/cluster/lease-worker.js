// @ts-check
'use strict';
/*
 * Renews this instance's date leases, and its entry in the live-instance set,
 * on a thread of its own. Under a sale the
 * main event loop can lag by seconds; renewals queued behind that backlog let
 * leases lapse and rooms move between live instances. This thread only renews,
 * and only while the main thread's heartbeat is fresh: a hung process must
 * still lose its dates. Plain JavaScript so that every runtime (node on dist,
 * tsx, jest) can start it as a worker without a loader.
 */
const threads = require('node:worker_threads');
const { Redis } = require('ioredis');

// KEYS: the live-instance set, then leases. ARGV: lease ms, instance id, then the expected value of each lease.
// Marks this instance alive (Redis's clock, the same for every instance) and
// returns one 1 (renewed) or 0 (no longer ours) per lease.
const RENEW_ALL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
local kept = {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i + 1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    kept[i - 1] = 1
  else
    kept[i - 1] = 0
  end
end
return kept
`;

/** @type {unknown} */
const data = threads.workerData;
const { redis: redisOptions, leaseMs, everyMs, stallMs, heartbeat, membersKey, instanceId } =
  /** @type {{ redis: import('ioredis').RedisOptions, leaseMs: number, everyMs: number, stallMs: number, heartbeat: BigInt64Array, membersKey: string, instanceId: string }} */ (data);
const port = threads.parentPort;
if (!port) throw new Error('lease-worker runs as a worker thread');

const redis = new Redis({ ...redisOptions, lazyConnect: false, maxRetriesPerRequest: 1 });
redis.on('error', () => undefined);

/** dateId → [lease key, expected value] */
/** @type {Map<number, [string, string]>} */
const held = new Map();
let busy = false;

/** @param {{ op: 'hold', dateId: number, key: string, value: string } | { op: 'drop', dateId: number } | { op: 'stop' }} msg */
function onMessage(msg) {
  if (msg.op === 'hold') held.set(msg.dateId, [msg.key, msg.value]);
  else if (msg.op === 'drop') held.delete(msg.dateId);
  else void stop();
}

async function renew() {
  if (busy) return;
  // The main thread has not beaten for a while: it is hung, so let its leases lapse.
  if (Date.now() - Number(Atomics.load(heartbeat, 0)) > stallMs) return;
  busy = true;
  const entries = [...held.entries()];
  try {
    const keys = entries.map(([, [key]]) => key);
    const values = entries.map(([, [, value]]) => value);
    const kept = /** @type {number[]} */ (await redis.eval(RENEW_ALL, keys.length + 1, membersKey, ...keys, leaseMs, instanceId, ...values));
    entries.forEach(([dateId, [, value]], i) => {
      if (kept[i] === 1 || held.get(dateId)?.[1] !== value) return;
      held.delete(dateId);
      port?.postMessage({ op: 'lost', dateId, value });
    });
  } catch (err) {
    port?.postMessage({ op: 'warn', message: err instanceof Error ? err.message : String(err) });
  } finally {
    busy = false;
  }
}

const timer = setInterval(() => void renew(), everyMs);
void renew();

async function stop() {
  clearInterval(timer);
  port?.off('message', onMessage);
  await redis.quit().catch(() => undefined);
  redis.disconnect();
}

port.on('message', onMessage);
// Acquisitions wait for this: a lease taken before the renewer runs could lapse.
port.postMessage({ op: 'ready' });
