/**
 * What a budget costs a command: µs of this process's CPU and wall time per
 * Budgets.user() call, in memory and on Redis (auto-pipelined, as the app's
 * shared connection is). Run: npx tsx bench/budgets.ts [calls]
 */
import { Redis } from 'ioredis';
import { Budgets } from '../src/handlers/budgets';

async function measure(label: string, budgets: Budgets, calls: number, concurrency: number): Promise<void> {
  const users = 1000;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) await budgets.user(1 + (next++ % users)).catch(() => undefined);
    }),
  );
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(`${label.padEnd(28)} ${(wallUs / calls).toFixed(2).padStart(7)} µs wall/call  ${((cpu.user + cpu.system) / calls).toFixed(2).padStart(7)} µs CPU/call  (${calls} calls, ${concurrency} in flight)`);
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 50_000);
  const options = { perUserPerSecond: 1_000_000, perIpPerMinute: 1_000_000, prefix: `bench:budgets:${process.pid}:` };
  await measure('memory', new Budgets(options), calls, 64);
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
  await measure('redis (auto-pipelined)', new Budgets({ ...options, redis }), calls, 64);
  const keys = await redis.keys(`${options.prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
}

void main();
