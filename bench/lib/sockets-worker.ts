import type { Socket } from 'socket.io-client';
import { io } from 'socket.io-client';
import { Hist } from './hist';
import { mapLimit } from './client';
import type { FromWorker, SocketsInit, ToWorker } from './messages';
import { LoadMeter } from './stats';

/**
 * Baseline worker: `count` bare socket.io-client sockets on the bare server
 * (bench/lib/bare-server.ts), recording receive time − server send time of
 * each broadcast `b` event. Same client library and transport as the buyers.
 */
export function runSocketsWorker(init: SocketsInit, send: (m: FromWorker) => void): (m: ToWorker) => void {
  const sockets: Socket[] = [];
  const deliveries = new Hist();
  const perBroadcast: Record<number, { at: number; maxRecv: number; n: number }> = {};
  const errors: Record<string, number> = {};
  const connectHist = new Hist();
  const meter = new LoadMeter();
  const started = Date.now();
  void mapLimit(Array.from({ length: init.count }), init.concurrency, async () => {
    const t = Date.now();
    await new Promise<void>((resolve) => {
      const socket = io(init.url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 20_000 });
      socket.once('connect', () => {
        connectHist.add(Date.now() - t);
        sockets.push(socket);
        resolve();
      });
      socket.once('connect_error', (err) => {
        errors[err.message] = (errors[err.message] ?? 0) + 1;
        socket.close();
        resolve();
      });
      socket.on('b', (m: { seq: number; at: number }) => {
        const recv = Date.now();
        deliveries.add(recv - m.at);
        const p = (perBroadcast[m.seq] ??= { at: m.at, maxRecv: recv, n: 0 });
        p.maxRecv = Math.max(p.maxRecv, recv);
        p.n++;
      });
    });
  }).then(() => {
    meter.sample();
    send({ type: 'sockets-ready', index: init.index, connected: sockets.length, errors, connect: connectHist.toJSON(), ms: Date.now() - started });
  });
  return (m) => {
    if (m.type === 'report') send({ type: 'sockets-report', index: init.index, deliveries: deliveries.toJSON(), perBroadcast, load: meter.sample() });
    if (m.type === 'close') {
      for (const s of sockets) s.close();
      setTimeout(() => process.exit(0), 100);
    }
  };
}
