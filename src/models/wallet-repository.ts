import { DatabaseError, ForeignKeyConstraintError, QueryTypes, type Sequelize } from 'sequelize';
import { notFound } from '../errors';
import { pgText, Prepared } from './prepared';
import { asError, batchOrEachAlone, WriteQueue } from './write-queue';

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

/** One charge's answer in a batch: TXCAP is the cap, TXUSR or the claim's foreign key (23503) a user this database does not have. */
function outcomeOf(answer: ChargeAnswer | undefined): ChargeOutcome | Error {
  if (answer === undefined) return new Error('tix_charge_many gave no answer for a charge');
  if (!('refused' in answer)) return answer;
  const { code, detail } = answer.refused;
  if (code === 'TXCAP') return { refused: { balance: Number(detail) } };
  if (code === 'TXUSR' || code === '23503') return notFound('user');
  return new Error(`tix_charge_many refused a charge with ${code}`);
}

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

// Charges that arrive together: one statement, one transaction, each charge refused on its own (migration 009).
const CHARGE_MANY = new Prepared<{ answers: ChargeAnswer[] }>('tix_charge_many', 'SELECT tix_charge_many($1::jsonb) AS answers');

type ChargeAnswer = { balance: number } | { stored: StoredKey } | { refused: { code: string; detail: string | null } };

interface Charge {
  userId: number;
  amount: number;
  maxBalance: number;
  key?: ChargeKey;
}

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
  private readonly charges = new WriteQueue<Charge, ChargeOutcome>((batch) => this.chargeAll(batch));

  constructor(private readonly sequelize: Sequelize) {}

  /**
   * Adds `amount` and writes its CHARGE ledger row (tix_charge, migration 004), recording the
   * answer under `key` in the same transaction; charges that arrive together commit together
   * (tix_charge_many). `stored` is an earlier request's record of the key; `refused`, that the
   * balance would exceed `maxBalance` (nothing changed).
   */
  charge(userId: number, amount: number, maxBalance: number, key?: ChargeKey): Promise<ChargeOutcome> {
    return this.charges.push({ userId, amount, maxBalance, key });
  }

  private async chargeAll(batch: Charge[]): Promise<(ChargeOutcome | Error)[]> {
    if (batch.length === 1) return [await this.chargeOne(batch[0] as Charge).catch(asError)];
    // Users locked in ascending order, by every batch: two batches cannot deadlock on each other.
    const order = batch.map((_, i) => i).sort((a, b) => (batch[a] as Charge).userId - (batch[b] as Charge).userId);
    const sent = order.map((i) => {
      const c = batch[i] as Charge;
      const key = c.key && { scope: pgText(c.key.scope), key: pgText(c.key.key), hash: pgText(c.key.hash) };
      return { userId: c.userId, amount: c.amount, maxBalance: c.maxBalance, ...key };
    });
    // A refused batch (a deadlock with a date room's commit): each charge alone gets its own answer.
    return batchOrEachAlone(
      batch,
      async () => {
        const { answers } = (await CHARGE_MANY.one(this.sequelize, [JSON.stringify(sent)])) as { answers: ChargeAnswer[] };
        const outcomes: (ChargeOutcome | Error)[] = new Array<ChargeOutcome | Error>(batch.length);
        order.forEach((i, k) => (outcomes[i] = outcomeOf(answers[k])));
        return outcomes;
      },
      (c) => this.chargeOne(c),
    );
  }

  private async chargeOne({ userId, amount, maxBalance, key }: Charge): Promise<ChargeOutcome> {
    try {
      const row = await CHARGE.one(this.sequelize, [userId, amount, maxBalance, key?.scope ?? null, key?.key ?? null, key?.hash ?? null]);
      return (row as { outcome: ChargeOutcome }).outcome;
    } catch (err) {
      const cause = err instanceof DatabaseError ? (err.parent as Error & { code?: string; detail?: string }) : undefined;
      if (cause?.code === 'TXCAP') return { refused: { balance: Number(cause.detail) } };
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
