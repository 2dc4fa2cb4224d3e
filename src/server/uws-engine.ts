import path from 'node:path';
import { STATUS_CODES } from 'node:http';
import type { TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { AppServer } from '../handlers/socket';
import { MAX_BODY_BYTES } from '../handlers/http';
import type { Engine, RequestHandler } from './engine';

interface UwsModule {
  App(): TemplatedApp;
  us_listen_socket_close(socket: us_listen_socket): void;
  us_socket_local_port(socket: us_listen_socket): number;
  /** Undocumented: `silent` stops the `uWebSockets: 20` header on every answer. */
  _cfg?(key: string): void;
}

/**
 * The official uWebSockets.js is not on the npm registry. Two builds are:
 * @btc-vision's (Node 20–25, glibc ≥ 2.38) and @trufflesuite's (Node ≤ 20).
 * Trufflesuite's loader silently falls back to a JS polyfill, so its native
 * binary is required directly: a polyfill must not pass for uWS.
 */
export function loadUws(): { uws: UwsModule; description: string } | { error: string } {
  const errors: string[] = [];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const uws = require('@btc-vision/uwebsockets.js') as UwsModule;
    return { uws, description: `@btc-vision/uwebsockets.js ${packageVersion('@btc-vision/uwebsockets.js')}` };
  } catch (err) {
    errors.push(`@btc-vision/uwebsockets.js: ${firstLine(err)}`);
  }
  try {
    const pkg = path.dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
    const binary = path.join(pkg, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const uws = require(binary) as UwsModule;
    return { uws, description: `@trufflesuite/uws-js-unofficial ${packageVersion('@trufflesuite/uws-js-unofficial')}` };
  } catch (err) {
    errors.push(`@trufflesuite/uws-js-unofficial: ${firstLine(err)}`);
  }
  return { error: errors.join('; ') };
}

function packageVersion(name: string): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return '';
  }
}

const firstLine = (err: unknown) => String(err instanceof Error ? err.message : err).split('\n')[0];

export function createUwsEngine(uws: UwsModule, description: string, io: AppServer, handle: RequestHandler): Engine {
  // No engine or version header: it only tells an attacker what to try.
  uws._cfg?.('silent');
  const app = uws.App();
  io.attachApp(app);
  let listenSocket: us_listen_socket | undefined;

  app.any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod().toUpperCase();
    const query = req.getQuery();
    const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
    const headers: Record<string, string> = {};
    req.forEach((key, value) => {
      headers[key] = value;
    });
    // Read before any await: uWS invalidates the request object when this callback returns.
    const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;
    const respond = (tooLarge: boolean) => {
      if (answered) return;
      answered = true;
      void handle({ method, url, headers, body: Buffer.concat(chunks), tooLarge, ip }).then((r) => {
        if (aborted) return;
        res.cork(() => {
          res.writeStatus(`${r.status} ${STATUS_CODES[r.status] ?? ''}`);
          for (const [k, v] of Object.entries(r.headers)) res.writeHeader(k, v);
          // Past the limit nothing more is read: answer and close the connection with the rest of the body.
          if (method === 'HEAD') res.endWithoutBody(undefined, tooLarge);
          else res.end(r.body, tooLarge);
        });
      });
    };
    if (Number(headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      respond(true);
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      respond(false);
      return;
    }
    res.onData((chunk, isLast) => {
      if (answered) return;
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        respond(true);
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) respond(false);
    });
  });

  return {
    name: 'uws',
    description,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        app.listen(host, port, (socket) => {
          if (!socket) {
            reject(new Error(`uWebSockets.js could not listen on ${host}:${port}`));
            return;
          }
          listenSocket = socket;
          resolve(uws.us_socket_local_port(socket));
        });
      }),
    close: async () => {
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
    },
  };
}
