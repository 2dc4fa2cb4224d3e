import { QueryTypes } from 'sequelize';
import { Redis } from 'ioredis';
import { createConcert, nextEvent, signup } from '../support/server';
import { buyer, hold } from '../support/buyers';
import { client, closeClients } from '../support/clients';
import { startCluster, stopCluster, type Instance } from '../support/cluster';
import { liveSeats } from '../support/db';
import { REDIS_URL, testDatabaseUrl } from '../support/env';
import { openDatabase, type Database } from '../../src/models/database';
import { checkInvariants } from '../support/invariants';
import { sleep, waitFor } from '../support/wait';
import { placeDates } from '../../src/rooms/cluster/rendezvous';

let db: Database;
let redis: Redis;
beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 4);
  redis = new Redis(REDIS_URL);
});
afterEach(closeClients);
afterAll(async () => {
  await redis.quit();
  await db.close();
});

/** A cluster admits in batches of a few per tick: admission may take longer than on one server. */
const IN_CLUSTER = { admitTimeoutMs: 30_000 };

async function ownerOf(prefix: string, dateId: number): Promise<string | undefined> {
  const value = await redis.get(`${prefix}date:${dateId}:owner`);
  return value?.split('|')[0];
}


describe('three instances on one PostgreSQL and one Redis', () => {
  let cluster: Instance[];
  beforeAll(async () => {
    cluster = await startCluster(3, { QUEUE_ADMIT_INTERVAL_MS: '100', QUEUE_ADMIT_BATCH: '3', QUEUE_MAX_ACTIVE: '100000' });
  }, 120_000);
  afterAll(async () => {
    await stopCluster(cluster);
  });

  it('a race for one seat from all three instances has exactly one winner', async () => {
    const concert = await createConcert(cluster[0]!);
    const dateId = concert.dates[0]!.id;
    const buyers = await Promise.all(Array.from({ length: 45 }, (_, i) => buyer(cluster[i % 3]!, concert.id, IN_CLUSTER)));
    const replies = await Promise.all(buyers.map((b) => hold(b, dateId, [1])));
    if (replies.some((r) => !r.ok && r.error.code === 'INTERNAL')) process.stdout.write(cluster.map((i) => i.output()).join('\n'));
    expect(replies.filter((r) => r.ok)).toHaveLength(1);
    for (const r of replies.filter((x) => !x.ok)) expect(r.error.code).toBe('SEAT_UNAVAILABLE');
    expect(await liveSeats(db, dateId)).toEqual([1]);
  }, 120_000);

  it('a hold on one instance reaches watchers on the other two as a delta', async () => {
    const concert = await createConcert(cluster[1]!);
    const dateId = concert.dates[0]!.id;
    const [holder, w1, w2] = await Promise.all([buyer(cluster[0]!, concert.id, IN_CLUSTER), buyer(cluster[1]!, concert.id, IN_CLUSTER), buyer(cluster[2]!, concert.id, IN_CLUSTER)]);
    const snapshots = await Promise.all([w1, w2].map((w) => w.socket.emitWithAck('seats:watch', { dateId, queueToken: w.queueToken })));
    const seen = [w1, w2].map((w) => nextEvent(w.socket, 'seats:changed', () => true, 10_000));
    expect((await hold(holder, dateId, [4, 5])).ok).toBe(true);
    for (const [i, delta] of (await Promise.all(seen)).entries()) {
      expect(delta).toEqual({ dateId, version: snapshots[i]!.data.version + 1, seats: [{ number: 4, status: 'HELD' }, { number: 5, status: 'HELD' }], at: expect.any(Number) });
    }
  }, 60_000);

  it('date rooms spread over the live instances, wherever the commands arrive', async () => {
    const concert = await createConcert(cluster[0]!, { dates: 30, seats: 5 });
    const b = await buyer(cluster[0]!, concert.id, IN_CLUSTER);
    for (const date of concert.dates) expect((await hold(b, date.id, [1])).ok).toBe(true);
    const prefix = await findPrefix(concert.dates[0]!.id);
    const owners = await Promise.all(concert.dates.map((d) => ownerOf(prefix, d.id)));
    const perInstance = cluster.map((i) => owners.filter((o) => o === i.id).length);
    // 30 dates by rendezvous hashing: every instance owns some (all on one would be 3 × (1/3)^29 likely).
    for (const n of perInstance) expect(n).toBeGreaterThan(0);
    expect(perInstance.reduce((s, n) => s + n, 0)).toBe(30);
  }, 60_000);

  it('a free date goes where the bounded placement of the dates on sale puts it, whichever instance the command reaches', async () => {
    const concert = await createConcert(cluster[0]!, { dates: 6, seats: 5 });
    // Each instance re-reads the dates on sale every second.
    await sleep(1500);
    const b = await buyer(cluster[1]!, concert.id, IN_CLUSTER);
    for (const date of concert.dates) expect((await hold(b, date.id, [1])).ok).toBe(true);
    const prefix = await findPrefix(concert.dates[0]!.id);
    const owners = await Promise.all(concert.dates.map((d) => ownerOf(prefix, d.id)));
    const onSale = await db.sequelize.query<{ id: number }>('SELECT id FROM concert_dates WHERE starts_at > now()', { type: QueryTypes.SELECT });
    const placed = placeDates(
      onSale.map((d) => d.id),
      cluster.map((i) => i.id),
    );
    expect(owners).toEqual(concert.dates.map((d) => placed.get(d.id)));
  }, 60_000);

  it('a command whose owner never answers gets a clear INTERNAL error and changes nothing; it succeeds once the lease is free', async () => {
    const concert = await createConcert(cluster[0]!, { dates: 2, seats: 5 });
    const [first, second] = concert.dates.map((d) => d.id) as [number, number];
    const b = await buyer(cluster[1]!, concert.id, IN_CLUSTER);
    expect((await hold(b, first, [1])).ok).toBe(true);
    const prefix = await findPrefix(first);
    // An owner that holds the lease but is not there: no instance listens on its RPC channel.
    await redis.set(`${prefix}date:${second}:owner`, 'ghost|999999', 'PX', 60_000);
    const reply = await hold(b, second, [1], 30_000);
    expect(reply).toMatchObject({ ok: false, error: { code: 'INTERNAL', message: expect.stringMatching(/does not answer/) } });
    expect(await liveSeats(db, second)).toEqual([]);
    await redis.del(`${prefix}date:${second}:owner`);
    expect((await hold(b, second, [1])).ok).toBe(true);
  }, 60_000);

  it("a watch storm at the non-owners, racing holds: every watcher's snapshot plus deltas equals the database", async () => {
    const concert = await createConcert(cluster[0]!, { seats: 400 });
    const dateId = concert.dates[0]!.id;
    const holders = await Promise.all(Array.from({ length: 6 }, (_, i) => buyer(cluster[i % 3]!, concert.id, IN_CLUSTER)));
    expect((await hold(holders[0]!, dateId, [400])).ok).toBe(true);
    const prefix = await findPrefix(dateId);
    const ownerId = await ownerOf(prefix, dateId);
    const others = cluster.filter((i) => i.id !== ownerId);
    const watchers = await Promise.all(Array.from({ length: 60 }, (_, i) => buyer(others[i % 2]!, concert.id, IN_CLUSTER)));
    const maps = watchers.map(() => ({ version: -1, seats: new Map<number, string>(), early: [] as any[], gaps: 0 }));
    watchers.forEach((w, i) =>
      w.socket.on('seats:changed', (d: any) => {
        const m = maps[i]!;
        if (m.version < 0) return void m.early.push(d);
        if (d.version <= m.version) return;
        if (d.version !== m.version + 1) m.gaps++;
        m.version = d.version;
        for (const s of d.seats) m.seats.set(s.number, s.status);
      }),
    );
    // Holds keep landing on the owner while every watcher asks for its snapshot.
    const holding = holders.map(async (h, n) => {
      for (let k = 0; k < 3; k++) expect((await hold(h, dateId, [1 + n * 3 + k])).ok).toBe(true);
    });
    await Promise.all(
      watchers.map(async (w, i) => {
        const reply = await w.socket.emitWithAck('seats:watch', { dateId, queueToken: w.queueToken });
        expect(reply.ok).toBe(true);
        const m = maps[i]!;
        for (const s of reply.data.seats) m.seats.set(s.number, s.status);
        m.version = reply.data.version;
        for (const d of m.early.filter((e) => e.version > m.version).sort((a, b) => a.version - b.version)) {
          if (d.version !== m.version + 1) m.gaps++;
          m.version = d.version;
          for (const s of d.seats) m.seats.set(s.number, s.status);
        }
      }),
    );
    await Promise.all(holding);
    const [row] = await db.sequelize.query<{ version: number }>(`SELECT version FROM concert_dates WHERE id = ${dateId}`, { type: QueryTypes.SELECT });
    await waitFor(() => maps.every((m) => m.version >= Number(row!.version)), 'every watcher to receive the last delta');
    const held = new Set(await liveSeats(db, dateId));
    expect(held.size).toBe(19);
    for (const m of maps) {
      expect(m.gaps).toBe(0);
      expect(m.version).toBe(Number(row!.version));
      for (let n = 1; n <= 400; n++) expect(m.seats.get(n)).toBe(held.has(n) ? 'HELD' : 'FREE');
    }
  }, 90_000);

  it('admission order is global: users joining on different instances are admitted in join order', async () => {
    const concert = await createConcert(cluster[2]!);
    const users = [];
    for (let i = 0; i < 9; i++) users.push(await signup(cluster[i % 3]!));
    const admittedAt = new Map<number, number>();
    const joinedSockets = await Promise.all(users.map((u, i) => client(cluster[i % 3]!, u.token)));
    joinedSockets.forEach((s, i) => s.on('queue:admitted', () => admittedAt.set(i, Date.now())));
    const tickets: number[] = [];
    for (const [i, s] of joinedSockets.entries()) {
      const joined = await s.emitWithAck('queue:join', { concertId: concert.id });
      expect(joined.ok).toBe(true);
      tickets.push(joined.data.ticket);
      if (joined.data.status === 'ACTIVE') admittedAt.set(i, Date.now());
    }
    expect(tickets).toEqual([...tickets].sort((a, b) => a - b));
    await waitFor(() => admittedAt.size === users.length, 'every user to be admitted', 20_000);
    for (let i = 0; i < users.length; i++) {
      for (let j = i + 1; j < users.length; j++) expect(admittedAt.get(i)!).toBeLessThanOrEqual(admittedAt.get(j)! + 60);
    }
  }, 60_000);
});

