import { QueryTypes } from 'sequelize';
import { createLogger } from '../../src/logger';
import { openDatabase, type Database } from '../../src/models/database';
import { DEFAULT_IDEMPOTENCY, IdempotencyRepository, canonicalJson, requestHash } from '../../src/models/idempotency-repository';
import { testDatabaseUrl } from '../support/env';

// The mechanism against the run's real PostgreSQL: no server, no mocks.
let db: Database;
let userId: number;
const log = createLogger('silent');

beforeAll(async () => {
  // Room for one first caller, three blocked duplicates and the test's own queries.
  db = await openDatabase(testDatabaseUrl(), 6);
  userId = (await db.models.User.create({ name: 'idempotency-unit' })).id;
});
afterAll(() => db.close());

const keyExists = async (scope: string, key: string) =>
  (await db.sequelize.query('SELECT 1 FROM idempotency_keys WHERE user_id = $1 AND scope = $2 AND key = $3', {
    type: QueryTypes.SELECT,
    bind: [userId, scope, key],
  })).length === 1;

const claimsWaitingOnLocks = async () => {
  const [row] = await db.sequelize.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO idempotency_keys%ON CONFLICT%'`,
    { type: QueryTypes.SELECT },
  );
  return row?.n ?? 0;
};

async function insertKey(scope: string, key: string, ageHours: number, request: unknown = {}, response: unknown = { stored: true }) {
  await db.sequelize.query(
    `INSERT INTO idempotency_keys (user_id, scope, key, request_hash, response, created_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, now() - make_interval(hours => $6))`,
    { bind: [userId, scope, key, requestHash(request), JSON.stringify(response), ageHours] },
  );
}

describe('request fingerprint', () => {
  it('ignores object key order and undefined properties, but not array order or values', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } })).toBe('{"a":{"d":[2,1]},"b":1}');
    expect(requestHash({ amount: 1, x: 'y' })).toBe(requestHash({ x: 'y', amount: 1 }));
    expect(requestHash({ ids: [1, 2] })).not.toBe(requestHash({ ids: [2, 1] }));
    expect(requestHash({ amount: 1 })).not.toBe(requestHash({ amount: '1' }));
    expect(canonicalJson({ at: new Date('2030-01-01T00:00:00Z') })).toBe('{"at":"2030-01-01T00:00:00.000Z"}');
    expect(canonicalJson(undefined)).toBe('null');
  });
});

