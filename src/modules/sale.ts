import type { Redis } from 'ioredis';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Database } from '../models/database';
import type { CatalogRepository } from '../models/catalog-repository';
import { SaleRepository } from '../models/sale-repository';
import type { Sale, SaleStats } from '../protocol/events';
import { adminCommands, type AdminService } from '../handlers/admin';
import type { Command } from '../handlers/command';
import { SaleBook } from '../rooms/queue/sale-book';
import type { QueueCounts } from '../rooms/queue/queue-store';

export interface SaleModuleDeps {
  config: Config;
  log: Logger;
  db: Database;
  catalog: CatalogRepository;
  /** Set with REDIS_URL: changes reach the other instances on this client's pub/sub. */
  redis?: Redis;
}

export interface SaleModule {
  book: SaleBook;
  /** The operator API; needs the waiting rooms' live figures. */
  commands(queueCounts: (concertId: number) => Promise<QueueCounts>): Command[];
  close(): Promise<void>;
}

/** A copy older than this is read again even without a message (a lost one costs at most this long). */
const SALE_MAX_AGE_MS = 5000;

/**
 * Sale settings per concert: stored in PostgreSQL, copied on each instance
 * (SaleBook), and, with Redis, each change announced on a channel so every
 * other instance reads it again before its next tick.
 */
export function createSaleModule(deps: SaleModuleDeps): SaleModule {
  const { config, log, db, catalog, redis } = deps;
  const defaults = {
    admitPerTick: config.queueAdmitBatch,
    maxActive: config.queueMaxActive,
    activeTtlSeconds: config.queueActiveTtlSeconds,
    paused: false,
    challenge: config.queueChallenge,
  };
  const sales = new SaleRepository(db, defaults);
  const book = new SaleBook(sales, SALE_MAX_AGE_MS);
  const channel = `${config.redisPrefix}sale`;
  // No retry limit: through a Redis outage it waits, and re-subscribes when Redis returns.
  const subscriber = redis?.duplicate({ enableAutoPipelining: false, maxRetriesPerRequest: null });
  // The app's own connections log an outage; this one reconnects with them.
  subscriber?.on('error', () => undefined);
  const subscribed = subscriber?.subscribe(channel).catch((err: unknown) => log.error({ err }, 'sale channel subscription failed'));
  subscriber?.on('message', (_channel: string, message: string) => {
    const concertId = Number(message);
    if (Number.isInteger(concertId)) book.forget(concertId);
  });

  const changed = async (concertId: number, sale: Sale) => {
    book.set(concertId, sale);
    // Best effort: the change is committed; an instance that misses the message reads it within SALE_MAX_AGE_MS.
    await redis?.publish(channel, String(concertId)).catch((err: unknown) => log.warn({ err, concertId }, 'sale change not announced'));
  };

  const statsOf = async (ids: number[], queueCounts: (concertId: number) => Promise<QueueCounts>) => {
    const seats = await sales.seatStats(ids);
    const out = new Map<number, SaleStats>();
    await Promise.all(
      ids.map(async (id) => {
        const q = await queueCounts(id);
        const s = seats.get(id) ?? { holds: 0, sold: 0, revenue: 0, dates: [] };
        out.set(id, { waiting: q.waiting, preQueued: q.preQueued, active: q.active, admittedLastMinute: q.admittedLastMinute, ...s });
      }),
    );
    return out;
  };

  return {
    book,
    commands(queueCounts) {
      const admin: AdminService = {
        async createConcert({ sale, ...input }) {
          const created = await catalog.createConcert(input, async (concertId, t) => {
            const opensAt = sale?.opensAt ?? new Date().toISOString();
            return (await sales.update(concertId, { ...sale, opensAt }, t, true))?.sale;
          });
          const stored = created.extra ?? (await sales.get(created.concert.id));
          if (!stored) throw new Error('a created concert has no sale settings');
          await changed(created.concert.id, stored);
          return { concert: { ...created.concert, sale: stored } };
        },
        async listConcerts() {
          const concerts = await catalog.concertsWithDates();
          const [saleOf, stats] = await Promise.all([sales.many(), statsOf(concerts.map((c) => c.id), queueCounts)]);
          return concerts.flatMap(({ dates: _dates, ...c }) => {
            const sale = saleOf.get(c.id);
            const s = stats.get(c.id);
            return sale && s ? [{ ...c, sale, stats: s }] : [];
          });
        },
        async getConcert(concertId) {
          const [concert] = await catalog.concertsWithDates([concertId]);
          const sale = await sales.get(concertId);
          const stats = (await statsOf([concertId], queueCounts)).get(concertId);
          return concert && sale && stats ? { ...concert, sale, stats } : undefined;
        },
        async updateSale(concertId, patch) {
          const updated = await sales.update(concertId, patch);
          if (!updated) return undefined;
          await changed(concertId, updated.sale);
          return updated.sale;
        },
        addDate: (concertId, date) =>
          catalog.addDate(concertId, date, (d, t) => sales.record(concertId, { date: [null, d] }, t)),
        audit: (concertId, limit) => sales.audit(concertId, limit),
      };
      return adminCommands(admin);
    },
    async close() {
      await subscribed;
      await subscriber?.quit().catch(() => undefined);
    },
  };
}
