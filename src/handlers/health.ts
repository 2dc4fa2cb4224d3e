import type { Redis } from 'ioredis';
import type { Dependencies } from '../dependencies';
import type { Database } from '../models/database';
import type { DrainGate } from './drain-gate';
import { json, type RawHandler } from './http';

export interface ProbeDeps {
  db: Database;
  redis?: Redis;
  gate: DrainGate;
  dependencies: Dependencies;
}

// A probe that hangs is an answer too: a dependency slower than this is not ready.
const PROBE_TIMEOUT_MS = 1000;

/**
 * `/health` is liveness only (the process serves HTTP), so a supervisor never
 * restarts an instance for a dependency's outage; `/ready` is readiness, for a
 * load balancer: draining, or PostgreSQL / Redis not answering, is 503.
 */
export function healthRoutes({ db, redis, gate, dependencies }: ProbeDeps): [string, RawHandler][] {
  const ping = async (): Promise<boolean> => {
    if (dependencies.down(['postgres', 'redis'])) return false;
    const checks = [db.sequelize.query('SELECT 1'), ...(redis ? [redis.ping()] : [])];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS)));
    const answered = Promise.all(checks).then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([answered, timeout]);
    clearTimeout(timer);
    return ok;
  };
  return [
    ['/health', () => json(200, { status: 'ok' })],
    [
      '/ready',
      async () => {
        if (gate.draining) return json(503, { status: 'draining' });
        return (await ping()) ? json(200, { status: 'ready' }) : json(503, { status: 'unavailable' });
      },
    ],
  ];
}
