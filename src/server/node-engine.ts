import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppServer } from '../handlers/socket';
import { MAX_BODY_BYTES } from '../handlers/http';
import type { Engine, RequestHandler } from './engine';

export function createNodeEngine(io: AppServer, handle: RequestHandler): Engine {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES;
    const respond = () => {
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      void handle({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body: Buffer.concat(chunks), tooLarge, remoteAddress: req.socket.remoteAddress ?? '' }).then((r) => {
        res.writeHead(r.status, r.headers);
        res.end(req.method === 'HEAD' ? undefined : r.body);
      });
    };
    if (tooLarge) {
      respond();
      req.resume();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', respond);
    req.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 5_000;
  io.attach(server);
  return {
    name: 'node',
    description: `node:http (${process.version})`,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    // Stop accepting and drop idle keep-alive connections; not waiting for open ones:
    // WebSockets close when socket.io closes, after the rooms have drained.
    close: async () => {
      server.close();
      server.closeIdleConnections();
    },
  };
}
