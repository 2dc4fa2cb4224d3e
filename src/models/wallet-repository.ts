import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';

export type LedgerKind = 'CHARGE' | 'PAYMENT' | 'REFUND';

/** One wallet_ledger row as clients see it: `amount` is positive, `kind` gives the direction. */
export interface LedgerEntry {
  id: number;
  kind: LedgerKind;
  amount: number;
  balanceAfter: number;
  at: string;
}

export interface WalletView {
  balance: number;
  /** Newest first. */
  history: LedgerEntry[];
}

export interface BalanceChange {
  userId: number;
  kind: LedgerKind;
  /** Positive; PAYMENT subtracts it, CHARGE and REFUND add it. */
  amount: number;
  reservationId: number | null;
  /** The balance may not end above this. */
  maxBalance: number;
}

/*
 * One statement per change: the conditional UPDATE is the whole check (no read
 * first, so no lost update), and the ledger row is written from its RETURNING,
 * so a change and its ledger row exist together or not at all. The INSERT runs
 * while this transaction holds the user's row lock, which is why ledger ids of
 * one user grow in the order the balance changed and `balance_after` chains.
 * clock_timestamp(), not now(): now() is the transaction's start, which can be
 * older than a change committed before this one.
 */
const APPLY = `
  WITH changed AS (
    UPDATE users SET balance = balance + $3::bigint
     WHERE id = $1::int AND balance + $3::bigint BETWEEN 0 AND $4::bigint
    RETURNING balance
  )
  INSERT INTO wallet_ledger (user_id, kind, amount, balance_after, reservation_id, created_at)
  SELECT $1::int, $2::text, $5::bigint, balance, $6::int, clock_timestamp() FROM changed
  RETURNING balance_after`;

// One statement, so the balance and the history come from one snapshot.
const VIEW = `
  SELECT u.balance, l.id, l.kind, l.amount, l.balance_after, l.created_at
    FROM users u
    LEFT JOIN LATERAL (
      SELECT id, kind, amount, balance_after, created_at FROM wallet_ledger
       WHERE user_id = u.id ORDER BY id DESC LIMIT $2::int
    ) l ON true
   WHERE u.id = $1::int
   ORDER BY l.id DESC`;

interface ViewRow {
  balance: number;
  id: number | null;
  kind: LedgerKind | null;
  amount: number | null;
  balance_after: number | null;
  created_at: Date | null;
}

/** Balances and their ledger, in plain SQL. Every write runs in the caller's transaction. */
export class WalletRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Applies one change and writes its ledger row. Returns the balance after, or
   * null when nothing changed: the user does not exist, the balance would go
   * below zero, or above `maxBalance`.
   */
  async apply(transaction: Transaction, change: BalanceChange): Promise<number | null> {
    const delta = change.kind === 'PAYMENT' ? -change.amount : change.amount;
    const rows = await this.sequelize.query<{ balance_after: number }>(APPLY, {
      type: QueryTypes.SELECT,
      transaction,
      bind: [change.userId, change.kind, delta, change.maxBalance, change.amount, change.reservationId],
    });
    return rows[0]?.balance_after ?? null;
  }

  /** The committed balance, or null for an unknown user; used to explain a refused change. */
  async balanceOf(transaction: Transaction, userId: number): Promise<number | null> {
    const rows = await this.sequelize.query<{ balance: number }>('SELECT balance FROM users WHERE id = $1::int', {
      type: QueryTypes.SELECT,
      transaction,
      bind: [userId],
    });
    return rows[0]?.balance ?? null;
  }

  /** Balance and the latest `limit` ledger rows; null for an unknown user. */
  async view(userId: number, limit: number): Promise<WalletView | null> {
    const rows = await this.sequelize.query<ViewRow>(VIEW, { type: QueryTypes.SELECT, bind: [userId, limit] });
    const first = rows[0];
    if (!first) return null;
    const history: LedgerEntry[] = [];
    for (const r of rows) {
      if (r.id === null || r.kind === null || r.amount === null || r.balance_after === null || r.created_at === null) continue;
      history.push({ id: r.id, kind: r.kind, amount: r.amount, balanceAfter: r.balance_after, at: r.created_at.toISOString() });
    }
    return { balance: first.balance, history };
  }
}
