/**
 * PostgreSQL's side of one hot date's group commit (issue 21):
 *
 *   npx tsx bench/commit-batch.ts [--rows 46] [--iters 400] [--sync on|off] [--without-fks]
 *
 * A fresh database, migrated, with one date of 100,000 seats that already saw
 * 25,000 holds (canceled), as a storm leaves it. Then, from one connection,
 * `iters` statements of `SELECT tix_commit_batch($1)` as the room sends them
 * in a hold storm: each cancels the previous statement's `rows` holds and
 * inserts `rows` new one-seat holds. Reports the statement's wall time and
 * the backend's own CPU per statement (its /proc entry), so the function's
 * cost is read apart from the WAL flush (`--sync off` leaves the flush out)
 * and from the machine's other load. `--without-fks` drops the foreign keys
 * of reservations and reservation_seats first: what their per-row checks cost.
 */
import { Client } from 'pg';
import { openDatabase } from '../src/models/database';
import { createDatabase } from './lib/server-process';
import { processCpuUs } from './lib/proc-cpu';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const ROWS = Number(arg('rows', '46'));
const ITERS = Number(arg('iters', '400'));
const SYNC = arg('sync', 'on') === 'off' ? 'off' : 'on';
const WITHOUT_FKS = process.argv.includes('--without-fks');
const WARMUP = 20;

const SEED = `
INSERT INTO concerts (id, title, venue) VALUES (1, 'storm', 'bench');
INSERT INTO concert_dates (id, concert_id, starts_at, total_seats, version, owner_fence) VALUES (1, 1, now() + interval '1 day', 100000, 0, 7);
INSERT INTO seats (date_id, number, grade, price) SELECT 1, n, 'A', 100 FROM generate_series(1, 100000) n;
INSERT INTO users (id, name, balance) SELECT u, 'u' || u, 0 FROM generate_series(1, 300) u;
INSERT INTO reservations (user_id, date_id, concert_id, status, total, expires_at, created_at, ended_at)
  SELECT 1 + i % 300, 1, 1, 'CANCELED', 100, now(), now(), now() FROM generate_series(1, 25000) i;
INSERT INTO reservation_seats (reservation_id, date_id, seat_number, price, live)
  SELECT id, 1, 1 + id % 100000, 100, false FROM reservations;
ANALYZE;`;

const DROP_FKS = `
ALTER TABLE reservations DROP CONSTRAINT reservations_concert_id_fkey, DROP CONSTRAINT reservations_date_id_fkey, DROP CONSTRAINT reservations_user_id_fkey;
ALTER TABLE reservation_seats DROP CONSTRAINT reservation_seats_date_id_seat_number_fkey, DROP CONSTRAINT reservation_seats_reservation_id_fkey;`;

async function main(): Promise<void> {
  const db = await createDatabase();
  try {
    const migrated = await openDatabase(db.url, 2);
    await migrated.close();
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(SEED);
      if (WITHOUT_FKS) await c.query(DROP_FKS);
      await c.query(`SET synchronous_commit = ${SYNC}`);
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
      const times: number[] = [];
      let live: number[] = [];
      let cpuStart = 0;
      for (let i = 0; i < ITERS + WARMUP; i++) {
        if (i === WARMUP) cpuStart = processCpuUs(pid);
        const at = new Date().toISOString();
        const batch = {
          dateId: 1,
          concertId: 1,
          fence: 7,
          version: i + 1,
          transitions: live.map((id) => ({ id, prev: 'HELD', status: 'CANCELED', at })),
          inserts: Array.from({ length: ROWS }, (_, k) => ({
            userId: 1 + ((i * ROWS + k) % 300),
            total: 100,
            expiresAt: at,
            createdAt: at,
            seats: [{ number: 1 + ((i * ROWS + k) % 100_000), price: 100 }],
          })),
          money: [],
        };
        const started = performance.now();
        const r = await c.query<{ result: { ids: number[] } }>({ name: 'commit', text: 'SELECT tix_commit_batch($1::jsonb) AS result', values: [JSON.stringify(batch)] });
        if (i >= WARMUP) times.push(performance.now() - started);
        live = r.rows[0]?.result.ids ?? [];
      }
      const cpuMs = (processCpuUs(pid) - cpuStart) / 1000 / ITERS;
      times.sort((a, b) => a - b);
      const at = (p: number) => (times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0).toFixed(2);
      console.log(
        `${ROWS} cancels + ${ROWS} holds per statement, synchronous_commit ${SYNC}${WITHOUT_FKS ? ', without the foreign keys' : ''}, ${ITERS} statements: ` +
          `wall p50 ${at(0.5)} / p99 ${at(0.99)} ms; PostgreSQL backend CPU ${cpuMs.toFixed(2)} ms per statement (${((cpuMs * 1000) / (2 * ROWS)).toFixed(1)} µs per row)`,
      );
    } finally {
      await c.end();
    }
  } finally {
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
