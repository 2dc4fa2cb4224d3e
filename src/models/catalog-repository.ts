import { QueryTypes, type Transaction } from 'sequelize';
import type { ConcertSummary, DateSummary } from '../protocol/commands';
import type { Database } from './database';

export type { ConcertSummary, DateSummary };

export interface NewDate {
  startsAt: string;
  seats: { count: number; price: number; grade?: string };
}

export interface NewConcert {
  title: string;
  venue: string;
  dates: NewDate[];
}

export interface CreatedDate {
  id: number;
  startsAt: string;
  totalSeats: number;
}

export interface DateInfo {
  id: number;
  concertId: number;
  startsAt: Date;
}

/** Ids are PostgreSQL integers: anything larger names nothing. */
export const MAX_DB_ID = 2_147_483_647;
export const isDbId = (id: number) => Number.isInteger(id) && id >= 1 && id <= MAX_DB_ID;

const seatsIn = (statuses: string) =>
  `(SELECT count(*) FROM reservation_seats rs JOIN reservations r ON r.id = rs.reservation_id
     WHERE rs.date_id = d.id AND rs.live AND r.status IN (${statuses}))::int`;
const FREE_SEATS = `d.total_seats - ${seatsIn("'HELD', 'CONFIRMED'")}`;
const HELD_SEATS = seatsIn("'HELD'");
// A held seat may still come free (its hold expires or is canceled): only paid seats are gone.
const UNSOLD_SEATS = `d.total_seats - ${seatsIn("'CONFIRMED'")}`;

export class CatalogRepository {
  constructor(private readonly db: Database) {}

  /** Concerts with at least one future date that still has a seat not SOLD. */
  async listConcerts(): Promise<ConcertSummary[]> {
    const rows = await this.db.sequelize.query<{ id: number; title: string; venue: string; next: Date; dates: number; opens_at: Date; min_price: number; max_price: number }>(
      `SELECT c.id, c.title, c.venue, min(d.starts_at) AS next, count(*)::int AS dates, coalesce(s.opens_at, c.created_at) AS opens_at,
              p.min_price, p.max_price
         FROM concerts c JOIN concert_dates d ON d.concert_id = c.id LEFT JOIN concert_sales s ON s.concert_id = c.id
              CROSS JOIN LATERAL (SELECT min(st.price)::int AS min_price, max(st.price)::int AS max_price
                                    FROM concert_dates fd JOIN seats st ON st.date_id = fd.id
                                   WHERE fd.concert_id = c.id AND fd.starts_at > now()) p
        WHERE d.starts_at > now() AND ${UNSOLD_SEATS} > 0
        GROUP BY c.id, s.opens_at, p.min_price, p.max_price ORDER BY next, c.id`,
      { type: QueryTypes.SELECT },
    );
    return rows.map((r) => ({
      id: r.id,
      title: r.title,
      venue: r.venue,
      nextDateAt: r.next.toISOString(),
      availableDates: r.dates,
      opensAt: r.opens_at.toISOString(),
      minPrice: r.min_price,
      maxPrice: r.max_price,
    }));
  }

  /** Future dates of a concert, soonest first; null when the concert does not exist. */
  async listDates(concertId: number): Promise<DateSummary[] | null> {
    if (!isDbId(concertId)) return null;
    const concert = await this.db.models.Concert.findByPk(concertId, { attributes: ['id'] });
    if (!concert) return null;
    const rows = await this.db.sequelize.query<{ id: number; starts_at: Date; total_seats: number; free: number; held: number }>(
      `SELECT d.id, d.starts_at, d.total_seats, ${FREE_SEATS} AS free, ${HELD_SEATS} AS held
         FROM concert_dates d WHERE d.concert_id = :concertId AND d.starts_at > now()
        ORDER BY d.starts_at, d.id`,
      { type: QueryTypes.SELECT, replacements: { concertId } },
    );
    return rows.map((r) => ({ id: r.id, startsAt: r.starts_at.toISOString(), totalSeats: r.total_seats, freeSeats: r.free, heldSeats: r.held }));
  }

  async findDate(dateId: number): Promise<DateInfo | null> {
    if (!isDbId(dateId)) return null;
    const date = await this.db.models.ConcertDate.findByPk(dateId, { attributes: ['id', 'concertId', 'startsAt'] });
    return date ? { id: date.id, concertId: date.concertId, startsAt: date.startsAt } : null;
  }

