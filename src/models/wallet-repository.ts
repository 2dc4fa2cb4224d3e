import { DatabaseError, ForeignKeyConstraintError, QueryTypes, type Sequelize } from 'sequelize';
import { notFound } from '../errors';
import { Prepared } from './prepared';

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

/** A keyed charge's claim: the key, the command that records it, and the request's fingerprint. */
export interface ChargeKey {
  scope: string;
  key: string;
  hash: string;
}

/** What an earlier request with the same key recorded. */
export interface StoredKey {
  scope: string;
  hash: string;
  response: unknown;
}

export type ChargeOutcome = { balance: number } | { stored: StoredKey } | { refused: { balance: number } };

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

const CHARGE = new Prepared<{ outcome: ChargeOutcome }>(
  'tix_charge',
  'SELECT tix_charge($1::int, $2::bigint, $3::bigint, $4::text, $5::text, $6::text) AS outcome',
);

interface ViewRow {
  balance: number;
  id: number | null;
  kind: LedgerKind | null;
  amount: number | null;
  balance_after: number | null;
  created_at: Date | null;
}

/** Balances and their ledger, in plain SQL. Payments and refunds are written by tix_commit_batch. */
export class WalletRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Adds `amount` and writes its CHARGE ledger row in one prepared statement (tix_charge, migration 004),
   * recording the answer under `key` in the same transaction. `stored` is an earlier request's
   * record of the key; `refused`, that the balance would exceed `maxBalance` (nothing changed).
   */
  async charge(userId: number, amount: number, maxBalance: number, key?: ChargeKey): Promise<ChargeOutcome> {
    try {
      const row = await CHARGE.one(this.sequelize, [userId, amount, maxBalance, key?.scope ?? null, key?.key ?? null, key?.hash ?? null]);
      return (row as { outcome: ChargeOutcome }).outcome;
    } catch (err) {
      const cause = err instanceof DatabaseError ? (err.parent as Error & { code?: string; detail?: string }) : undefined;
      if (cause?.code === 'TXCAP') return { refused: { balance: Number(cause.detail) } };
      // The claim's only foreign key is the user: a verified token naming a user this database does not have.
      if (cause?.code === 'TXUSR' || cause?.code === '23503' || err instanceof ForeignKeyConstraintError) throw notFound('user');
      throw err;
    }
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