describe('failover', () => {
  it('kill -9 of the owner of a busy date: no acked hold or payment is lost, no seat is sold twice, its holds still expire', async () => {
    const cluster = await startCluster(3, {
      QUEUE_ADMIT_INTERVAL_MS: '50', QUEUE_ADMIT_BATCH: '1000', QUEUE_MAX_ACTIVE: '100000',
      HOLD_TTL_SECONDS: '4', DATE_LEASE_MS: '1500', MAX_SEATS_PER_USER: '4',
    });
    try {
      const concert = await createConcert(cluster[0]!, { seats: 300, price: 100 });
      const dateId = concert.dates[0]!.id;
      const buyers = await Promise.all(Array.from({ length: 30 }, (_, i) => buyer(cluster[i % 3]!, concert.id, IN_CLUSTER)));
      for (const b of buyers) expect((await b.socket.emitWithAck('wallet:charge', { amount: 10_000 })).ok).toBe(true);
      // The first hold makes some instance the owner; find and kill it mid-run.
      expect((await hold(buyers[0]!, dateId, [300])).ok).toBe(true);
      const prefix = await findPrefix(dateId);
      const ownerId = await ownerOf(prefix, dateId);
      const owner = cluster.find((i) => i.id === ownerId)!;
      expect(owner).toBeDefined();

      const acked: { id: number; instance: string; at: number }[] = [];
      const paid: number[] = [];
      let killedAt = Infinity;
      const stopAt = Date.now() + 9000;
      // Each buyer holds up to four seats, one every ~0.7 s; even buyers then pay for the last one.
      const run = buyers.map(async (b, n) => {
        let held = 0;
        let last: number | undefined;
        for (let seat = 1 + n * 9; Date.now() < stopAt && b.socket.connected && held < 4; seat++) {
          await sleep(500 + ((n * 97) % 400));
          const reply = await hold(b, dateId, [seat], 15_000).catch(() => undefined);
          if (!reply?.ok) continue;
          held++;
          last = reply.data.id;
          acked.push({ id: reply.data.id, instance: b.server.id, at: Date.now() });
        }
        if (n % 2 === 0 && last !== undefined && b.socket.connected) {
          const pay = await b.socket.timeout(15_000).emitWithAck('payment:pay', { reservationId: last, queueToken: b.queueToken }).catch(() => undefined);
          if (pay?.ok) paid.push(last);
        }
      });
      await sleep(1200);
      owner.child.kill('SIGKILL');
      killedAt = Date.now();
      await Promise.all(run);

      expect(acked.some((a) => a.instance !== owner.id && a.at > killedAt + 500)).toBe(true);
      const ids = acked.map((a) => a.id);
      const found = await db.sequelize.query<{ id: number; status: string }>(`SELECT id, status FROM reservations WHERE id IN (:ids)`, { replacements: { ids }, type: QueryTypes.SELECT });
      expect(found.map((r) => r.id).sort()).toEqual([...ids].sort());
      for (const id of paid) expect(found.find((r) => r.id === id)?.status).toBe('CONFIRMED');
      const live = await liveSeats(db, dateId);
      expect(new Set(live).size).toBe(live.length);

      // Every unpaid hold, including those the dead owner took, is released within a few seconds of expiresAt.
      const lastExpiry = await db.sequelize.query<{ at: Date }>(`SELECT max(expires_at) AS at FROM reservations WHERE date_id = ${dateId}`, { type: QueryTypes.SELECT });
      await sleep(Math.max(0, lastExpiry[0]!.at.getTime() - Date.now()) + 4000);
      const late = await db.sequelize.query<{ id: number; late: number | null; status: string }>(
        `SELECT id, status, extract(epoch FROM ended_at - expires_at) * 1000 AS late FROM reservations WHERE date_id = ${dateId} AND status IN ('HELD', 'EXPIRED')`,
        { type: QueryTypes.SELECT },
      );
      for (const r of late) {
        expect(r.status).toBe('EXPIRED');
        expect(Number(r.late)).toBeGreaterThanOrEqual(0);
        expect(Number(r.late)).toBeLessThan(4000);
      }
      expect(await checkInvariants(db, { concertIds: [concert.id], userIds: buyers.map((b) => b.id) })).toEqual([]);
    } finally {
      await stopCluster(cluster);
    }
  }, 180_000);

  it('an owner paused past its lease cannot write when it resumes: the fence refuses it', async () => {
    const cluster = await startCluster(2, { QUEUE_ADMIT_INTERVAL_MS: '50', QUEUE_ADMIT_BATCH: '1000', QUEUE_MAX_ACTIVE: '100000', DATE_LEASE_MS: '1000' });
    const [a, b] = cluster as [Instance, Instance];
    try {
      const concert = await createConcert(a);
      const dateId = concert.dates[0]!.id;
      const buyers = await Promise.all([buyer(a, concert.id, IN_CLUSTER), buyer(b, concert.id, IN_CLUSTER)]);
      expect((await hold(buyers[0], dateId, [1])).ok).toBe(true);
      const prefix = await findPrefix(dateId);
      // The date's preferred instance owns it; x is a buyer connected to that owner, y to the other.
      const ownerIsA = (await ownerOf(prefix, dateId)) === a.id;
      const [owner, other] = ownerIsA ? [a, b] : [b, a];
      const [x, y] = ownerIsA ? buyers : [buyers[1], buyers[0]];

      owner.child.kill('SIGSTOP');
      await sleep(2500);
      expect((await hold(y, dateId, [2])).ok).toBe(true);
      expect(await ownerOf(prefix, dateId)).toBe(other.id);
      // Sent while the owner is stopped: it reads it the moment it resumes, with its stale room still loaded.
      const late = hold(x, dateId, [3]);
      await sleep(200);
      owner.child.kill('SIGCONT');
      const reply = await late;
      expect(reply.ok).toBe(true);

      const metrics = await (await fetch(`${owner.url}/metrics`)).text();
      const fenced = Number(/tix_fence_rejections_total (\d+)/.exec(metrics)?.[1] ?? 0);
      const lost = Number(/tix_date_leases_lost_total (\d+)/.exec(metrics)?.[1] ?? 0);
      expect(fenced + lost).toBeGreaterThanOrEqual(1);
      const [fence] = await db.sequelize.query<{ owner_fence: number }>(`SELECT owner_fence FROM concert_dates WHERE id = ${dateId}`, { type: QueryTypes.SELECT });
      expect(Number(fence!.owner_fence)).toBe(Number((await redis.get(`${prefix}date:${dateId}:owner`))?.split('|')[1]));
      expect(await liveSeats(db, dateId)).toEqual([1, 2, 3]);
    } finally {
      await stopCluster(cluster);
    }
  }, 120_000);
});

/** The run's Redis prefix, found through the lease key of a date. */
async function findPrefix(dateId: number): Promise<string> {
  const keys = await redis.keys(`*date:${dateId}:owner`);
  const key = keys.find((k) => k.startsWith(process.env['TIX_TEST_REDIS_PREFIX'] ?? ''));
  if (!key) throw new Error(`no lease key for date ${dateId}`);
  return key.slice(0, key.length - `date:${dateId}:owner`.length);
}
