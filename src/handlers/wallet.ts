import type { Transaction } from 'sequelize';
import type { Config } from '../config';
import { AppError, notFound } from '../errors';
import type { Logger } from '../logger';
import type { Database } from '../models/database';
import { IdempotencyRepository } from '../models/idempotency-repository';
import { WalletRepository, type WalletView } from '../models/wallet-repository';
import { defineCommand, type Command } from './command';
import { compile, idempotencyKey, object } from './schemas';

export type { LedgerKind, LedgerEntry, WalletView } from '../models/wallet-repository';

export interface WalletDeps {
  config: Config;
  db: Database;
  log: Logger;
}

/**
 * Idempotency for money commands. Payments and refunds themselves are written
 * by the date room, in the commit that changes the reservation.
 */
export interface WalletService {
  /**
   * Runs `run` at most once per (user, key): a repeat with the same scope and
   * request returns the first answer, also when repeats arrive concurrently;
   * the same key with a different request, or under another scope (a key
   * used for a charge, then for a payment), is IDEMPOTENCY_CONFLICT. Only
   * successes are recorded: if `run` throws, the key stays free. Without a
   * key, just runs. `run` gets the transaction that records the key, so work
   * done in it commits together with the recorded answer. The answer is
   * stored as JSON and returned as stored, to the first caller too.
   */
  idempotent<T>(
    userId: number,
    scope: string,
    key: string | undefined,
    request: unknown,
    run: (transaction: Transaction) => Promise<T>,
  ): Promise<T>;
  /**
   * The same promise for work that commits in a transaction of its own (a
   * payment, in its date room): no connection is held while it runs; a
   * concurrent repeat waits for the first answer.
   */
  idempotentOutside<T>(userId: number, scope: string, key: string, request: unknown, run: () => Promise<T>): Promise<T>;
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

interface Charge {
  amount: number;
  idempotencyKey?: string;
}

interface WalletQuery {
  limit?: number;
}

const validateWalletQuery = compile<WalletQuery>(object<WalletQuery>({ limit: { type: 'integer', minimum: 1, maximum: HISTORY_MAX } }));

export function createWallet({ config, db, log }: WalletDeps): WalletModule {
  const wallets = new WalletRepository(db.sequelize);
  const keys = new IdempotencyRepository(db.sequelize, log.child({ component: 'idempotency' }));
  // The cap comes from config, so this schema is compiled once per app rather than at load.
  const validateCharge = compile<Charge>(
    object<Charge>({ amount: { type: 'integer', minimum: 1, maximum: config.walletMaxCharge }, idempotencyKey }, ['amount']),
  );

  async function charge(transaction: Transaction, userId: number, amount: number) {
    const maxBalance = config.walletMaxBalance;
    const balance = await wallets.apply(transaction, { userId, kind: 'CHARGE', amount, reservationId: null, maxBalance });
    if (balance !== null) return balance;
    const current = await wallets.balanceOf(transaction, userId);
    if (current === null) throw notFound('user');
    throw new AppError('VALIDATION_FAILED', `the balance may not exceed ${maxBalance}`, {
      errors: [{ path: '/amount', message: `would take the balance (${current}) over ${maxBalance}` }],
      balance: current,
      maxBalance,
    });
  }

  const service: WalletService = {
    idempotent: (userId, scope, key, request, run) => keys.run(userId, scope, key, request, run),
    idempotentOutside: (userId, scope, key, request, run) => keys.runOutside(userId, scope, key, request, run),
  };

  const commands = [
    defineCommand({
      name: 'wallet:charge',
      auth: 'user',
      validate: validateCharge,
      run: ({ amount, idempotencyKey: key }: Charge, ctx) =>
        service.idempotent(ctx.userId, CHARGE_SCOPE, key, { amount }, async (transaction) => ({
          balance: await charge(transaction, ctx.userId, amount),
        })),
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
