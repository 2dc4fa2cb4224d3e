/**
 * Baseline (a): a bare socket.io server with no app logic, on uWebSockets.js
 * (the same native binary the app loads) or node:http. The parent tells it to
 * broadcast; each broadcast is one `io.emit` shaped like a `seats:changed`.
 * An `echo` event acks its payload back, as `{ok, data}`: the CPU of one
 * command's transport and nothing else (bench/cpu.ts).
 * Run as a child: `node --import tsx bench/lib/bare-server.ts uws|node`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { loadUws } from '../../src/server/uws-engine';

export type BareToChild = { type: 'broadcast'; count: number; intervalMs: number } | { type: 'usage' } | { type: 'close' };
export type BareFromChild =
  | { type: 'listening'; port: number; engine: string }
  | { type: 'broadcast-done'; sent: number }
  | { type: 'usage'; rssBytes: number; cpuSeconds: number; sockets: number }
  | { type: 'failed'; message: string };

const send = (m: BareFromChild) => process.send?.(m);

async function main(): Promise<void> {
  const engine = process.argv[2] === 'node' ? 'node' : 'uws';
  const io = new Server({ perMessageDeflate: false, transports: ['websocket'], serveClient: false });
  let port: number;
  let description: string;
  if (engine === 'uws') {
    const loaded = loadUws();
    if (!('uws' in loaded)) throw new Error(`uWebSockets.js does not load: ${loaded.error}`);
    const app = loaded.uws.App();
    io.attachApp(app);
    port = await new Promise<number>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(loaded.uws.us_socket_local_port(socket)) : reject(new Error('uWS listen failed')))),
    );
    description = loaded.description;
  } else {
    const server = http.createServer();
    io.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    description = `node:http ${process.version}`;
  }
  io.on('connection', (socket) => {
    socket.on('echo', (payload: unknown, ack: (reply: unknown) => void) => {
      if (typeof ack === 'function') ack({ ok: true, data: payload });
    });
  });
  send({ type: 'listening', port, engine: description });

  process.on('message', (m: BareToChild) => {
    if (m.type === 'broadcast') {
      let seq = 0;
      const timer = setInterval(() => {
        seq++;
        io.emit('b', { seq, at: Date.now(), dateId: 1, version: seq, seats: [{ number: seq % 50, status: 'HELD' }, { number: (seq + 1) % 50, status: 'HELD' }] });
        if (seq >= m.count) {
          clearInterval(timer);
          send({ type: 'broadcast-done', sent: seq });
        }
      }, m.intervalMs);
    } else if (m.type === 'usage') {
      const cpu = process.cpuUsage();
      send({ type: 'usage', rssBytes: process.memoryUsage().rss, cpuSeconds: (cpu.user + cpu.system) / 1e6, sockets: io.engine.clientsCount });
    } else if (m.type === 'close') {
      io.disconnectSockets(true);
      setTimeout(() => process.exit(0), 200);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((err: unknown) => {
  send({ type: 'failed', message: String(err instanceof Error ? err.message : err) });
  setTimeout(() => process.exit(1), 100);
});
