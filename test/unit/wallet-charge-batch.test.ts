import { QueryTypes } from 'sequelize';
import { openDatabase, type Database } from '../../src/models/database';
import { WalletRepository, type ChargeOutcome } from '../../src/models/wallet-repository';
import { testDatabaseUrl } from '../support/env';

// Charges that arrive together are committed together (tix_charge_many), against the run's real PostgreSQL.
let db: Database;
let wallets: WalletRepository;

beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 4);
  wallets = new WalletRepository(db.sequelize);
});
afterAll(() => db.close());

const newUsers = (n: number) => Promise.all(Array.from({ length: n }, async (_, i) => (await db.models.User.create({ name: `charge-batch-${Date.now()}-${i}-${Math.random()}` })).id));
const rows = <T extends object>(sql: string, bind: unknown[]) => db.sequelize.query<T>(sql, { type: QueryTypes.SELECT, bind });

describe('WalletRepository.charge, group-committed', () => {
  it('a hundred charges at once all land, and each ledger sums to its balance', async () => {
    const users = await newUsers(10);

    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => wallets.charge(users[i % 10] as number, 10 + (i % 7), 1_000_000)));

    expect(outcomes.every((o) => 'balance' in o)).toBe(true);
    const balances = await rows<{ id: number; balance: number; ledger: number; charges: number }>(
      `SELECT u.id, u.balance, coalesce(sum(l.amount), 0)::bigint AS ledger, count(l.id)::int AS charges
         FROM users u LEFT JOIN wallet_ledger l ON l.user_id = u.id AND l.kind = 'CHARGE' WHERE u.id = ANY($1::int[]) GROUP BY u.id`,
      [users],
    );
    for (const b of balances) expect([b.balance, b.charges]).toEqual([b.ledger, 10]);
    expect(balances.reduce((sum, b) => sum + b.balance, 0)).toBe(Array.from({ length: 100 }, (_, i) => 10 + (i % 7)).reduce((a, b) => a + b, 0));
    // Each answer is the balance right after its own charge: per user, the answers are distinct and the largest is the balance.
    for (const [k, id] of users.entries()) {
      const mine = outcomes.filter((_, i) => i % 10 === k).map((o) => (o as { balance: number }).balance);
      expect(new Set(mine).size).toBe(10);
      expect(Math.max(...mine)).toBe(balances.find((b) => b.id === id)?.balance);
    }
  });

  it('a charge refused in a batch (over the cap, unknown user) fails alone; the others commit', async () => {
    const [a, b] = await newUsers(2);
    const results = await Promise.allSettled<ChargeOutcome>([
      wallets.charge(a as number, 100, 1000),
      wallets.charge(b as number, 2000, 1000), // over the cap: nothing changes for b
      wallets.charge(2_000_000_000, 5, 1000), // no such user
      wallets.charge(b as number, 300, 1000),
    ]);

    expect(results).toEqual([
      { status: 'fulfilled', value: { balance: 100 } },
      { status: 'fulfilled', value: { refused: { balance: 0 } } },
      { status: 'rejected', reason: expect.objectContaining({ code: 'NOT_FOUND' }) },
      { status: 'fulfilled', value: { balance: 300 } },
    ]);
    const ledger = await rows<{ user_id: number; amount: number }>('SELECT user_id, amount FROM wallet_ledger WHERE user_id = ANY($1::int[])', [[a, b]]);
    expect(ledger).toEqual(expect.arrayContaining([{ user_id: a, amount: 100 }, { user_id: b, amount: 300 }]));
    expect(ledger).toHaveLength(2);
  });

  it('the same key twice in one batch charges once; the second gets the first answer as stored', async () => {
    const [u] = await newUsers(1);
    const key = { scope: 'wallet:charge', key: `k-${Date.now()}`, hash: 'h1' };
    const [first, second] = await Promise.all([wallets.charge(u as number, 70, 1000, key), wallets.charge(u as number, 70, 1000, key)]);

    expect(first).toEqual({ balance: 70 });
    expect(second).toEqual({ stored: { scope: 'wallet:charge', hash: 'h1', response: { balance: 70 } } });
    expect(await rows('SELECT amount FROM wallet_ledger WHERE user_id = $1', [u])).toEqual([{ amount: 70 }]);
  });

  it('a key refused with its charge stays free: the next charge under it in the same batch claims it', async () => {
    const [u] = await newUsers(1);
    const key = { scope: 'wallet:charge', key: `k-${Date.now()}`, hash: 'h' };
    const [over, ok] = await Promise.all([wallets.charge(u as number, 5000, 1000, key), wallets.charge(u as number, 40, 1000, key)]);

    expect(over).toEqual({ refused: { balance: 0 } });
    expect(ok).toEqual({ balance: 40 });
  });

  it('a key with a NUL in it charges once whether its repeat comes alone or in a batch', async () => {
    const [u, other] = await newUsers(2);
    const key = { scope: 'wallet:charge', key: `nul\u0000${Date.now()}`, hash: 'h' };
    expect(await wallets.charge(u as number, 25, 1000, key)).toEqual({ balance: 25 });

    const [repeat, elsewhere] = await Promise.all([wallets.charge(u as number, 25, 1000, key), wallets.charge(other as number, 5, 1000)]);

    expect(repeat).toEqual({ stored: { scope: 'wallet:charge', hash: 'h', response: { balance: 25 } } });
    expect(elsewhere).toEqual({ balance: 5 });
  });
});