describe('IdempotencyRepository.run', () => {
  it('runs once, stores the answer as JSON and hands the stored copy to the first caller too', async () => {
    const repo = new IdempotencyRepository(db.sequelize, log);
    let runs = 0;
    const work = async () => ({ n: ++runs, at: new Date('2030-01-01T00:00:00Z') });
    const first = await repo.run(userId, 'unit:json', 'k-json', { a: 1 }, work);
    expect(first).toEqual({ n: 1, at: '2030-01-01T00:00:00.000Z' });
    expect(await repo.run(userId, 'unit:json', 'k-json', { a: 1 }, work)).toEqual(first);
    expect(runs).toBe(1);
  });

  it('without a key just runs the work in a transaction, every time', async () => {
    const repo = new IdempotencyRepository(db.sequelize, log);
    let runs = 0;
    await repo.run(userId, 'unit:nokey', undefined, {}, async (t) => {
      expect(t).toBeDefined();
      return ++runs;
    });
    await repo.run(userId, 'unit:nokey', undefined, {}, async () => ++runs);
    expect(runs).toBe(2);
  });

  it('frees the key when the work throws, and rolls back what the work wrote in the transaction', async () => {
    const repo = new IdempotencyRepository(db.sequelize, log);
    const failing = repo.run(userId, 'unit:fail', 'k-fail', {}, async (t) => {
      await db.sequelize.query('UPDATE users SET name = $2 WHERE id = $1', { bind: [userId, 'changed'], transaction: t });
      throw new Error('work failed');
    });
    await expect(failing).rejects.toThrow('work failed');
    expect(await keyExists('unit:fail', 'k-fail')).toBe(false);
    expect((await db.models.User.findByPk(userId))?.name).toBe('idempotency-unit');
    expect(await repo.run(userId, 'unit:fail', 'k-fail', {}, async () => 'second try')).toBe('second try');
  });

  it('makes concurrent duplicates wait in PostgreSQL for the first and share its answer', async () => {
    const repo = new IdempotencyRepository(db.sequelize, log);
    let runs = 0;
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = repo.run(userId, 'unit:race', 'k-race', { v: 1 }, async () => {
      entered();
      await gate;
      return { run: ++runs };
    });
    await inside;
    const duplicates = [1, 2, 3].map(() => repo.run(userId, 'unit:race', 'k-race', { v: 1 }, async () => ({ run: ++runs })));
    // Release only once all three are blocked on the key's unique index: a condition, not a sleep.
    const deadline = Date.now() + 20_000;
    while ((await claimsWaitingOnLocks()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await claimsWaitingOnLocks()).toBe(3);
    release();
    expect(await Promise.all([first, ...duplicates])).toEqual([1, 2, 3, 4].map(() => ({ run: 1 })));
    expect(runs).toBe(1);
  });

  it('answers IDEMPOTENCY_CONFLICT for the same key with another request or under another scope', async () => {
    const repo = new IdempotencyRepository(db.sequelize, log);
    expect(await repo.run(userId, 'unit:scope-a', 'k-scope', { v: 1 }, async () => 'a')).toBe('a');
    await expect(repo.run(userId, 'unit:scope-a', 'k-scope', { v: 2 }, async () => 'x')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    await expect(repo.run(userId, 'unit:scope-b', 'k-scope', { v: 1 }, async () => 'b')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    expect(await repo.run(userId, 'unit:scope-a', 'k-scope', { v: 1 }, async () => 'again')).toBe('a');
  });

  it('gives a key to one of two concurrent commands: the other gets IDEMPOTENCY_CONFLICT', async () => {
    const repo = new IdempotencyRepository(db.sequelize, log);
    let runs = 0;
    const outcomes = await Promise.allSettled(
      ['unit:charge', 'unit:pay', 'unit:charge', 'unit:pay'].map((scope) => repo.run(userId, scope, 'k-cross', {}, async () => ({ scope, run: ++runs }))),
    );
    expect(runs).toBe(1);
    const won = outcomes.find((o) => o.status === 'fulfilled');
    const winner = won?.status === 'fulfilled' ? won.value.scope : undefined;
    outcomes.forEach((o, i) => {
      const scope = i % 2 === 0 ? 'unit:charge' : 'unit:pay';
      if (scope === winner) expect(o).toEqual({ status: 'fulfilled', value: { scope: winner, run: 1 } });
      else expect(o).toMatchObject({ status: 'rejected', reason: { code: 'IDEMPOTENCY_CONFLICT' } });
    });
  });

  it('answers NOT_FOUND for a user the database does not have', async () => {
    const repo = new IdempotencyRepository(db.sequelize, log);
    await expect(repo.run(2_000_000_000, 'unit:ghost', 'k-ghost', {}, async () => 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('retention', () => {
  it('still answers a 23-hour-old key from its stored answer', async () => {
    await insertKey('unit:kept', 'k-kept', 23, { v: 1 }, { stored: 'yes' });
    const repo = new IdempotencyRepository(db.sequelize, log);
    expect(await repo.run(userId, 'unit:kept', 'k-kept', { v: 1 }, async () => ({ stored: 'no' }))).toEqual({ stored: 'yes' });
  });

  it('purges keys past 24 hours on the first keyed call, then at most once per interval', async () => {
    await insertKey('unit:purge', 'old-1', 25);
    await insertKey('unit:purge', 'recent', 23);
    const repo = new IdempotencyRepository(db.sequelize, log, { ...DEFAULT_IDEMPOTENCY, purgeEveryMs: 3_600_000 });
    await repo.run(userId, 'unit:purge', 'trigger-1', {}, async () => 1);
    expect(await keyExists('unit:purge', 'old-1')).toBe(false);
    expect(await keyExists('unit:purge', 'recent')).toBe(true);
    await insertKey('unit:purge', 'old-2', 25);
    await repo.run(userId, 'unit:purge', 'trigger-2', {}, async () => 2);
    expect(await keyExists('unit:purge', 'old-2')).toBe(true);
    expect(await repo.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await keyExists('unit:purge', 'old-2')).toBe(false);
  });

  it('purges in bounded batches', async () => {
    for (let i = 0; i < 5; i++) await insertKey('unit:batch', `batch-${i}`, 30);
    const repo = new IdempotencyRepository(db.sequelize, log, { ...DEFAULT_IDEMPOTENCY, purgeBatch: 2 });
    expect(await repo.purgeExpired()).toBe(2);
    let rounds = 1;
    while ((await repo.purgeExpired()) > 0) rounds++;
    expect(rounds).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < 5; i++) expect(await keyExists('unit:batch', `batch-${i}`)).toBe(false);
  });
});

describe('work that commits elsewhere (runOutside)', () => {
  const repo = () => new IdempotencyRepository(db.sequelize, log);

  it('runs the work once for concurrent repeats, holding no connection while it runs, and all get its answer', async () => {
    const keys = repo();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const work = async () => {
      runs++;
      await gate;
      return { paid: runs };
    };
    // Eight callers on a pool of six: were a connection held across the work, they could not all be waiting at once.
    const calls = Array.from({ length: 8 }, () => keys.runOutside(userId, 'payment:pay', 'outside-1', { reservationId: 1 }, work));
    await new Promise((r) => setTimeout(r, 300));
    const [idle] = await db.sequelize.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`,
      { type: QueryTypes.SELECT },
    );
    expect(idle!.n).toBe(0);
    release();
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 8 }, () => ({ paid: 1 })));
    expect(runs).toBe(1);
    expect(await keys.runOutside(userId, 'payment:pay', 'outside-1', { reservationId: 1 }, work)).toEqual({ paid: 1 });
    expect(runs).toBe(1);
  });

  it('frees the key when the work fails, and refuses the key for another request or scope', async () => {
    const keys = repo();
    await expect(keys.runOutside(userId, 'payment:pay', 'outside-2', { reservationId: 2 }, async () => {
      throw new Error('room said no');
    })).rejects.toThrow('room said no');
    expect(await keyExists('payment:pay', 'outside-2')).toBe(false);
    expect(await keys.runOutside(userId, 'payment:pay', 'outside-2', { reservationId: 2 }, async () => 'ok')).toBe('ok');
    await expect(keys.runOutside(userId, 'payment:pay', 'outside-2', { reservationId: 3 }, async () => 'other')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    await expect(keys.run(userId, 'wallet:charge', 'outside-2', { reservationId: 2 }, async () => 'charge')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
  });

  it('takes over a claim left pending by a process that died while working', async () => {
    await db.sequelize.query(
      `INSERT INTO idempotency_keys (user_id, scope, key, request_hash, created_at) VALUES ($1, 'payment:pay', 'outside-3', $2, now() - interval '2 minutes')`,
      { bind: [userId, requestHash({ reservationId: 4 })] },
    );
    expect(await repo().runOutside(userId, 'payment:pay', 'outside-3', { reservationId: 4 }, async () => ({ again: true }))).toEqual({ again: true });
  });
});
