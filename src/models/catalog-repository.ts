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

/** A date's seats as of one committed version of its seat map. */
interface DateCounts {
  version: number;
  free: number;
  held: number;
  /** Not SOLD: a held seat may still come free (its hold expires or is canceled). */
  unsold: number;
  minPrice: number;
  maxPrice: number;
}

interface FutureDate {
  id: number;
  version: number;
  starts_at: Date;
  total_seats: number;
}

export class CatalogRepository {
  /**
   * Counts by date, kept until a commit moves the date's version: a date's
   * version is written in the same transaction as the seats it counts, and
   * read in the same statement as the counts here, so a kept count is never
   * older than the version it names. Counting costs PostgreSQL milliseconds
   * on a date full of holds (BENCHMARKS.md "Cut 5f"); a sale's catalog reads
   * then count each date at most once per commit, not once per read.
   */
  private readonly counts = new Map<number, DateCounts>();

  constructor(private readonly db: Database) {}

  /** Concerts with at least one future date that still has a seat not SOLD. */
  async listConcerts(): Promise<ConcertSummary[]> {
    const rows = await this.db.sequelize.query<FutureDate & { concert_id: number; title: string; venue: string; opens_at: Date }>(
      `SELECT c.id AS concert_id, c.title, c.venue, coalesce(s.opens_at, c.created_at) AS opens_at, d.id, d.version, d.starts_at, d.total_seats
         FROM concerts c JOIN concert_dates d ON d.concert_id = c.id LEFT JOIN concert_sales s ON s.concert_id = c.id
        WHERE d.starts_at > now()`,
      { type: QueryTypes.SELECT },
    );
    const counts = await this.countsOf(rows);
    const concerts = new Map<number, ConcertSummary & { next: number }>();
    for (const r of rows) {
      const c = counts.get(r.id);
      if (!c) continue;
      let concert = concerts.get(r.concert_id);
      if (!concert) {
        concert = { id: r.concert_id, title: r.title, venue: r.venue, nextDateAt: '', availableDates: 0, opensAt: r.opens_at.toISOString(), minPrice: c.minPrice, maxPrice: c.maxPrice, next: Infinity };
        concerts.set(r.concert_id, concert);
      }
      // Prices span every future date; the next date and the count only those with a seat not SOLD.
      concert.minPrice = Math.min(concert.minPrice, c.minPrice);
      concert.maxPrice = Math.max(concert.maxPrice, c.maxPrice);
      if (c.unsold > 0) {
        concert.availableDates += 1;
        concert.next = Math.min(concert.next, r.starts_at.getTime());
      }
    }
    return [...concerts.values()]
      .filter((c) => c.availableDates > 0)
      .sort((a, b) => a.next - b.next || a.id - b.id)
      .map(({ next, ...c }) => ({ ...c, nextDateAt: new Date(next).toISOString() }));
  }

  /** Future dates of a concert, soonest first; null when the concert does not exist. */
  async listDates(concertId: number): Promise<DateSummary[] | null> {
    if (!isDbId(concertId)) return null;
    const dates = await this.futureDates(concertId);
    // A future date names its concert: only a concert without one needs asking whether it exists.
    if (dates.length === 0 && !(await this.concertExists(concertId))) return null;
    const counts = await this.countsOf(dates);
    return dates.flatMap((d) => {
      const c = counts.get(d.id);
      return c ? [{ id: d.id, startsAt: d.starts_at.toISOString(), totalSeats: d.total_seats, freeSeats: c.free, heldSeats: c.held }] : [];
    });
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
    const dates = await this.futureDates(concertId);
    const counts = await this.countsOf(dates);
    return dates.some((d) => (counts.get(d.id)?.unsold ?? 0) > 0);
  }

  private futureDates(concertId: number): Promise<FutureDate[]> {
    return this.db.sequelize.query<FutureDate>(
      `SELECT d.id, d.version, d.starts_at, d.total_seats FROM concert_dates d
        WHERE d.concert_id = :concertId AND d.starts_at > now() ORDER BY d.starts_at, d.id`,
      { type: QueryTypes.SELECT, replacements: { concertId } },
    );
  }

  /** The counts of these dates, counting again only those whose version moved since they were kept. */
  private async countsOf(dates: Pick<FutureDate, 'id' | 'version'>[]): Promise<Map<number, DateCounts>> {
    // A kept count newer than the version just read is newer still: versions only grow.
    const stale = dates.filter((d) => (this.counts.get(d.id)?.version ?? -1) < d.version).map((d) => d.id);
    if (stale.length > 0) {
      const rows = await this.db.sequelize.query<DateCounts & { id: number }>(
        `SELECT d.id, d.version, ${FREE_SEATS} AS "free", ${HELD_SEATS} AS held, ${UNSOLD_SEATS} AS unsold,
                p.min_price AS "minPrice", p.max_price AS "maxPrice"
           FROM concert_dates d CROSS JOIN LATERAL (SELECT min(price)::int AS min_price, max(price)::int AS max_price FROM seats WHERE date_id = d.id) p
          WHERE d.id = ANY($1::int[])`,
        { type: QueryTypes.SELECT, bind: [[...new Set(stale)]] },
      );
      for (const { id, ...c } of rows) {
        if ((this.counts.get(id)?.version ?? -1) <= c.version) this.counts.set(id, c);
      }
    }
    return this.counts;
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
