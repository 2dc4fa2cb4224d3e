import type { Config } from '../config';
import { AppError, notFound } from '../errors';
import type { Logger } from '../logger';
import type { Database } from '../models/database';
import { IdempotencyRepository } from '../models/idempotency-repository';
import { WalletRepository, type WalletView } from '../models/wallet-repository';
import { defineCommand, type Command } from './command';
import { compile, idempotencyKey, object, type Validated } from './schemas';

export type { LedgerKind, LedgerEntry, WalletView } from '../models/wallet-repository';

export interface WalletDeps {
  config: Config;
  db: Database;
  log: Logger;
}

/**
 * Idempotency for payments. Payments and refunds themselves are written by
 * the date room, in the commit that changes the reservation.
 */
export interface WalletService {
  /**
   * Runs `run` at most once per (user, key), for work that commits in a
   * transaction of its own (a payment, in its date room): a repeat with the
   * same scope and request returns the first answer, also when repeats arrive
   * concurrently (they wait for it); the same key with a different request,
   * or under another scope (a key used for a charge, then for a payment), is
   * IDEMPOTENCY_CONFLICT. Only successes are recorded: if `run` throws, the
   * key stays free. The answer is stored as JSON and returned as stored.
   */
  runOnce<T>(userId: number, scope: string, key: string, request: unknown, run: () => Promise<T>): Promise<T>;
}

export interface WalletModule {
  service: WalletService;
  /** wallet:charge, wallet:get (and their HTTP routes). */
  commands: Command[];
}

/** Idempotency scope of charges. A payment uses 'payment:pay': a key recorded under one scope conflicts under the other. */
export const CHARGE_SCOPE = 'wallet:charge';
/** wallet:get returns this many ledger rows unless `limit` asks for fewer or more (up to HISTORY_MAX). */
export const HISTORY_DEFAULT = 50;
export const HISTORY_MAX = 100;

const validateWalletQuery = compile(object({ limit: { type: 'integer', minimum: 1, maximum: HISTORY_MAX } }));
type WalletQuery = Validated<typeof validateWalletQuery>;

export function createWallet({ config, db, log }: WalletDeps): WalletModule {
  // A sale's commands fill the main pool in bursts, and group-committed charges waited behind them
  // for up to 150 ms (BENCHMARKS.md, cut 4). Charges write one batch at a time, so they take at
  // most one connection of the commits pool. Payment keys have a pool of their own: one claim per
  // payment in flight crowded the date rooms' commits out of theirs (measured in cut 4), and on the
  // main pool a payment's claim and answer each waited for its bursts (cut 5a).
  const wallets = new WalletRepository(db.sequelize);
  const charges = new WalletRepository(db.commits);
  const keys = new IdempotencyRepository(db.keys, log.child({ component: 'idempotency' }), db.owner);
  // The cap comes from config, so this schema is compiled once per app rather than at load.
  const validateCharge = compile(object({ amount: { type: 'integer', minimum: 1, maximum: config.walletMaxCharge }, idempotencyKey }, ['amount']));

  // One statement: the claim of the key, the balance change and the stored answer commit together.
  async function charge(userId: number, amount: number, key?: string): Promise<{ balance: number }> {
    const maxBalance = config.walletMaxBalance;
    const claim = key === undefined ? undefined : { scope: CHARGE_SCOPE, key, hash: await keys.fingerprint({ amount }) };
    const outcome = await charges.charge(userId, amount, maxBalance, claim);
    if ('stored' in outcome) return keys.replay<{ balance: number }>(outcome.stored, CHARGE_SCOPE, claim?.hash ?? '');
    if ('refused' in outcome) {
      const current = outcome.refused.balance;
      throw new AppError('VALIDATION_FAILED', `the balance may not exceed ${maxBalance}`, {
        errors: [{ path: '/amount', message: `would take the balance (${current}) over ${maxBalance}` }],
        balance: current,
        maxBalance,
      });
    }
    return { balance: outcome.balance };
  }

  const service: WalletService = {
    runOnce: (userId, scope, key, request, run) => keys.runOnce(userId, scope, key, request, run),
  };

  const commands = [
    defineCommand({
      name: 'wallet:charge',
      auth: 'user',
      validate: validateCharge,
      run: ({ amount, idempotencyKey: key }, ctx) => charge(ctx.userId, amount, key),
    }),
    defineCommand({
      name: 'wallet:get',
      auth: 'user',
      validate: validateWalletQuery,
      async run({ limit }: WalletQuery, ctx): Promise<WalletView> {
        const view = await wallets.view(ctx.userId, limit ?? HISTORY_DEFAULT);
        if (!view) throw notFound('user');
        return view;
      },
    }),
  ];

  return { service, commands };
}
