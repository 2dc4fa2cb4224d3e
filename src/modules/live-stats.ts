import type { CatalogRepository, CreatedDate } from '../models/catalog-repository';
import type { AdminStats, SaleStats, SeatMap } from '../protocol/events';
import type { QueueCounts } from '../rooms/queue/queue-store';
import { systemClock, type Clock } from '../timers/clock';

export interface LiveStatsDeps {
  catalog: Pick<CatalogRepository, 'concertsWithDates'>;
  /** The waiting room's counters (the queue store keeps them anyway: no scan). */
  queueCounts(concertId: number): Promise<QueueCounts>;
  /** A date's seat map from its room (the owner's memory; elsewhere the committed map the buyers' reads share). */
  seatMap(dateId: number): Promise<SeatMap>;
  clock?: Clock;
}

/** The concerts and their dates change only by the operator's hand: read again at most this often. */
const CATALOG_MAX_AGE_MS = 5000;

/**
 * The operator's live figures of every concert on sale (one with a date not
 * started yet), built from what the rooms already know: the waiting room's
 * counters and each date room's seat states. No query over the seat or
 * reservation tables per push; only the small concert list is re-read, and
 * at most every few seconds.
 */
export function createLiveStats(deps: LiveStatsDeps): () => Promise<AdminStats[]> {
  const clock = deps.clock ?? systemClock;
  let catalog: { at: number; read: Promise<{ id: number; dates: CreatedDate[] }[]> } | undefined;
  const concerts = () => {
    if (!catalog || clock.now() - catalog.at >= CATALOG_MAX_AGE_MS) {
      const read = deps.catalog.concertsWithDates();
      // A failed read is not kept: the next push asks again.
      read.catch(() => (catalog = undefined));
      catalog = { at: clock.now(), read };
    }
    return catalog.read;
  };

  const one = async (concertId: number, dates: CreatedDate[], at: string): Promise<AdminStats> => {
    const [queue, maps] = await Promise.all([deps.queueCounts(concertId), Promise.all(dates.map((d) => deps.seatMap(d.id)))]);
    const stats: SaleStats = { waiting: queue.waiting, preQueued: queue.preQueued, active: queue.active, admittedLastMinute: queue.admittedLastMinute, holds: 0, sold: 0, revenue: 0, dates: [] };
    for (const map of maps) {
      const date = { dateId: map.dateId, free: 0, held: 0, sold: 0 };
      for (const seat of map.seats) {
        if (seat.status === 'FREE') date.free++;
        else if (seat.status === 'HELD') date.held++;
        else {
          date.sold++;
          stats.revenue += seat.price;
        }
      }
      stats.holds += date.held;
      stats.sold += date.sold;
      stats.dates.push(date);
    }
    return { concertId, at, stats };
  };

  return async () => {
    const now = clock.now();
    const at = new Date(now).toISOString();
    const onSale = (await concerts()).map((c) => ({ id: c.id, dates: c.dates.filter((d) => Date.parse(d.startsAt) > now) })).filter((c) => c.dates.length > 0);
    // One concert whose figures cannot be read (a date's owner is moving) does not hide the others.
    const read = await Promise.allSettled(onSale.map((c) => one(c.id, c.dates, at)));
    return read.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  };
}
