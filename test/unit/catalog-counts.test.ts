import { openDatabase, type Database } from '../../src/models/database';
import { CatalogRepository } from '../../src/models/catalog-repository';
import { ReservationRepository, type BatchInput } from '../../src/models/reservation-repository';
import { testDatabaseUrl } from '../support/env';

// The catalog's seat counts, kept by date version, against the run's real PostgreSQL; the holds are
// committed as another instance's date room would, straight through tix_commit_batch.
let db: Database;
let catalog: CatalogRepository;
let userId: number;
let concertId: number;
let dateIds: number[];
let counted = 0;
let firstHold = 0;
const versions = new Map<number, number>();

beforeAll(async () => {
  db = await openDatabase(testDatabaseUrl(), 2);
  // sequelize's types leave out the statement a query ran; it is there once the query ran.
  db.sequelize.addHook('afterQuery', (_options, query) => {
    if ((query as unknown as { sql?: string }).sql?.includes('reservation_seats')) counted += 1;
  });
  catalog = new CatalogRepository(db);
  userId = (await db.models.User.create({ name: `catalog-counts-${Date.now()}` })).id;
  const { concert } = await catalog.createConcert({
    title: 'catalog counts',
    venue: 'hall',
    dates: [
      { startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: 3, price: 100 } },
      { startsAt: new Date(Date.now() + 2 * 86_400_000).toISOString(), seats: { count: 2, price: 300 } },
    ],
  });
  concertId = concert.id;
  dateIds = concert.dates.map((d) => d.id);
});
afterAll(() => db.close());

/** One seat held on `dateId` by a commit at the date's next version, as a date room on any instance writes it. */
async function hold(dateId: number, seat: number): Promise<number> {
  const version = (versions.get(dateId) ?? 0) + 1;
  const at = new Date();
  const batch: BatchInput = {
    dateId,
    concertId,
    version,
    transitions: [],
    // Far ahead: other files check that no hold outlives its expiry, and nobody expires these.
    inserts: [{ userId, total: 100, expiresAt: new Date(at.getTime() + 3_600_000), createdAt: at, seats: [{ number: seat, price: 100 }] }],
    money: [],
  };
  const { ids } = await new ReservationRepository(db.sequelize).commitBatch(db.sequelize, batch);
  versions.set(dateId, version);
  return ids[0] as number;
}

async function confirm(dateId: number, reservationId: number): Promise<void> {
  const version = (versions.get(dateId) ?? 0) + 1;
  await new ReservationRepository(db.sequelize).commitBatch(db.sequelize, {
    dateId,
    concertId,
    version,
    transitions: [{ id: reservationId, prev: 'HELD', status: 'CONFIRMED', at: new Date() }],
    inserts: [],
    money: [],
  });
  versions.set(dateId, version);
}

const seats = async () => (await catalog.listDates(concertId))?.map((d) => [d.freeSeats, d.heldSeats]);
const listed = async () => (await catalog.listConcerts()).find((c) => c.id === concertId);

describe('CatalogRepository counts', () => {
  it('counts a date again only after a commit moved its version, and then shows that commit', async () => {
    expect(await seats()).toEqual([
      [3, 0],
      [2, 0],
    ]);
    const before = counted;
    expect(await seats()).toEqual([
      [3, 0],
      [2, 0],
    ]);
    expect(await catalog.hasUnsoldSeat(concertId)).toBe(true);
    expect(counted).toBe(before);

    firstHold = await hold(dateIds[0] as number, 1);
    expect(await seats()).toEqual([
      [2, 1],
      [2, 0],
    ]);
    expect(counted).toBe(before + 1);
  });

  it('drops a sold-out date from the concert at once, and the concert once every date is sold out', async () => {
    const [first, second] = dateIds as [number, number];
    expect(await listed()).toMatchObject({ availableDates: 2, minPrice: 100, maxPrice: 300 });
    for (const seat of [1, 2]) await confirm(second, await hold(second, seat));
    expect(await listed()).toMatchObject({ availableDates: 1, minPrice: 100, maxPrice: 300 });
    expect(await seats()).toEqual([
      [2, 1],
      [0, 0],
    ]);

    await confirm(first, firstHold);
    for (const seat of [2, 3]) await confirm(first, await hold(first, seat));
    expect(await listed()).toBeUndefined();
    expect(await catalog.hasUnsoldSeat(concertId)).toBe(false);
  });
});
