import type { Transaction } from 'sequelize';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Database } from '../models/database';
import type { Command } from './command';

export interface WalletDeps {
  config: Config;
  db: Database;
  log: Logger;
}

export type LedgerKind = 'CHARGE' | 'PAYMENT' | 'REFUND';

/** The money operations other features run inside their own transactions. */
export interface WalletService {
  /**
   * Debits `amount` inside `transaction` (ledger PAYMENT), or throws
   * INSUFFICIENT_BALANCE and changes nothing. Returns the balance after.
   */
  debit(transaction: Transaction, userId: number, amount: number, reservationId: number): Promise<number>;
  /** Credits `amount` inside `transaction` (ledger REFUND). Returns the balance after. */
  refund(transaction: Transaction, userId: number, amount: number, reservationId: number): Promise<number>;
  /**
   * Runs `run` at most once per (user, scope, key): a repeat with the same
   * request returns the first answer, also when repeats arrive concurrently;
   * the same key with a different request is IDEMPOTENCY_CONFLICT. Without a
   * key, just runs. `run` gets the transaction that records the key, so work
   * done in it commits together with the recorded answer.
   */
  idempotent<T>(
    userId: number,
    scope: string,
    key: string | undefined,
    request: unknown,
    run: (transaction: Transaction) => Promise<T>,
  ): Promise<T>;
}

export interface WalletModule {
  service: WalletService;
  /** wallet:charge, wallet:get (and their HTTP routes). */
  commands: Command[];
}

export function createWallet(_deps: WalletDeps): WalletModule {
  const notYet = () => Promise.reject(new Error('wallet not implemented yet'));
  return {
    service: { debit: notYet, refund: notYet, idempotent: notYet },
    commands: [],
  };
}
