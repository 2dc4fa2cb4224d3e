import { ack, connect, httpJson, signup } from './client';
import { QueueEntry } from './queue-client';
import { PhaseStats } from './stats';

export async function createConcert(url: string, adminToken: string, title: string, dates: number, seats: number, price = 1000): Promise<{ id: number; dates: { id: number; totalSeats: number }[] }> {
  const res = await httpJson(url, 'POST', '/admin/concerts', {
    token: adminToken,
    body: {
      title,
      venue: 'Load test hall',
      dates: Array.from({ length: dates }, (_, i) => ({
        startsAt: new Date(Date.now() + (7 + i) * 86_400_000).toISOString(),
        seats: { count: seats, price },
      })),
    },
  });
  if (res.status !== 201) throw new Error(`POST /admin/concerts: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  return res.body.concert;
}

/**
 * A fresh user's view through the public API: joins each concert's waiting
 * room, waits to be admitted and takes a `seats:watch` snapshot of each date.
 */
export async function apiSnapshots(
  url: string,
  name: string,
  concerts: { concertId: number; dateIds: number[] }[],
  activeTtlMs: number,
  timeoutMs: number,
): Promise<{ userId?: number; maps: Map<number, { version: number; print: string }>; error?: string }> {
  const maps = new Map<number, { version: number; print: string }>();
  let userId: number | undefined;
  try {
    const user = await signup(url, name);
    userId = user.id;
    const c = await connect(url, user.token);
    if ('error' in c) return { userId, maps, error: `connect: ${c.error}` };
    const socket = c.socket;
    try {
      for (const { concertId, dateIds } of concerts) {
        const q = new QueueEntry(concertId, socket, new PhaseStats(), activeTtlMs, timeoutMs);
        socket.on('queue:admitted', (ev: any) => ev?.concertId === concertId && q.onAdmitted(ev));
        socket.on('queue:tick', (t: any) => t?.concertId === concertId && q.onTick(t));
        const status = await q.join(new Promise<void>((r) => setTimeout(r, timeoutMs)), 2000);
        if (status !== 'ACTIVE') return { userId, maps, error: `checker not admitted to concert ${concertId}: ${status}` };
        for (const dateId of dateIds) {
          const r = await ack(socket, 'seats:watch', { dateId, queueToken: q.token }, timeoutMs);
          if (!r.ok) return { userId, maps, error: `seats:watch ${dateId}: ${r.error.code}` };
          const seats = [...(r.data.seats as { number: number; status: string }[])].sort((a, b) => a.number - b.number);
          maps.set(dateId, { version: r.data.version, print: seats.map((s) => s.status[0]).join('') });
          await ack(socket, 'seats:unwatch', { dateId }, timeoutMs);
        }
        await q.leave();
      }
    } finally {
      socket.close();
    }
    return { userId, maps };
  } catch (err) {
    return { userId, maps, error: String(err instanceof Error ? err.message : err) };
  }
}
