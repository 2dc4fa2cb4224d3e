import { ADMIN_TOKEN, createConcert, http, type TestServer } from './server';
import { closeAll, waiter, type Waiter } from './queue';
import { eventually, waitFor } from './wait';

export interface OpeningRun {
  early: Waiter[];
  late: Waiter[];
  /** Early joiners' indices (join order) in ticket order: the order the draw gave. */
  drawnOrder: number[];
}

/**
 * A sale opening with a pre-queue, end to end: `early` users join (round
 * robin over `servers`) before the opening, the operator moves the opening
 * to now, each early user is pushed its drawn ticket, then `late` users join.
 * Asserts what PROTOCOL.md promises on the way and returns the drawn order.
 */
export async function openingRun(servers: TestServer[], early: number, late: number): Promise<OpeningRun> {
  const via = (i: number) => servers[i % servers.length]!;
  const concert = await createConcert(via(0), { sale: { opensAt: new Date(Date.now() + 3_600_000).toISOString(), admitPerTick: 5, maxActive: 40 } });
  const earlyWaiters: Waiter[] = [];
  for (let i = 0; i < early; i += 20) {
    earlyWaiters.push(...(await Promise.all(Array.from({ length: Math.min(20, early - i) }, (_, k) => waiter(via(i + k), concert.id)))));
  }
  for (const w of earlyWaiters) expect(await w.status()).toMatchObject({ status: 'WAITING', ticket: null, position: null, etaSeconds: null });
  // The operator brings the opening forward: the pre-queue is drawn at the new time.
  const opensAt = new Date(Date.now() + 300).toISOString();
  const patched = await http(via(1), 'PATCH', `/admin/concerts/${concert.id}/sale`, { token: ADMIN_TOKEN, body: { opensAt } });
  expect(patched.status).toBe(200);
  await waitFor(() => earlyWaiters.every((w) => w.pushed.length > 0), 'every early joiner told their drawn ticket', 60_000);

  const lateWaiters: Waiter[] = [];
  for (let i = 0; i < late; i += 20) {
    lateWaiters.push(...(await Promise.all(Array.from({ length: Math.min(20, late - i) }, (_, k) => waiter(via(i + k), concert.id)))));
  }
  const earlyTickets = earlyWaiters.map((w) => w.pushed[0]!.ticket!);
  expect(new Set(earlyTickets).size).toBe(early);
  const lowestLate = Math.min(...lateWaiters.map((w) => w.ticket!));
  expect(Math.max(...earlyTickets)).toBeLessThan(lowestLate);
  for (const w of earlyWaiters) {
    const s = w.pushed[0]!;
    expect(s).toEqual({ concertId: concert.id, status: 'WAITING', ticket: expect.any(Number), opensAt, paused: false, tick: expect.any(Number), position: expect.any(Number), waiting: expect.any(Number), etaSeconds: expect.any(Number) });
  }
  // Positions kept from the ticks (the shipped function) equal the server's, for everyone still waiting.
  await eventually(async () => {
    for (const w of [...earlyWaiters, ...lateWaiters]) {
      const status = await w.status();
      if (status.status !== 'WAITING') continue;
      expect(w.tracker.entry).toMatchObject({ ticket: status.ticket, tick: status.tick, position: status.position });
    }
  }, 60_000);
  for (const w of earlyWaiters) expect(w.pushed).toHaveLength(1);
  const drawnOrder = earlyWaiters.map((w, i) => [w.pushed[0]!.ticket!, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  closeAll([...earlyWaiters, ...lateWaiters]);
  return { early: earlyWaiters, late: lateWaiters, drawnOrder };
}
