import { QueryTypes, type Transaction } from 'sequelize';
import type { Sale, SaleStats } from '../protocol/events';
import type { Database } from './database';
import { isDbId } from './catalog-repository';

/** What a concert without stored settings sells with: the environment's values, opening at its creation. */
export type SaleDefaults = Omit<Sale, 'opensAt'>;

export interface AuditEntry {
  at: string;
  concertId: number;
  change: Record<string, [unknown, unknown]>;
}

interface SaleRow {
  id: number;
  created_at: Date;
  opens_at: Date | null;
  admit_per_tick: number | null;
  max_active: number | null;
  active_ttl_seconds: number | null;
  paused: boolean | null;
  challenge: 'off' | 'pow' | null;
}

const SALE_COLUMNS = `c.id, c.created_at, s.opens_at, s.admit_per_tick, s.max_active, s.active_ttl_seconds, s.paused, s.challenge`;
const FIELDS = ['opensAt', 'admitPerTick', 'maxActive', 'activeTtlSeconds', 'paused', 'challenge'] as const;

/** Sale settings per concert and their audit trail; the one place that writes either. */
export class SaleRepository {
  constructor(
    private readonly db: Database,
    private readonly defaults: SaleDefaults,
  ) {}

  /** The concert's settings; undefined when the concert does not exist. */
  async get(concertId: number): Promise<Sale | undefined> {
    return (await this.many([concertId])).get(concertId);
  }

  /** Settings of the given concerts (all when omitted), by concert id. */
  async many(concertIds?: number[], transaction?: Transaction): Promise<Map<number, Sale>> {
    const ids = concertIds?.filter(isDbId);
    if (ids && ids.length === 0) return new Map();
    const rows = await this.db.sequelize.query<SaleRow>(
      `SELECT ${SALE_COLUMNS} FROM concerts c LEFT JOIN concert_sales s ON s.concert_id = c.id
        ${ids ? 'WHERE c.id IN (:ids)' : ''} ORDER BY c.id ${transaction ? 'FOR UPDATE OF c' : ''}`,
      { type: QueryTypes.SELECT, replacements: { ids: ids ?? [] }, transaction },
    );
    return new Map(rows.map((r) => [r.id, this.fromRow(r)]));
  }

  /**
   * Applies `patch` and records each field that changed, in one transaction;
   * concurrent changes of one concert take turns on its row, so every audit
   * entry's `before` is the value the change replaced. Undefined: no such concert.
   * `creating`: the concert's first settings, inside its creation's transaction.
   */
  async update(concertId: number, patch: Partial<Sale>, transaction?: Transaction, creating = false): Promise<{ sale: Sale; changed: boolean } | undefined> {
    if (!isDbId(concertId)) return undefined;
    const run = async (t: Transaction) => {
      const before = (await this.many([concertId], t)).get(concertId);
      if (!before) return undefined;
      const sale: Sale = { ...before, ...patch };
      if (patch.opensAt !== undefined) sale.opensAt = new Date(patch.opensAt).toISOString();
      // A new concert's first settings are recorded whole, from nothing.
      const changed = creating ? FIELDS : FIELDS.filter((f) => before[f] !== sale[f]);
      await this.db.sequelize.query(
        `INSERT INTO concert_sales (concert_id, opens_at, admit_per_tick, max_active, active_ttl_seconds, paused, challenge)
         VALUES (:concertId, :opensAt, :admitPerTick, :maxActive, :activeTtlSeconds, :paused, :challenge)
         ON CONFLICT (concert_id) DO UPDATE SET opens_at = EXCLUDED.opens_at, admit_per_tick = EXCLUDED.admit_per_tick,
           max_active = EXCLUDED.max_active, active_ttl_seconds = EXCLUDED.active_ttl_seconds,
           paused = EXCLUDED.paused, challenge = EXCLUDED.challenge`,
        { replacements: { concertId, ...sale }, transaction: t },
      );
      await this.record(concertId, Object.fromEntries(changed.map((f) => [f, [creating ? null : before[f], sale[f]]])), t);
      return { sale, changed: changed.length > 0 };
    };
    return transaction ? run(transaction) : this.db.sequelize.transaction(run);
  }

