/**
 * PROTOCOL.md acceptance, catalog and operations: health and metrics, unknown
 * routes, concerts created by the admin, the concert list and a concert's
 * dates on both transports, the demo seed, and health once the database is gone.
 *
 * Where PROTOCOL.md is ambiguous and docs/api.md (or a page it links)
 * documents the choice, the documented choice is asserted and marked
 * "documented choice".
 *
 * Servers: main (FAST_QUEUE, the test admin token); the last two tests bring
 * their own database or server.
 */
import { QueryTypes } from 'sequelize';
import { Client } from 'pg';
import { ADMIN_TOKEN, http, serverFor, signup, startServer, type TestServer } from '../support/server';
import { ask, client, closeClients } from '../support/clients';
import { PG_ADMIN_URL, testDatabaseUrl } from '../support/env';
import { FAST_QUEUE, activeToken } from '../support/queue';
import { anId, anInt, expectAckError, expectAckOk, expectHttpError, freeSeats, isoTime, saleShape, seatMap } from '../support/shapes';
import { CatalogRepository } from '../../src/models/catalog-repository';
import { openDatabase } from '../../src/models/database';
import { seedDemo } from '../../src/models/seed';

afterEach(closeClients);

describe('operations and the catalog', () => {
  let main: TestServer;
  serverFor({ env: { ...FAST_QUEUE } }, (s) => (main = s));

  it('health answers 200 {status: "ok"} and metrics answer Prometheus text', async () => {
    const health = await http(main, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const metrics = await http(main, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(typeof metrics.body).toBe('string');
    expect(metrics.body).toMatch(/^# (HELP|TYPE) \w+/m);
    expect(metrics.body).toMatch(/^\w+(\{[^}]*\})? [-+0-9.eE]+(Inf)?( \d+)?$/m);
  });

  it('an unknown route is 404 NOT_FOUND with the error body', async () => {
    const user = await signup(main);
    expectHttpError(await http(main, 'GET', '/nope', { token: user.token }), 404, 'NOT_FOUND');
  });

  it('an admin creates a concert: 201 {concert: {id, title, venue, sale, dates: [{id, startsAt, totalSeats}]}}, seats numbered 1..count with grade and price', async () => {
    const at1 = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const at2 = new Date(Date.now() + 4 * 86_400_000).toISOString();
    const res = await http(main, 'POST', '/admin/concerts', {
      token: ADMIN_TOKEN,
      body: {
        title: 'Admin show',
        venue: 'Hall A',
        dates: [
          { startsAt: at1, seats: { count: 3, price: 1500, grade: 'VIP' } },
          { startsAt: at2, seats: { count: 2, price: 700 } },
        ],
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      concert: {
        id: anId(),
        title: 'Admin show',
        venue: 'Hall A',
        sale: saleShape({ admitPerTick: 1000, maxActive: 100000 }),
        dates: [
          { id: anId(), startsAt: at1, totalSeats: 3 },
          { id: anId(), startsAt: at2, totalSeats: 2 },
        ],
      },
    });
    const concert = res.body.concert;
    const user = await signup(main);
    const qt = await activeToken(main, user, concert.id);
    const m1 = await http(main, 'GET', `/dates/${concert.dates[0].id}/seats`, { token: user.token, headers: { 'queue-token': qt } });
    expect(m1.status).toBe(200);
    expect(m1.body).toEqual(seatMap(concert.dates[0].id, concert.id, at1, freeSeats(3, 1500, 'VIP')));
    const m2 = await http(main, 'GET', `/dates/${concert.dates[1].id}/seats`, { token: user.token, headers: { 'queue-token': qt } });
    expect(m2.body).toEqual(seatMap(concert.dates[1].id, concert.id, at2, freeSeats(2, 700)));
  });

  it('creating a concert is refused without the admin token (401) and with a bad body (400)', async () => {
    const user = await signup(main);
    const body = { title: 'x', venue: 'y', dates: [{ startsAt: new Date(Date.now() + 86_400_000).toISOString(), seats: { count: 1, price: 1 } }] };
    expectHttpError(await http(main, 'POST', '/admin/concerts', { token: 'wrong', body }), 401, 'UNAUTHORIZED');
    expectHttpError(await http(main, 'POST', '/admin/concerts', { token: user.token, body }), 401, 'UNAUTHORIZED');
    expectHttpError(await http(main, 'POST', '/admin/concerts', { body }), 401, 'UNAUTHORIZED');
    const bad = await http(main, 'POST', '/admin/concerts', { token: ADMIN_TOKEN, body: { ...body, dates: [{ startsAt: 'tomorrow', seats: { count: 0, price: 1 } }] } });
    expectHttpError(bad, 400, 'VALIDATION_FAILED');
  });

  it('the concert list (GET /concerts, concerts:list) is {concerts: [{id, title, venue, nextDateAt, availableDates, opensAt, minPrice, maxPrice}]} with only concerts that have a bookable future date, prices of future dates only', async () => {
    const day = 86_400_000;
    const past = new Date(Date.now() - day).toISOString();
    const soon = new Date(Date.now() + 2 * day).toISOString();
    const later = new Date(Date.now() + 5 * day).toISOString();
    // A past date's seats are the cheapest and the dearest: they must not count in the price range.
    const price = (startsAt: string) => (startsAt === past ? 50 : startsAt === soon ? 300 : 200);
    const mk = (title: string, dates: string[]) =>
      http(main, 'POST', '/admin/concerts', { token: ADMIN_TOKEN, body: { title, venue: 'V', dates: dates.map((startsAt) => ({ startsAt, seats: { count: 2, price: price(startsAt) } })) } });
    const listed = (await mk('Listed', [later, past, soon])).body.concert;
    const pastOnly = (await mk('Past only', [past])).body.concert;
    const user = await signup(main);

    const res = await http(main, 'GET', '/concerts', { token: user.token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['concerts']);
    for (const c of res.body.concerts) expect(c).toEqual({ id: anId(), title: expect.any(String), venue: expect.any(String), nextDateAt: isoTime(), availableDates: anInt(1), opensAt: isoTime(), minPrice: anInt(1), maxPrice: anInt(1) });
    expect(res.body.concerts.find((c: any) => c.id === listed.id)).toEqual({ id: listed.id, title: 'Listed', venue: 'V', nextDateAt: soon, availableDates: 2, opensAt: isoTime(), minPrice: 200, maxPrice: 300 });
    expect(res.body.concerts.find((c: any) => c.id === pastOnly.id)).toBeUndefined();

    const socket = await client(main, user.token);
    const list = expectAckOk(await ask(socket, 'concerts:list', {}));
    expect(Object.keys(list)).toEqual(['concerts']);
    expect(list.concerts.find((c: any) => c.id === listed.id)).toEqual({ id: listed.id, title: 'Listed', venue: 'V', nextDateAt: soon, availableDates: 2, opensAt: isoTime(), minPrice: 200, maxPrice: 300 });
    expect(list.concerts.find((c: any) => c.id === pastOnly.id)).toBeUndefined();
    const noDates = await http(main, 'GET', `/concerts/${pastOnly.id}/dates`, { token: user.token });
    expect(noDates.status).toBe(200);
    expect(noDates.body).toEqual({ dates: [] });
  });

  it('a concert’s dates (GET /concerts/:id/dates, concert:dates) are {dates: [{id, startsAt, totalSeats, freeSeats, heldSeats}]}, future ones only, soonest first (documented choice); an unknown concert is 404, a malformed id 400', async () => {
    const day = 86_400_000;
    const past = new Date(Date.now() - day).toISOString();
    const soon = new Date(Date.now() + 2 * day).toISOString();
    const later = new Date(Date.now() + 5 * day).toISOString();
    const created = await http(main, 'POST', '/admin/concerts', {
      token: ADMIN_TOKEN,
      body: { title: 'Dates', venue: 'V', dates: [later, past, soon].map((startsAt) => ({ startsAt, seats: { count: 4, price: 100 } })) },
    });
    const concert = created.body.concert;
    const [laterId, , soonId] = concert.dates.map((d: any) => d.id);
    const user = await signup(main);
    const res = await http(main, 'GET', `/concerts/${concert.id}/dates`, { token: user.token });
    expect(res.status).toBe(200);
    const expected = {
      dates: [
        { id: soonId, startsAt: soon, totalSeats: 4, freeSeats: 4, heldSeats: 0 },
        { id: laterId, startsAt: later, totalSeats: 4, freeSeats: 4, heldSeats: 0 },
      ],
    };
    expect(res.body).toEqual(expected);
    const socket = await client(main, user.token);
    expect(expectAckOk(await ask(socket, 'concert:dates', { concertId: concert.id }))).toEqual(expected);

    expectHttpError(await http(main, 'GET', '/concerts/2147483000/dates', { token: user.token }), 404, 'NOT_FOUND');
    expectAckError(await ask(socket, 'concert:dates', { concertId: 2147483000 }), 'NOT_FOUND');
    expectHttpError(await http(main, 'GET', '/concerts/abc/dates', { token: user.token }), 400, 'VALIDATION_FAILED');
    expectAckError(await ask(socket, 'concert:dates', { concertId: 'abc' }), 'VALIDATION_FAILED');
    // A catalog is public: no token needed.
    expect(await http(main, 'GET', `/concerts/${concert.id}/dates`)).toMatchObject({ status: 200, body: expected });
    expect((await http(main, 'GET', '/concerts')).body.concerts).toContainEqual(expect.objectContaining({ id: concert.id }));
  });
});

describe('the demo seed and the health check, on a database or server of their own', () => {
  it('SEED_DEMO on a database that already has concerts loads the demo concerts (50 seats each) and leaves other concerts’ seats alone', async () => {
    const name = `tix_protocol_seed_${Date.now()}_${process.pid}`;
    const admin = new Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${name}`;
      const db = await openDatabase(url.toString(), 2);
      try {
        const catalog = new CatalogRepository(db);
        const startsAt = new Date(Date.now() + 86_400_000).toISOString();
        const mine = await catalog.createConcert({ title: 'Mine', venue: 'V', dates: [{ startsAt, seats: { count: 12, price: 1000 } }] });
        await seedDemo(db, catalog);
        const seats = await db.sequelize.query<{ number: number; grade: string; price: number }>(
          'SELECT number, grade, price FROM seats WHERE date_id = $1 ORDER BY number',
          { bind: [mine.concert.dates[0]!.id], type: QueryTypes.SELECT },
        );
        expect(seats).toEqual(Array.from({ length: 12 }, (_, i) => ({ number: i + 1, grade: 'GENERAL', price: 1000 })));
        const demo = await catalog.listConcerts();
        expect(demo.filter((c) => c.id !== mine.concert.id).length).toBeGreaterThan(0);
        for (const c of demo.filter((x) => x.id !== mine.concert.id)) {
          for (const d of (await catalog.listDates(c.id)) ?? []) expect(d).toMatchObject({ totalSeats: 50, freeSeats: 50 });
        }
      } finally {
        await db.close();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    }
  });

  it('once the database does not answer, /ready answers 503 unavailable and /health (liveness) still 200', async () => {
    const db = await openDatabase(testDatabaseUrl(), 2);
    const server = await startServer({ db });
    try {
      expect(await http(server, 'GET', '/ready')).toMatchObject({ status: 200, body: { status: 'ready' } });
      await db.close();
      expect(await http(server, 'GET', '/ready')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
      expect(await http(server, 'GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
    } finally {
      await server.close();
    }
  });
});
