/**
 * The operated sale (PROTOCOL.md "Sale settings, pre-queue and the operator"):
 * sale settings per concert through the operator API, their audit trail, and
 * pause and pace taking effect on the waiting room's next tick.
 *
 * Server: one, admitting every 100 ms, defaults QUEUE_ADMIT_BATCH=2,
 * QUEUE_MAX_ACTIVE=3, QUEUE_ACTIVE_TTL_SECONDS=30 (so the defaults can be told apart).
 */
import { ADMIN_TOKEN, createConcert, http, serverFor, signup, startServer, type TestServer } from '../support/server';
import { closeClients } from '../support/clients';
import { buyer, hold, pay } from '../support/buyers';
import { closeAll, leave, waiter, type Waiter } from '../support/queue';
import { anId, expectHttpError, isoTime, saleShape } from '../support/shapes';
import { eventually, waitFor } from '../support/wait';
import type { QueueTick } from '../../src/protocol/events';

afterEach(closeClients);

const ENV = { QUEUE_ADMIT_INTERVAL_MS: '100', QUEUE_ADMIT_BATCH: '2', QUEUE_MAX_ACTIVE: '3', QUEUE_ACTIVE_TTL_SECONDS: '30' };
const admin = (server: TestServer, method: string, path: string, body?: unknown) => http(server, method, path, { token: ADMIN_TOKEN, body });

