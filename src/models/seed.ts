import type { CatalogRepository } from './catalog-repository';
import type { Database } from './database';

const DAY = 86_400_000;

/** Demo concerts for a newcomer's first start: dates in the future, 50 seats each. */
export async function seedDemo(db: Database, catalog: CatalogRepository, now = Date.now()): Promise<void> {
  const at = (days: number, hour: number) => new Date(Math.floor((now + days * DAY) / DAY) * DAY + hour * 3_600_000).toISOString();
  const demos = [
    { title: 'Aurora Symphony Live', venue: 'Seoul Olympic Hall', days: [7, 8, 14] },
    { title: 'Neon Nights Tour', venue: 'Busan Dream Arena', days: [10, 21] },
    { title: 'Quiet Strings Recital', venue: 'Daegu Concert House', days: [30] },
  ];
  for (const demo of demos) {
    // The front rows cost more: seats 1..10 of the demo dates are VIP. Set in the concert's own
    // transaction, so no reader (nor the catalog's counts kept by version) sees the dates without it.
    await catalog.createConcert(
      {
        title: demo.title,
        venue: demo.venue,
        dates: demo.days.map((d) => ({ startsAt: at(d, 10), seats: { count: 50, price: 80_000, grade: 'R' } })),
      },
      async (concertId, transaction) => {
        await db.sequelize.query(
          `UPDATE seats SET grade = 'VIP', price = 150000 WHERE number <= 10 AND date_id IN (SELECT id FROM concert_dates WHERE concert_id = :concertId)`,
          { replacements: { concertId }, transaction },
        );
      },
    );
  }
}
