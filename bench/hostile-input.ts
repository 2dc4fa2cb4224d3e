/**
 * The event-loop cost of the worst accepted input: a socket message as large as the
 * server accepts, made of extra properties (one validation error each), sent five times
 * while this process polls /health. Prints the ack times, the ack size, the worst /health time
 * and the server's own worst event-loop delay over the five (prom-client's lag histogram).
 *
 *   npx tsx bench/hostile-input.ts [sourceRoot] [messageBytes]
 *
 * sourceRoot defaults to this checkout (point it at an older checkout to compare);
 * messageBytes defaults to 16 KB minus framing (the largest accepted message).
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { io } from 'socket.io-client';
import { createDatabase, freePort } from './lib/server-process';

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
const bytes = Number(process.argv[3] ?? 16 * 1024 - 64);

async function main(): Promise<void> {
  const db = await createDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const tsx = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');
  const child = fork(path.join(root, 'src', 'index.ts'), [], {
    cwd: root,
    execArgv: ['--import', tsx],
    env: { ...process.env, DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', SEED_DEMO: 'false', LOG_LEVEL: 'warn', JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123', ADMIN_TOKEN: 'bench-admin-token-0123456789' },
  });
  try {
    for (let i = 0; ; i++) {
      if (i > 300) throw new Error('server did not start');
      if (await fetch(`${url}/health`).then((r) => r.ok).catch(() => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const signup = (await (await fetch(`${url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) })).json()) as { token: string };
    const socket = io(url, { auth: { token: signup.token }, transports: ['websocket'] });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const payload: Record<string, number> = {};
    for (let i = 0, length = 2; length + 30 < bytes; i++) {
      payload[`p${i}`] = 0;
      length += `"p${i}":0,`.length;
    }
    const size = JSON.stringify(['wallet:get', payload]).length;
    // prom-client resets its event-loop histogram at each scrape: this one starts the window.
    const lagMax = async () => Number(/^nodejs_eventloop_lag_max_seconds (\S+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN) * 1000;
    await lagMax();
    let worstHealth = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t = performance.now();
        await fetch(`${url}/health`);
        worstHealth = Math.max(worstHealth, performance.now() - t);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const acks: number[] = [];
    let ackBytes = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const reply: unknown = await socket.timeout(30_000).emitWithAck('wallet:get', payload).catch((err: unknown) => ({ closed: String(err) }));
      acks.push(performance.now() - t);
      ackBytes = JSON.stringify(reply).length;
      if (!socket.connected) break;
    }
    polling = false;
    await poller;
    const serverLag = await lagMax();
    const connected = socket.connected;
    socket.close();
    console.log(
      `hostile-input root=${root} message=${size} B: ack ${acks.map((a) => a.toFixed(1)).join(' / ')} ms, ack ${ackBytes} B, connected=${connected}, worst /health ${worstHealth.toFixed(1)} ms (this process), server event-loop lag max ${serverLag.toFixed(1)} ms`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await db.drop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