describe('sale settings and the operator API', () => {
  let main: TestServer;
  serverFor({ env: ENV }, (s) => (main = s));

  it('a new concert sells with the environment’s defaults, opening now; given settings are stored and returned', async () => {
    const before = Date.now();
    const plain = await createConcert(main);
    expect(plain.sale).toEqual({ opensAt: isoTime(), admitPerTick: 2, maxActive: 3, activeTtlSeconds: 30, paused: false, challenge: 'off' });
    expect(Date.parse(plain.sale['opensAt'])).toBeGreaterThanOrEqual(before - 1000);
    const opensAt = '2031-05-01T11:00:00.000Z';
    const set = await createConcert(main, { sale: { opensAt, admitPerTick: 7, paused: true, challenge: 'pow' } });
    expect(set.sale).toEqual({ opensAt, admitPerTick: 7, maxActive: 3, activeTtlSeconds: 30, paused: true, challenge: 'pow' });
    const got = await admin(main, 'GET', `/admin/concerts/${set.id}`);
    expect(got.status).toBe(200);
    expect(got.body['concert']).toEqual({
      id: set.id,
      title: expect.any(String),
      venue: 'Test hall',
      sale: set.sale,
      dates: set.dates,
      stats: { waiting: 0, preQueued: 0, active: 0, admittedLastMinute: 0, holds: 0, sold: 0, revenue: 0, dates: [{ dateId: set.dates[0]!.id, free: 50, held: 0, sold: 0 }] },
    });
    const list = await admin(main, 'GET', '/admin/concerts');
    expect(list.status).toBe(200);
    expect(list.body['concerts'].find((c: { id: number }) => c.id === set.id)).toEqual({ id: set.id, title: expect.any(String), venue: 'Test hall', sale: set.sale, stats: got.body['concert'].stats });
    const pub = await http(main, 'GET', '/concerts', { token: (await signup(main)).token });
    expect(pub.body['concerts'].find((c: { id: number }) => c.id === set.id)).toMatchObject({ opensAt });
  });

  it('PATCH changes only the given fields, answers {sale}, and every change is in the audit, newest first, with the values before and after', async () => {
    const concert = await createConcert(main);
    const patched = await admin(main, 'PATCH', `/admin/concerts/${concert.id}/sale`, { admitPerTick: 5, paused: true });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ sale: { ...concert.sale, admitPerTick: 5, paused: true } });
    const opensAt = '2030-02-03T04:05:06.000Z';
    await admin(main, 'PATCH', `/admin/concerts/${concert.id}/sale`, { paused: false, opensAt: '2030-02-03T04:05:06Z' });
    // The same values again change nothing and record nothing.
    expect((await admin(main, 'PATCH', `/admin/concerts/${concert.id}/sale`, { paused: false })).body).toEqual({ sale: { ...concert.sale, admitPerTick: 5, opensAt } });
    const date = await admin(main, 'POST', `/admin/concerts/${concert.id}/dates`, { startsAt: '2032-01-01T19:00:00Z', seats: { count: 3, price: 900, grade: 'R' } });
    expect(date.status).toBe(201);
    expect(date.body).toEqual({ date: { id: anId(), startsAt: '2032-01-01T19:00:00.000Z', totalSeats: 3 } });

    const audit = await admin(main, 'GET', `/admin/audit?concertId=${concert.id}&limit=10`);
    expect(audit.status).toBe(200);
    expect(audit.body).toEqual({
      entries: [
        { at: isoTime(), concertId: concert.id, change: { date: [null, date.body['date']] } },
        { at: isoTime(), concertId: concert.id, change: { paused: [true, false], opensAt: [concert.sale['opensAt'], opensAt] } },
        { at: isoTime(), concertId: concert.id, change: { admitPerTick: [2, 5], paused: [false, true] } },
        { at: isoTime(), concertId: concert.id, change: Object.fromEntries(Object.entries(concert.sale).map(([k, v]) => [k, [null, v]])) },
      ],
    });
    const ats = (audit.body['entries'] as { at: string }[]).map((e) => Date.parse(e.at));
    expect([...ats].sort((a, b) => b - a)).toEqual(ats);
    expect((await admin(main, 'GET', `/admin/audit?concertId=${concert.id}&limit=1`)).body['entries']).toEqual([audit.body['entries'][0]]);
    const all = await admin(main, 'GET', '/admin/audit?limit=1000');
    expect(all.body['entries']).toEqual(expect.arrayContaining(audit.body['entries']));
    const seats = await admin(main, 'GET', `/admin/concerts/${concert.id}`);
    expect(seats.body['concert'].dates).toHaveLength(2);
    expect(seats.body['concert'].stats.dates).toContainEqual({ dateId: date.body['date'].id, free: 3, held: 0, sold: 0 });
  });

  it('refuses bad settings, unknown concerts and callers without the admin token', async () => {
    const concert = await createConcert(main);
    for (const body of [{ admitPerTick: 0 }, { paused: 'yes' }, { challenge: 'captcha' }, { opensAt: 'tomorrow' }, { extra: 1 }, { maxActive: 1.5 }]) {
      expectHttpError(await admin(main, 'PATCH', `/admin/concerts/${concert.id}/sale`, body), 400, 'VALIDATION_FAILED');
    }
    expectHttpError(await admin(main, 'PATCH', '/admin/concerts/99999999/sale', { paused: true }), 404, 'NOT_FOUND');
    expectHttpError(await admin(main, 'GET', '/admin/concerts/99999999'), 404, 'NOT_FOUND');
    expectHttpError(await admin(main, 'POST', '/admin/concerts/99999999/dates', { startsAt: '2032-01-01T19:00:00Z', seats: { count: 1, price: 1 } }), 404, 'NOT_FOUND');
    expectHttpError(await admin(main, 'GET', '/admin/audit?limit=0'), 400, 'VALIDATION_FAILED');
    const user = await signup(main);
    for (const [method, path] of [['GET', '/admin/concerts'], ['GET', `/admin/concerts/${concert.id}`], ['PATCH', `/admin/concerts/${concert.id}/sale`], ['GET', '/admin/audit']] as const) {
      expectHttpError(await http(main, method, path, { token: user.token, body: method === 'PATCH' ? { paused: true } : undefined }), 401, 'UNAUTHORIZED');
    }
    expect((await admin(main, 'GET', `/admin/concerts/${concert.id}`)).body['concert'].sale).toEqual(concert.sale);
  });

  it('stats count the waiting, the active, the admitted of the last minute, held and sold seats and the revenue', async () => {
    const concert = await createConcert(main, { seats: 10, price: 700, sale: { maxActive: 2 } });
    const [first, second] = [await buyer(main, concert.id), await buyer(main, concert.id, { balance: 5000 })];
    const waiters = [await waiter(main, concert.id), await waiter(main, concert.id)];
    const dateId = concert.dates[0]!.id;
    expect(await hold(first, dateId, [1, 2])).toMatchObject({ ok: true });
    const held = await hold(second, dateId, [3]);
    expect(await pay(second, held.data.id)).toMatchObject({ ok: true });
    // The payer's slot goes to the first waiter at the next tick.
    await waitFor(() => waiters[0]!.admitted.length === 1, 'the first waiter admitted');
    await eventually(async () => {
      const res = await admin(main, 'GET', `/admin/concerts/${concert.id}`);
      expect(res.body['concert'].stats).toEqual({
        waiting: 1,
        preQueued: 0,
        active: 2,
        admittedLastMinute: 3,
        holds: 2,
        sold: 1,
        revenue: 700,
        dates: [{ dateId, free: 7, held: 2, sold: 1 }],
      });
    });
    closeAll(waiters);
  });

  it('pausing stops admissions from the next tick (ticks say paused, with no estimate; leaves still tick); resuming admits in ticket order', async () => {
    const concert = await createConcert(main, { sale: { admitPerTick: 1, maxActive: 100, paused: true } });
    const waiters: Waiter[] = [];
    for (let i = 0; i < 4; i++) waiters.push(await waiter(main, concert.id));
    const last = waiters[3]!;
    const ticks: QueueTick[] = [];
    last.socket.on('queue:tick', (t: QueueTick) => ticks.push(t));
    expect(await waiters[0]!.status()).toMatchObject({ status: 'WAITING', paused: true, etaSeconds: null, position: 1 });
    expect(await last.status()).toMatchObject({ status: 'WAITING', paused: true, etaSeconds: null, position: 4 });
    await leave(waiters[1]!);
    const leaveTick = await waitFor(() => ticks.find((t) => t.left.includes(waiters[1]!.ticket!)), 'the tick announcing the leave');
    expect(leaveTick).toMatchObject({ admitted: 0, paused: true, etaSecondsPerPosition: null });
    expect(waiters.flatMap((w) => w.admitted)).toEqual([]);

    expect((await admin(main, 'PATCH', `/admin/concerts/${concert.id}/sale`, { paused: false })).body['sale']).toMatchObject({ paused: false });
    await waitFor(() => last.admitted.length === 1, 'the last waiter admitted after the resume');
    const resumed = ticks.slice(ticks.indexOf(leaveTick) + 1);
    expect(resumed.map((t) => [t.admitted, t.paused, typeof t.etaSecondsPerPosition])).toEqual([
      [1, false, 'number'],
      [1, false, 'number'],
      [1, false, 'number'],
    ]);
    const admitted = [waiters[0]!, waiters[2]!, last];
    const expiries = await Promise.all(admitted.map(async (w) => Date.parse((await w.status()).expiresAt ?? '')));
    expect([...expiries].sort((a, b) => a - b)).toEqual(expiries);
    expect(new Set(expiries).size).toBe(3);
    closeAll(waiters);
  });
});

describe('sale settings across a restart', () => {
  it('are read back from PostgreSQL by a new server', async () => {
    const first = await startServer({ env: ENV });
    const concert = await createConcert(first);
    await admin(first, 'PATCH', `/admin/concerts/${concert.id}/sale`, { maxActive: 9, activeTtlSeconds: 45 });
    await first.close();
    const second = await startServer({ env: ENV });
    try {
      const res = await admin(second, 'GET', `/admin/concerts/${concert.id}`);
      expect(res.body['concert'].sale).toEqual(saleShape({ ...concert.sale, maxActive: 9, activeTtlSeconds: 45 }));
    } finally {
      await second.close();
    }
  });
});
