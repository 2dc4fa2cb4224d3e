import { QueryTypes } from 'sequelize';
import { loadConfig } from '../../src/config';
import type { Command } from '../../src/handlers/command';
import { createWallet } from '../../src/handlers/wallet';
import { createLogger } from '../../src/logger';
import { openDatabase, type Database } from '../../src/models/database';
import { DEFAULT_IDEMPOTENCY, IdempotencyRepository, canonicalJson, requestHash } from '../../src/models/idempotency-repository';
import { testDatabaseUrl } from '../support/env';

// The mechanism against the run's real PostgreSQL: no server, no mocks.
let db: Database;
let userId: number;
const log = createLogger('silent');

beforeAll(async () => {
  // Room for the lock holder, four blocked charges and the test's own queries.
  db = await openDatabase(testDatabaseUrl(), 8);
  userId = (await db.models.User.create({ name: 'idempotency-unit' })).id;
});
afterAll(() => db.close());

const keyExists = async (scope: string, key: string) =>
  (await db.sequelize.query('SELECT 1 FROM idempotency_keys WHERE user_id = $1 AND scope = $2 AND key = $3', {
    type: QueryTypes.SELECT,
    bind: [userId, scope, key],
  })).length === 1;

const chargesWaitingOnLocks = async () => {
  const [row] = await db.sequelize.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT tix_charge%'`,
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

/** wallet:charge as the app runs it: the claim, the charge and the answer in one statement (tix_charge). */
const wallet = () => createWallet({ config: loadConfig({ WALLET_MAX_CHARGE: '100000', WALLET_MAX_BALANCE: '1000000' }), db, log });
async function charge(amount: number, key?: string, user = userId, module = wallet()): Promise<unknown> {
  const command = module.commands.find((c) => c.name === 'wallet:charge') as Command;
  const input = key === undefined ? { amount } : { amount, idempotencyKey: key };
  if (!command.validate(input)) throw new Error('invalid charge in the test');
  return command.run(input, { userId: user, ip: '127.0.0.1' });
}
const balance = async () => (await db.models.User.findByPk(userId))?.balance;
const ledgerRows = async () =>
  (await db.sequelize.query<{ n: number }>('SELECT count(*)::int AS n FROM wallet_ledger WHERE user_id = $1', { type: QueryTypes.SELECT, bind: [userId] }))[0]?.n;

describe('keyed charges (tix_charge)', () => {
  it('charges once per key and hands every repeat the stored answer', async () => {
    const [before, rows] = [await balance(), await ledgerRows()];
    const first = await charge(10, 'k-once');
    expect(first).toEqual({ balance: Number(before) + 10 });
    expect(await charge(10, 'k-once')).toEqual(first);
    expect([await balance(), await ledgerRows()]).toEqual([Number(before) + 10, Number(rows) + 1]);
  });

  it('without a key charges every time', async () => {
    const before = Number(await balance());
    await charge(1);
    await charge(1);
    expect(await balance()).toBe(before + 2);
  });

  it('frees the key when the charge is refused (over the cap), and changes nothing', async () => {
    const [before, rows] = [await balance(), await ledgerRows()];
    const capped = createWallet({ config: loadConfig({ WALLET_MAX_CHARGE: '100000', WALLET_MAX_BALANCE: String(Number(before) + 5) }), db, log });
    await expect(charge(6, 'k-fail', userId, capped)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { balance: before } });
    expect(await keyExists('wallet:charge', 'k-fail')).toBe(false);
    expect([await balance(), await ledgerRows()]).toEqual([before, rows]);
    expect(await charge(5, 'k-fail', userId, capped)).toEqual({ balance: Number(before) + 5 });
  });

  it('makes concurrent duplicates wait in PostgreSQL for the first and share its answer', async () => {
    const before = Number(await balance());
    // The first charge claims the key, then waits for the user's row, which the test holds locked.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const rowLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = db.sequelize.transaction(async (t) => {
      await db.sequelize.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', { bind: [userId], transaction: t });
      locked();
      await gate;
    });
    // The charges go out only once the row is locked: sent earlier, the first could commit before the lock.
    await rowLocked;
    const calls = [1, 2, 3, 4].map(() => charge(7, 'k-race'));
    try {
      // Release only once all four are blocked (one on the row, three on the key's unique index): a condition, not a sleep.
      const deadline = Date.now() + 20_000;
      while ((await chargesWaitingOnLocks()) < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await chargesWaitingOnLocks()).toBe(4);
    } finally {
      // Even when the expectation fails: a lock left held would stall every later test on this user.
      release();
      await holding;
    }
    expect(await Promise.all(calls)).toEqual([1, 2, 3, 4].map(() => ({ balance: before + 7 })));
    expect(await balance()).toBe(before + 7);
  });

  it('answers IDEMPOTENCY_CONFLICT for the same key with another request or under another scope', async () => {
    const first = await charge(3, 'k-scope');
    await expect(charge(4, 'k-scope')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    const keys = new IdempotencyRepository(db.sequelize, log, db.owner);
    await expect(keys.runOnce(userId, 'payment:pay', 'k-scope', { amount: 3 }, async () => 'paid')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    expect(await charge(3, 'k-scope')).toEqual(first);
  });

  it('gives a key to one of two concurrent commands: the other gets IDEMPOTENCY_CONFLICT', async () => {
    const keys = new IdempotencyRepository(db.sequelize, log, db.owner);
    let pays = 0;
    const outcomes = await Promise.allSettled(
      ['charge', 'pay', 'charge', 'pay'].map((kind) =>
        kind === 'charge' ? charge(2, 'k-cross') : keys.runOnce(userId, 'payment:pay', 'k-cross', { amount: 2 }, async () => ({ pay: ++pays })),
      ),
    );
    const won = outcomes.findIndex((o) => o.status === 'fulfilled');
    expect(won).toBeGreaterThanOrEqual(0);
    outcomes.forEach((o, i) => {
      if (i % 2 === won % 2) expect(o).toEqual(outcomes[won]);
      else expect(o).toMatchObject({ status: 'rejected', reason: { code: 'IDEMPOTENCY_CONFLICT' } });
    });
    expect(pays).toBe(won % 2 === 1 ? 1 : 0);
  });

  it('answers NOT_FOUND for a user the database does not have, with or without a key', async () => {
    await expect(charge(1, 'k-ghost', 2_000_000_000)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(charge(1, undefined, 2_000_000_000)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('retention', () => {
  it('still answers a 23-hour-old key from its stored answer', async () => {
    await insertKey('wallet:charge', 'k-kept', 23, { amount: 9 }, { balance: -1 });
    expect(await charge(9, 'k-kept')).toEqual({ balance: -1 });
  });

  it('purges keys past 24 hours on the first keyed call, then at most once per interval', async () => {
    await insertKey('unit:purge', 'old-1', 25);
    await insertKey('unit:purge', 'recent', 23);
    const repo = new IdempotencyRepository(db.sequelize, log, db.owner, { ...DEFAULT_IDEMPOTENCY, purgeEveryMs: 3_600_000 });
    await repo.runOnce(userId, 'unit:purge', 'trigger-1', {}, async () => 1);
    expect(await keyExists('unit:purge', 'old-1')).toBe(false);
    expect(await keyExists('unit:purge', 'recent')).toBe(true);
    await insertKey('unit:purge', 'old-2', 25);
    await repo.runOnce(userId, 'unit:purge', 'trigger-2', {}, async () => 2);
    expect(await keyExists('unit:purge', 'old-2')).toBe(true);
    expect(await repo.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await keyExists('unit:purge', 'old-2')).toBe(false);
  });

  it('purges in bounded batches', async () => {
    for (let i = 0; i < 5; i++) await insertKey('unit:batch', `batch-${i}`, 30);
    const repo = new IdempotencyRepository(db.sequelize, log, db.owner, { ...DEFAULT_IDEMPOTENCY, purgeBatch: 2 });
    expect(await repo.purgeExpired()).toBe(2);
    let rounds = 1;
    while ((await repo.purgeExpired()) > 0) rounds++;
    expect(rounds).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < 5; i++) expect(await keyExists('unit:batch', `batch-${i}`)).toBe(false);
  });
});

describe('work that commits elsewhere (runOnce)', () => {
  const repo = () => new IdempotencyRepository(db.sequelize, log, db.owner);

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
    // Ten callers on a pool of eight: were a connection held across the work, they could not all be waiting at once.
    const calls = Array.from({ length: 10 }, () => keys.runOnce(userId, 'payment:pay', 'outside-1', { reservationId: 1 }, work));
    await new Promise((r) => setTimeout(r, 300));
    const [idle] = await db.sequelize.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`,
      { type: QueryTypes.SELECT },
    );
    expect(idle!.n).toBe(0);
    release();
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 10 }, () => ({ paid: 1 })));
    expect(runs).toBe(1);
    expect(await keys.runOnce(userId, 'payment:pay', 'outside-1', { reservationId: 1 }, work)).toEqual({ paid: 1 });
    expect(runs).toBe(1);
  });

  it('frees the key when the work fails, and refuses the key for another request or scope', async () => {
    const keys = repo();
    await expect(keys.runOnce(userId, 'payment:pay', 'outside-2', { reservationId: 2 }, async () => {
      throw new Error('room said no');
    })).rejects.toThrow('room said no');
    expect(await keyExists('payment:pay', 'outside-2')).toBe(false);
    expect(await keys.runOnce(userId, 'payment:pay', 'outside-2', { reservationId: 2 }, async () => 'ok')).toBe('ok');
    await expect(keys.runOnce(userId, 'payment:pay', 'outside-2', { reservationId: 3 }, async () => 'other')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
    await expect(charge(2, 'outside-2')).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
  });

  it('claims that arrive together share a statement; one naming a user the database does not have is NOT_FOUND alone', async () => {
    const keys = repo();
    // Same tick: one batch, which the unknown user's foreign key fails; each claim is then tried alone.
    const calls = [
      keys.runOnce(userId, 'payment:pay', 'together-1', { reservationId: 11 }, async () => ({ one: true })),
      keys.runOnce(2_000_000_000, 'payment:pay', 'together-ghost', { reservationId: 12 }, async () => ({ ghost: true })),
      keys.runOnce(userId, 'payment:pay', 'together-2', { reservationId: 13 }, async () => ({ two: true })),
    ];
    const [one, ghost, two] = await Promise.allSettled(calls);
    expect(one).toEqual({ status: 'fulfilled', value: { one: true } });
    expect(ghost).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND' } });
    expect(two).toEqual({ status: 'fulfilled', value: { two: true } });
    expect(await keyExists('payment:pay', 'together-1')).toBe(true);
  });

  it('takes over a claim left pending by a process that died while working', async () => {
    await db.sequelize.query(
      `INSERT INTO idempotency_keys (user_id, scope, key, request_hash, created_at) VALUES ($1, 'payment:pay', 'outside-3', $2, now() - interval '2 minutes')`,
      { bind: [userId, requestHash({ reservationId: 4 })] },
    );
    expect(await repo().runOnce(userId, 'payment:pay', 'outside-3', { reservationId: 4 }, async () => ({ again: true }))).toEqual({ again: true });
  });

  it('takes over at once a claim whose owning process holds no owner lock (it died), however fresh the claim', async () => {
    await db.sequelize.query(
      `INSERT INTO idempotency_keys (user_id, scope, key, request_hash, owner) VALUES ($1, 'payment:pay', 'outside-5', $2, 7)`,
      { bind: [userId, requestHash({ reservationId: 5 })] },
    );
    expect(await repo().runOnce(userId, 'payment:pay', 'outside-5', { reservationId: 5 }, async () => ({ taken: true }))).toEqual({ taken: true });
  });

  it('waits for a claim whose owner is alive, and answers with its stored answer', async () => {
    const alive = await db.owner.id();
    await db.sequelize.query(
      `INSERT INTO idempotency_keys (user_id, scope, key, request_hash, owner) VALUES ($1, 'payment:pay', 'outside-6', $2, $3)`,
      { bind: [userId, requestHash({ reservationId: 6 }), alive] },
    );
    let ran = false;
    const waiting = repo().runOnce(userId, 'payment:pay', 'outside-6', { reservationId: 6 }, async () => {
      ran = true;
      return { second: true };
    });
    await db.sequelize.query(`UPDATE idempotency_keys SET response = '{"first": true}' WHERE user_id = $1 AND key = 'outside-6'`, { bind: [userId] });
    expect(await waiting).toEqual({ first: true });
    expect(ran).toBe(false);
  });
});
