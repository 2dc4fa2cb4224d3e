import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { STATUS_CODES } from 'node:http';
import type { TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { AppServer } from '../handlers/socket';
import { MAX_BODY_BYTES } from '../handlers/http';
import type { Engine, RequestHandler } from './engine';
import { uwsLoadFailure } from './uws-diagnose';

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
  const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const candidates: [name: string, file: (dir: string) => string][] = [
    ['@btc-vision/uwebsockets.js', (dir) => dir],
    ['@trufflesuite/uws-js-unofficial', (dir) => path.join(dir, 'binaries', binary)],
  ];
  for (const [name, file] of candidates) {
    let dir: string;
    try {
      dir = packageDir(name);
    } catch {
      errors.push(`${name}: not installed`);
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const uws = require(file(dir)) as UwsModule;
      return { uws, description: `${name} ${packageVersion(dir)}` };
    } catch (err) {
      const binDir = name.startsWith('@trufflesuite') ? path.join(dir, 'binaries') : dir;
      errors.push(`${name}: ${uwsLoadFailure(binDir, binary, err)}`);
    }
  }
  return { error: errors.join('; ') };
}

/** A package's folder, also for packages whose `exports` hide their package.json. */
function packageDir(name: string): string {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    let dir = path.dirname(require.resolve(name));
    while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    return dir;
  }
}

function packageVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '';
  } catch {
    return '';
  }
}

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
