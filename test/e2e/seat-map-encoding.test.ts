/**
 * The seat map is encoded once per committed version (src/server/socket-parser.ts,
 * src/handlers/encoded-json.ts): what stock socket.io clients receive must be
 * the bytes the default encoder would have sent for the same value, over
 * WebSocket and over long-polling, and a new version must never be answered
 * with an old version's text. Run on both engines (WS_ENGINE=node for the other).
 */
import { io, type Socket } from 'socket.io-client';
import { Encoder, PacketType } from 'socket.io-parser';
import { createConcert, serverFor, type TestServer } from '../support/server';
import { FAST_QUEUE } from '../support/queue';
import { buyer, hold } from '../support/buyers';
import { closeClients } from '../support/clients';

let server: TestServer;
serverFor({ env: { ...FAST_QUEUE } }, (s) => (server = s));
afterEach(closeClients);

/** A stock socket.io-client on one transport, recording the text of every ack frame it receives. */
async function stockClient(token: string, transport: 'websocket' | 'polling'): Promise<{ socket: Socket; frames: string[] }> {
  const socket = io(server.url, { auth: { token }, transports: [transport], forceNew: true, reconnection: false });
  const frames: string[] = [];
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
  socket.io.engine.on('packet', (p: { type: string; data?: unknown }) => {
    if (p.type === 'message' && typeof p.data === 'string' && p.data.startsWith(String(PacketType.ACK))) frames.push(p.data);
  });
  return { socket, frames };
}

/** What socket.io's default encoder sends for this ack (its id read from the frame). */
function defaultEncoding(frame: string, reply: unknown): string {
  const id = Number(/^3(\d+)\[/.exec(frame)?.[1]);
  return new Encoder().encode({ type: PacketType.ACK, nsp: '/', id, data: [reply] })[0] as string;
}

describe('seat map encoded once per version', () => {
  it.each(['websocket', 'polling'] as const)('a stock client over %s gets the default encoder’s bytes, and each new version its own map', async (transport) => {
    const concert = await createConcert(server, { seats: 50, price: 1200 });
    const dateId = concert.dates[0]!.id;
    const [a, b] = [await buyer(server, concert.id), await buyer(server, concert.id)];
    const { socket, frames } = await stockClient(b.token, transport);
    try {
      const first = await socket.emitWithAck('seats:watch', { dateId, queueToken: b.queueToken });
      const again = await socket.emitWithAck('seats:watch', { dateId, queueToken: b.queueToken });
      expect(first).toMatchObject({ ok: true, data: { dateId, concertId: concert.id, version: expect.any(Number) } });
      expect(first.data.seats).toHaveLength(50);
      expect(again).toEqual(first);

      expect(await hold(a, dateId, [3, 4])).toMatchObject({ ok: true });
      const after = await socket.emitWithAck('seats:watch', { dateId, queueToken: b.queueToken });
      expect(after.data.version).toBe(first.data.version + 1);
      expect(after.data.seats.filter((s: { status: string }) => s.status !== 'FREE').map((s: { number: number }) => s.number)).toEqual([3, 4]);

      // Another socket of the same version reads the same text (the cached one) and the same value.
      const other = await a.socket.emitWithAck('seats:watch', { dateId, queueToken: a.queueToken });
      expect(other).toEqual(after);

      expect(frames).toHaveLength(3);
      frames.forEach((frame, i) => expect(frame).toBe(defaultEncoding(frame, [first, again, after][i])));
    } finally {
      socket.close();
    }
  });

  it('GET /dates/:id/seats sends the same text as the socket’s map, and the stringified map byte for byte', async () => {
    const concert = await createConcert(server, { seats: 20, price: 900 });
    const dateId = concert.dates[0]!.id;
    const b = await buyer(server, concert.id);
    await hold(b, dateId, [7]);
    const watched = await b.socket.emitWithAck('seats:watch', { dateId, queueToken: b.queueToken });
    const res = await fetch(`${server.url}/dates/${dateId}/seats`, { headers: { authorization: `Bearer ${b.token}`, 'queue-token': b.queueToken } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await res.text();
    expect(text).toBe(JSON.stringify(watched.data));
  });
});
