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
  const dateIds: number[] = [];
  for (const demo of demos) {
    const { concert } = await catalog.createConcert({
      title: demo.title,
      venue: demo.venue,
      dates: demo.days.map((d) => ({ startsAt: at(d, 10), seats: { count: 50, price: 80_000, grade: 'R' } })),
    });
    dateIds.push(...concert.dates.map((d) => d.id));
  }
  // The front rows cost more: seats 1..10 of the demo dates (only those) are VIP.
  await db.sequelize.query(`UPDATE seats SET grade = 'VIP', price = 150000 WHERE number <= 10 AND date_id IN (:dateIds)`, {
    replacements: { dateIds },
  });
}
