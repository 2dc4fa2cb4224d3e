import type { Socket } from 'socket.io-client';
import { Pool } from 'pg';
import { ack, connect, httpJson, mapLimit, signup, sleep } from './client';
import { Refused } from './cpu-loop';
import type { CommandName, CommandPayload } from '../../src/client';

export interface BenchUser {
  id: number;
  token: string;
  socket: Socket;
  queueToken: string;
}

/** The acked `data`, or Refused(code). */
export async function send<E extends CommandName>(socket: Socket, event: E, payload: CommandPayload<E>): Promise<any> {
  const reply = await ack(socket, event, payload, 30_000);
  if (!reply.ok) throw new Refused(reply.error.code);
  return reply.data;
}

export async function users(url: string, count: number): Promise<BenchUser[]> {
  return mapLimit(Array.from({ length: count }, (_, i) => i), 32, async (i) => {
    const { id, token } = await signup(url, `cpu-${process.pid}-${i}`);
    const c = await connect(url, token);
    if ('error' in c) throw new Error(`connect: ${c.error}`);
    return { id, token, socket: c.socket, queueToken: '' };
  });
}

/** Every user holds an ACTIVE entry of the concert (a new one after a payment ended the last). */
export async function admitAll(all: BenchUser[], concertId: number): Promise<void> {
  await mapLimit(all, 50, async (u) => {
    let status = await send(u.socket, 'queue:join', { concertId });
    u.queueToken = status.token as string;
    for (let i = 0; status.status !== 'ACTIVE'; i++) {
      if (i > 600) throw new Error(`user ${u.id} not admitted: ${JSON.stringify(status)}`);
      await sleep(50);
      status = await send(u.socket, 'queue:status', { queueToken: u.queueToken });
    }
  });
}

export interface Dates {
  concertId: number;
  /** Holds, cancels and payments. */
  hot: number;
  /** A 50-seat map (the protocol's default) for snapshots. */
  small: number;
  /** Never opened by the server: the `pg` baseline writes here. */
  baseline: number;
}

export async function createDates(url: string, adminToken: string, hotSeats: number): Promise<Dates> {
  const at = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const res = await httpJson(url, 'POST', '/admin/concerts', {
    token: adminToken,
    body: {
      title: 'CPU bench',
      venue: 'Bench hall',
      dates: [
        { startsAt: at(7), seats: { count: hotSeats, price: 1000 } },
        { startsAt: at(8), seats: { count: 50, price: 1000 } },
        { startsAt: at(9), seats: { count: 2000, price: 1000 } },
      ],
    },
  });
  if (res.status !== 201) throw new Error(`POST /admin/concerts: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  const [hot, small, baseline] = (res.body.concert.dates as { id: number }[]).map((d) => d.id) as [number, number, number];
  return { concertId: res.body.concert.id, hot, small, baseline };
}

/**
 * The hot path's SQL issued straight through `pg`: the statement a date
 * room's group commit sends (tix_commit_batch), a hold then its cancel, with
 * `rows` reservations per statement. Returns an op for Meter (commands = rows × 2).
 */
export function pgHoldCancel(pool: Pool, dates: Dates, userIds: number[], rows: number): (lane: number) => Promise<number> {
  let version = 1_000_000;
  const commit = async (batch: object): Promise<{ ids: number[] }> => {
    const r = await pool.query<{ result: { ids: number[] } }>('SELECT tix_commit_batch($1::jsonb) AS result', [JSON.stringify(batch)]);
    return (r.rows[0] as { result: { ids: number[] } }).result;
  };
  const base = { dateId: dates.baseline, concertId: dates.concertId, money: [] };
  return async (lane) => {
    const now = new Date();
    const inserts = Array.from({ length: rows }, (_, i) => ({
      userId: userIds[lane % userIds.length],
      total: 1000,
      expiresAt: new Date(now.getTime() + 3_600_000),
      createdAt: now,
      seats: [{ number: 1 + lane * rows + i, price: 1000 }],
    }));
    const { ids } = await commit({ ...base, version: ++version, transitions: [], inserts });
    const transitions = ids.map((id) => ({ id, prev: 'HELD', status: 'CANCELED', at: new Date() }));
    await commit({ ...base, version: ++version, transitions, inserts: [] });
    return rows * 2;
  };
}

/** A HTTP GET that must answer 200. */
export async function get(url: string, path: string, headers: Record<string, string>): Promise<number> {
  const res = await httpJson(url, 'GET', path, { headers });
  if (res.status !== 200) throw new Refused(String(res.body?.error?.code ?? res.status));
  return 1;
}