  async concertExists(concertId: number): Promise<boolean> {
    if (!isDbId(concertId)) return false;
    return (await this.db.models.Concert.findByPk(concertId, { attributes: ['id'] })) !== null;
  }

  /** Whether any future date of the concert has a seat not SOLD (committed state): not sold out. */
  async hasUnsoldSeat(concertId: number): Promise<boolean> {
    if (!isDbId(concertId)) return false;
    const [row] = await this.db.sequelize.query<{ unsold: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM concert_dates d WHERE d.concert_id = :concertId AND d.starts_at > now() AND ${UNSOLD_SEATS} > 0) AS unsold`,
      { type: QueryTypes.SELECT, replacements: { concertId } },
    );
    return row?.unsold ?? false;
  }

  /** `withConcert` runs in the same transaction once the concert exists (its sale settings). */
  async createConcert<T = undefined>(input: NewConcert, withConcert?: (concertId: number, transaction: Transaction) => Promise<T>) {
    const { Concert } = this.db.models;
    return this.db.sequelize.transaction(async (transaction) => {
      const concert = await Concert.create({ title: input.title, venue: input.venue }, { transaction });
      const dates = [];
      for (const d of input.dates) dates.push(await this.insertDate(concert.id, d, transaction));
      const extra = await withConcert?.(concert.id, transaction);
      return { concert: { id: concert.id, title: concert.title, venue: concert.venue, dates }, extra };
    });
  }

  /** A date with its seats numbered 1..count; undefined when the concert does not exist. */
  async addDate<T = undefined>(concertId: number, input: NewDate, withDate?: (date: CreatedDate, transaction: Transaction) => Promise<T>) {
    if (!isDbId(concertId)) return undefined;
    return this.db.sequelize.transaction(async (transaction) => {
      const concert = await this.db.models.Concert.findByPk(concertId, { attributes: ['id'], transaction, lock: transaction.LOCK.UPDATE });
      if (!concert) return undefined;
      const date = await this.insertDate(concertId, input, transaction);
      await withDate?.(date, transaction);
      return date;
    });
  }

  /** Concerts with their dates (past ones too), for the operator; by id. */
  async concertsWithDates(concertIds?: number[]): Promise<{ id: number; title: string; venue: string; dates: CreatedDate[] }[]> {
    const ids = concertIds?.filter(isDbId);
    if (ids && ids.length === 0) return [];
    const rows = await this.db.sequelize.query<{ id: number; title: string; venue: string; dates: { id: number; startsAt: string; totalSeats: number }[] }>(
      `SELECT c.id, c.title, c.venue,
              coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'startsAt', d.starts_at, 'totalSeats', d.total_seats) ORDER BY d.starts_at, d.id)
                FILTER (WHERE d.id IS NOT NULL), '[]') AS dates
         FROM concerts c LEFT JOIN concert_dates d ON d.concert_id = c.id
        ${ids ? 'WHERE c.id IN (:ids)' : ''} GROUP BY c.id ORDER BY c.id`,
      { type: QueryTypes.SELECT, replacements: { ids: ids ?? [] } },
    );
    return rows.map((r) => ({ ...r, dates: r.dates.map((d) => ({ ...d, startsAt: new Date(d.startsAt).toISOString() })) }));
  }

  private async insertDate(concertId: number, d: NewDate, transaction: Transaction): Promise<CreatedDate> {
    const { ConcertDate, Seat } = this.db.models;
    const date = await ConcertDate.create({ concertId, startsAt: new Date(d.startsAt), totalSeats: d.seats.count }, { transaction });
    const seats = Array.from({ length: d.seats.count }, (_, i) => ({
      dateId: date.id,
      number: i + 1,
      grade: d.seats.grade ?? 'GENERAL',
      price: d.seats.price,
    }));
    await Seat.bulkCreate(seats, { transaction });
    return { id: date.id, startsAt: date.startsAt.toISOString(), totalSeats: date.totalSeats };
  }

  async isEmpty(): Promise<boolean> {
    return (await this.db.models.Concert.count()) === 0;
  }
}
