import { QueryTypes, type Sequelize } from 'sequelize';

/** How raising a date's fence went: only a commit carrying the newest fence lands. */
export type FenceRaise = 'raised' | 'superseded' | 'missing';

/** The PostgreSQL half of date ownership: the dates to place and each date's fencing token. */
export class DateFenceRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /** Dates not yet started, in id order: the ones placed over the live instances. */
  async datesOnSale(): Promise<number[]> {
    const rows = await this.sequelize.query<{ id: number }>('SELECT id FROM concert_dates WHERE starts_at > now() ORDER BY id', { type: QueryTypes.SELECT });
    return rows.map((r) => r.id);
  }

  /** From now on only commits carrying `fence` (or a later one) land on the date. */
  async raise(dateId: number, fence: number): Promise<FenceRaise> {
    const rows = await this.sequelize.query<{ id: number }>(
      'UPDATE concert_dates SET owner_fence = $2 WHERE id = $1 AND owner_fence <= $2 RETURNING id',
      { bind: [dateId, fence], type: QueryTypes.SELECT },
    );
    if (rows.length === 1) return 'raised';
    const exists = await this.sequelize.query('SELECT 1 FROM concert_dates WHERE id = $1', { bind: [dateId], type: QueryTypes.SELECT });
    return exists.length === 0 ? 'missing' : 'superseded';
  }
}
