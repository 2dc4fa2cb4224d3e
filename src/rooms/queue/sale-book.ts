import type { Sale } from '../../protocol/events';
import { systemClock, type Clock } from '../../timers/clock';

/** Where sale settings are stored (PostgreSQL). */
export interface SaleSource {
  many(concertIds: number[]): Promise<Map<number, Sale>>;
}

/**
 * This instance's copy of each concert's sale settings, read by every tick
 * and queue status. A change made here is set at once; a change made on
 * another instance arrives as `forget` (Redis pub/sub), so the next read
 * loads it. Copies older than `maxAgeMs` are read again: a lost message
 * delays a change by at most that long, never forever. While the source
 * fails, the last copy keeps serving (ticks go on with the settings they had).
 */
export class SaleBook {
  private readonly copies = new Map<number, { sale: Sale; at: number }>();
  /** Loads in flight: concurrent first reads of a concert share one query. */
  private readonly loading = new Map<number, Promise<Sale | undefined>>();
  /** Bumped by forget(): a load that started before a forget must not store its older answer. */
  private generation = 0;

  constructor(
    private readonly source: SaleSource,
    private readonly maxAgeMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The concert's settings; undefined when there is no such concert. */
  async get(concertId: number): Promise<Sale | undefined> {
    const copy = this.copies.get(concertId);
    if (copy && this.clock.now() - copy.at < this.maxAgeMs) return copy.sale;
    let load = this.loading.get(concertId);
    if (!load) {
      const generation = this.generation;
      load = this.source
        .many([concertId])
        .then(
          (sales) => {
            const sale = sales.get(concertId);
            if (sale && generation === this.generation) this.copies.set(concertId, { sale, at: this.clock.now() });
            return sale;
          },
          (err: unknown) => {
            if (copy) return copy.sale;
            throw err;
          },
        )
        .finally(() => this.loading.delete(concertId));
      this.loading.set(concertId, load);
    }
    return load;
  }

  set(concertId: number, sale: Sale): void {
    this.copies.set(concertId, { sale, at: this.clock.now() });
  }

  forget(concertId: number): void {
    this.generation++;
    this.copies.delete(concertId);
    this.loading.delete(concertId);
  }
}
