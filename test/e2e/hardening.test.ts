/**
 * The attack surface (issue 19): every input costs bounded work and gets a bounded, defined
 * answer. Runs on both engines (`npm test` runs e2e again with WS_ENGINE=node).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ask, client, closeClients } from '../support/clients';
import { ADMIN_TOKEN, http, serverFor, signup, startServer, type TestServer } from '../support/server';
import { expectHttpError } from '../support/shapes';

let server!: TestServer;
serverFor({}, (s) => (server = s));
afterEach(closeClients);

const MAX_ERROR_BYTES = 4096;
const port = () => Number(new URL(server.url).port);

/** An object of `bytes` (about) of properties no schema allows: one validation error each under allErrors. */
function junk(bytes: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0, length = 2; length + 16 < bytes; i++) {
    out[`p${i}`] = 0;
    length += `"p${i}":0,`.length;
  }
  return out;
}

/** Raw HTTP/1.1 on a socket: what fetch cannot do (trickle, keep sending after the answer). */
function rawRequest(head: string, body?: (socket: net.Socket) => void, p = port()): Promise<{ response: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(p, '127.0.0.1');
    let response = '';
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ response, closed: true }));
    socket.write(head);
    body?.(socket);
  });
}

describe('bounded validation', () => {
  it('lists at most 10 failing paths and answers under 4 KB for a 60 KB body of junk', async () => {
    const res = await http(server, 'POST', '/admin/concerts', { token: ADMIN_TOKEN, body: junk(60 * 1024) });
    expectHttpError(res, 400, 'VALIDATION_FAILED');
    expect(res.body['error'].details.errors.length).toBeLessThanOrEqual(10);
    expect(JSON.stringify(res.body).length).toBeLessThanOrEqual(MAX_ERROR_BYTES);
  });

  it('acks the largest accepted socket message of junk under 4 KB, and a 15 KB property name too', async () => {
    const user = await signup(server);
    const socket = await client(server, user.token);
    for (const payload of [junk(16 * 1024 - 100), { ['k'.repeat(15 * 1024)]: 1 }, { amount: 'x'.repeat(15 * 1024) }]) {
      const ack = await ask(socket, 'wallet:charge', payload);
      expect(ack.ok).toBe(false);
      expect(ack.error.code).toBe('VALIDATION_FAILED');
      expect(ack.error.details.errors.length).toBeLessThanOrEqual(10);
      expect(JSON.stringify(ack).length).toBeLessThanOrEqual(MAX_ERROR_BYTES);
    }
  });

  it('closes a socket that sends a message over 16 KB; other sockets go on', async () => {
    const user = await signup(server);
    const big = await client(server, user.token);
    const other = await client(server, user.token);
    const closed = new Promise<string>((resolve) => big.once('disconnect', resolve));
    big.emit('wallet:get', { pad: 'x'.repeat(17 * 1024) });
    expect(await closed).toMatch(/transport/);
    expect((await ask(other, 'wallet:get', {})).ok).toBe(true);
  });
});