  /** Adds audit rows for one change (all at the transaction's time). */
  async record(concertId: number, change: Record<string, [unknown, unknown]>, transaction: Transaction): Promise<void> {
    const fields = Object.entries(change);
    if (fields.length === 0) return;
    await this.db.sequelize.query(
      `INSERT INTO sale_audit (concert_id, field, before, after)
       SELECT :concertId, f.field, f.before, f.after FROM jsonb_to_recordset(:rows::jsonb) AS f(field text, before jsonb, after jsonb)`,
      {
        replacements: { concertId, rows: JSON.stringify(fields.map(([field, [before, after]]) => ({ field, before, after }))) },
        transaction,
      },
    );
  }

  /** Changes, newest first; one entry per change (its fields share one time). */
  async audit(concertId: number | undefined, limit: number): Promise<AuditEntry[]> {
    if (concertId !== undefined && !isDbId(concertId)) return [];
    const rows = await this.db.sequelize.query<{ at: Date; concert_id: number; change: Record<string, [unknown, unknown]> }>(
      `SELECT at, concert_id, jsonb_object_agg(field, jsonb_build_array(before, after)) AS change
         FROM sale_audit ${concertId === undefined ? '' : 'WHERE concert_id = :concertId'}
        GROUP BY at, concert_id ORDER BY at DESC, concert_id DESC LIMIT :limit`,
      { type: QueryTypes.SELECT, replacements: { concertId: concertId ?? null, limit } },
    );
    return rows.map((r) => ({ at: r.at.toISOString(), concertId: r.concert_id, change: r.change }));
  }

  /**
   * Seat and money figures of the concert's dates from the committed state:
   * one grouped query over its live reservation seats, for an operator's
   * request (the live view reads the rooms instead).
   */
  async seatStats(concertIds: number[]): Promise<Map<number, Pick<SaleStats, 'holds' | 'sold' | 'revenue' | 'dates'>>> {
    const ids = concertIds.filter(isDbId);
    const out = new Map<number, Pick<SaleStats, 'holds' | 'sold' | 'revenue' | 'dates'>>(ids.map((id) => [id, { holds: 0, sold: 0, revenue: 0, dates: [] }]));
    if (ids.length === 0) return out;
    const rows = await this.db.sequelize.query<{ concert_id: number; date_id: number; total: number; held: number; sold: number; revenue: number }>(
      `SELECT d.concert_id, d.id AS date_id, d.total_seats AS total,
              count(*) FILTER (WHERE r.status = 'HELD')::int AS held,
              count(*) FILTER (WHERE r.status = 'CONFIRMED')::int AS sold,
              coalesce(sum(rs.price) FILTER (WHERE r.status = 'CONFIRMED'), 0)::bigint AS revenue
         FROM concert_dates d
         LEFT JOIN reservation_seats rs ON rs.date_id = d.id AND rs.live
         LEFT JOIN reservations r ON r.id = rs.reservation_id
        WHERE d.concert_id IN (:ids)
        GROUP BY d.id ORDER BY d.starts_at, d.id`,
      { type: QueryTypes.SELECT, replacements: { ids } },
    );
    for (const r of rows) {
      const s = out.get(r.concert_id);
      if (!s) continue;
      s.dates.push({ dateId: r.date_id, free: r.total - r.held - r.sold, held: r.held, sold: r.sold });
      s.holds += r.held;
      s.sold += r.sold;
      s.revenue += Number(r.revenue);
    }
    return out;
  }

  private fromRow(r: SaleRow): Sale {
    const d = this.defaults;
    return {
      opensAt: (r.opens_at ?? r.created_at).toISOString(),
      admitPerTick: r.admit_per_tick ?? d.admitPerTick,
      maxActive: r.max_active ?? d.maxActive,
      activeTtlSeconds: r.active_ttl_seconds ?? d.activeTtlSeconds,
      paused: r.paused ?? d.paused,
      challenge: r.challenge ?? d.challenge,
    };
  }
}
