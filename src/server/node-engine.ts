import http, { STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SECURITY_HEADERS } from '../handlers/http-guards';
import type { AppServer } from '../handlers/socket';
import { MAX_BODY_BYTES, type HttpResponse } from '../handlers/http';
import type { Engine, RequestHandler } from './engine';

/**
 * What uWebSockets.js effectively allows a request (its HTTP idle timeout is 10 s): a
 * trickled request (slowloris) is cut at about the same time on both engines.
 */
export const HTTP_TIMEOUT_MS = 10_000;

export function createNodeEngine(io: AppServer, handle: RequestHandler): Engine {
  const server = http.createServer(
    {
      headersTimeout: HTTP_TIMEOUT_MS,
      requestTimeout: HTTP_TIMEOUT_MS,
      keepAliveTimeout: HTTP_TIMEOUT_MS,
      // Node checks the two timeouts above on this interval (30 s by default, which tripled them).
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let answered = false;
      const respond = (tooLarge: boolean) => {
        if (answered) return;
        answered = true;
        const headers: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        const ip = req.socket.remoteAddress;
        void handle({ method: req.method ?? 'GET', url: req.url ?? '/', headers, body: Buffer.concat(chunks), tooLarge, ip }).then((r) => send(r, tooLarge));
      };
      const send = (r: HttpResponse, tooLarge: boolean) => {
        res.writeHead(r.status, r.headers);
        // Past the limit nothing more is read: answer, then drop the connection with the rest of the body.
        res.end(req.method === 'HEAD' ? undefined : r.body, tooLarge ? () => req.socket.destroy() : undefined);
      };
      if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
        respond(true);
        return;
      }
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) {
          chunks.push(chunk);
          return;
        }
        req.pause();
        respond(true);
      });
      req.on('end', () => respond(false));
      req.on('error', () => res.destroy());
    },
  );
  server.on('clientError', answerClientError);
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

/**
 * Requests node's parser refuses never reach the handler; node's own answer is an empty
 * body. They get the error shape: headers past node's 16 KiB `431`, anything unparsable
 * `400`, both `VALIDATION_FAILED`; a timed-out or reset connection is just closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || !err.code?.startsWith('HPE_')) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message = status === 431 ? 'request headers too large' : 'malformed HTTP request';
  const body = JSON.stringify({ error: { code: 'VALIDATION_FAILED', message } });
  const headers = { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n${body}`);
}