describe('HTTP bodies and methods', () => {
  it('answers 413 to a body declared over 64 KB without reading it, and closes', async () => {
    const { response, closed } = await rawRequest(
      `POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${30 * 1024 * 1024}\r\n\r\n`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 413/);
    expect(closed).toBe(true);
  });

  it('cuts a chunked body at 64 KB while it streams: 413 long before 30 MB were sent, then closes', async () => {
    let sent = 0;
    const { response } = await rawRequest('POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', (socket) => {
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (sent < 30 * 1024 * 1024 && !socket.destroyed) {
          sent += chunk.length;
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      socket.once('data', () => socket.destroy());
      pump();
    });
    expect(response).toMatch(/^HTTP\/1\.1 413/);
    expect(sent).toBeLessThan(30 * 1024 * 1024);
  });

  it('needs application/json for a body (415), with or without parameters', async () => {
    const user = await signup(server);
    const raw = '{"amount": 1}';
    expectHttpError(await http(server, 'POST', '/wallets/charge', { token: user.token, raw, headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectHttpError(await http(server, 'POST', '/wallets/charge', { token: user.token, raw }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const ok = await http(server, 'POST', '/wallets/charge', { token: user.token, raw, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.status).toBe(200);
    // A body-less POST needs no Content-Type.
    expect((await http(server, 'POST', '/queue/leave', { token: user.token })).status).not.toBe(415);
  });

  it('answers a known path with another method 405 and Allow', async () => {
    for (const [method, path, allow] of [
      ['GET', '/users', 'POST'],
      ['DELETE', '/reservations/1/cancel', 'POST'],
      ['PUT', '/wallets/me', 'GET'],
      ['POST', '/health', 'GET, HEAD'],
    ] as const) {
      const res = await http(server, method, path);
      expectHttpError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.get('allow')).toBe(allow);
    }
    expectHttpError(await http(server, 'GET', '/no/such/path'), 404, 'NOT_FOUND');
  });

  it('answers headers too large for the engine, and a request that does not parse, in the error shape or by closing', async () => {
    const huge = await rawRequest(`GET /wallets/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`);
    const garbage = await rawRequest('NOT HTTP AT ALL\r\n\r\n');
    for (const { response } of [huge, garbage]) {
      // uWebSockets.js closes such connections without a word; node:http answers 431 / 400 with the error shape.
      if (response === '') continue;
      expect(response).toMatch(/^HTTP\/1\.1 4\d\d /);
      if (process.env['WS_ENGINE'] === 'node') expect(response).toMatch(/"code":"VALIDATION_FAILED"/);
    }
  });

  it('answers malformed percent-encoding 400 VALIDATION_FAILED, without a token', async () => {
    expectHttpError(await http(server, 'POST', '/reservations/%ZZ/cancel'), 400, 'VALIDATION_FAILED');
    expectHttpError(await http(server, 'GET', '/concerts/%E0%A4%A/dates'), 400, 'VALIDATION_FAILED');
  });
});

describe('headers', () => {
  it('sends the security headers on API answers, errors and the client, and no engine header', async () => {
    for (const path of ['/concerts', '/no/such/path', '/', '/app.js', '/health']) {
      const res = await http(server, 'GET', path);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('uwebsockets')).toBeNull();
      expect(res.headers.get('server')).toBeNull();
    }
    expect((await http(server, 'GET', '/concerts')).headers.get('cache-control')).toBe('no-store');
    expect((await http(server, 'GET', '/no/such/path')).headers.get('cache-control')).toBe('no-store');
  });

  it('serves static files with an ETag and answers 304 while it holds', async () => {
    const first = await fetch(`${server.url}/app.js`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    await first.text();
    const again = await fetch(`${server.url}/app.js`, { headers: { 'if-none-match': etag ?? '' } });
    expect(again.status).toBe(304);
    const changed = await fetch(`${server.url}/app.js`, { headers: { 'if-none-match': '"other"' } });
    expect(changed.status).toBe(200);
  });

  it('has no inline script or style in the served client', async () => {
    const html = (await http<string>(server, 'GET', '/')).body;
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });
});

describe('secrets', () => {
  const ROOT = path.resolve(__dirname, '..', '..');
  const TSX = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');
  const start = (env: Record<string, string>) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', TSX, 'src/index.ts'], { cwd: ROOT, env: { ...process.env, PORT: '0', DATABASE_URL: 'postgres://127.0.0.1:1/none', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('exit', (code) => resolve({ code, output }));
    });

  it.each([
    ['JWT_SECRET', { JWT_SECRET: 'a' }, /JWT_SECRET must be at least 32 bytes/],
    ['ADMIN_TOKEN', { JWT_SECRET: 'x'.repeat(40), ADMIN_TOKEN: 'x' }, /ADMIN_TOKEN must be at least 24 characters/],
  ])('refuses to start with a short %s, naming the variable', async (_name, env, message) => {
    const { code, output } = await start(env);
    expect(code).toBe(1);
    expect(output).toMatch(message);
  });

  it('limits failed admin attempts per IP: RATE_LIMITED with Retry-After after 10', async () => {
    const own = await startServer();
    try {
      const body = { title: 't', venue: 'v', dates: [] };
      for (let i = 0; i < 10; i++) expectHttpError(await http(own, 'POST', '/admin/concerts', { token: `wrong-${i}`, body }), 401, 'UNAUTHORIZED');
      const limited = await http(own, 'POST', '/admin/concerts', { token: 'wrong', body });
      expectHttpError(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await own.close();
    }
  });

  it('protects /metrics with METRICS_TOKEN when set, and counts rejections there', async () => {
    const own = await startServer({ env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
    try {
      await http(own, 'GET', '/no/such/path');
      expectHttpError(await http(own, 'GET', '/metrics'), 401, 'UNAUTHORIZED');
      expectHttpError(await http(own, 'GET', '/metrics', { token: 'wrong' }), 401, 'UNAUTHORIZED');
      const res = await http<string>(own, 'GET', '/metrics', { token: 'metrics-token-0123456789' });
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/tix_rejected_total\{code="NOT_FOUND"\} [1-9]/);
      expect(res.body).toMatch(/tix_rejected_total\{code="UNAUTHORIZED"\} [1-9]/);
    } finally {
      await own.close();
    }
  });
});

describe('slow requests on the node:http engine', () => {
  it('closes a connection whose headers trickle in, like uWS does (about 10 s)', async () => {
    const own = await startServer({ env: { WS_ENGINE: 'node' } });
    try {
      let timer: NodeJS.Timeout | undefined;
      const { response, closed } = await rawRequest(
        'GET /health HTTP/1.1\r\nHost: x\r\n',
        (socket) => {
          timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 500);
        },
        Number(new URL(own.url).port),
      );
      clearInterval(timer);
      expect(closed).toBe(true);
      expect(response).not.toMatch(/200 OK/);
    } finally {
      await own.close();
    }
  }, 30_000);
});
