/**
 * What the waiting room's proof of work costs a buyer: `npx tsx bench/pow-solve.ts [solves]`.
 *
 * Starts the real server (createApp on a fresh database, QUEUE_CHALLENGE=pow at the default
 * QUEUE_CHALLENGE_COST), fetches `solves` challenges (default 12) from GET /queue/challenge, and
 * solves each of them
 * - in Chromium (/usr/bin/chromium, headless, as test/support/browser.ts launches it), on the
 *   buyer page served by the server at http://127.0.0.1 (a secure context: the worker hashes with
 *   crypto.subtle), through public/js/pow-worker.js exactly as the page does: a new Worker per
 *   solve, timed from `new Worker` to the answer;
 * - again in Chromium on http://<this machine's LAN address> when it has one: not a secure
 *   context, so the worker falls back to its own JavaScript SHA-256;
 * - in Node with src/client/solve-challenge.ts (the load generator's and tests' solver).
 * A challenge's answer is uniform in 0..maxnumber, so a solve's time varies with its answer:
 * the table gives the median and p90 time and the hash rate (answer ÷ time), and the expected
 * time of a solve at the mean answer (maxnumber / 2 ÷ rate). One solution of each runtime is
 * then spent on POST /queue/token to check that the server accepts it.
 */
import os from 'node:os';
import { chromium } from 'playwright-core';
import { solveChallenge, type QueueChallenge } from '../src/client/solve-challenge';
import { loadConfig } from '../src/config';
import { scratchApp } from './lib/scratch-app';

const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const SOLVES = Number(process.argv[2] ?? 12);

interface Solve {
  number: number;
  ms: number;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

function summary(solves: Solve[], maxnumber: number) {
  const rate = solves.reduce((s, x) => s + x.number, 0) / (solves.reduce((s, x) => s + x.ms, 0) / 1000);
  return {
    solves: solves.length,
    'median ms': Math.round(percentile(solves.map((s) => s.ms), 50)),
    'p90 ms': Math.round(percentile(solves.map((s) => s.ms), 90)),
    'hashes/s': Math.round(rate),
    'ms at mean answer': Math.round((maxnumber / 2 / rate) * 1000),
  };
}

/** The page's globals this script uses (the project compiles without the DOM library). */
interface PageWorker {
  onmessage: ((event: { data: { number?: number; progress?: number } }) => void) | null;
  onerror: (() => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}
type PageGlobals = { Worker: new (url: string) => PageWorker; isSecureContext: boolean };

/** Solves each challenge on the page at `url` with the page's own worker script, one after another. */
async function solveInChromium(url: string, challenges: QueueChallenge[]): Promise<{ secure: boolean; solves: Solve[] }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    return await page.evaluate(async (list) => {
      const page = globalThis as unknown as PageGlobals;
      const solves: { number: number; ms: number }[] = [];
      for (const challenge of list) {
        const started = performance.now();
        const number = await new Promise<number>((resolve, reject) => {
          const worker = new page.Worker('/js/pow-worker.js');
          worker.onmessage = ({ data }) => {
            if (data.progress !== undefined) return;
            worker.terminate();
            if (data.number === undefined) reject(new Error('no solution'));
            else resolve(data.number);
          };
          worker.onerror = () => reject(new Error('worker failed'));
          worker.postMessage(challenge);
        });
        solves.push({ number, ms: performance.now() - started });
      }
      return { secure: page.isSecureContext, solves };
    }, challenges);
  } finally {
    await browser.close();
  }
}

const payload = (c: QueueChallenge, number: number) =>
  Buffer.from(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number, salt: c.salt, signature: c.signature })).toString('base64');

const lanAddress = () =>
  Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

async function main(): Promise<void> {
  const config = loadConfig({ JWT_SECRET: 'bench-secret-0123456789-0123456789', LOG_LEVEL: 'warn', SEED_DEMO: 'false', ADMIN_TOKEN, QUEUE_CHALLENGE: 'pow', SCRYPT_COST: '1024', SCRYPT_BLOCK_SIZE: '1' });
  // On every address: Chromium also solves on the LAN address, where the page is not a secure context.
  const { port, base, close } = await scratchApp(config, { host: '0.0.0.0' });
  try {
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers['authorization'] = `Bearer ${token}`;
      const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const buyer = async (name: string) => (await call('POST', '/users', { name, password: 'a bench password' })).body['token'] as string;
    const startsAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const concert = await call('POST', '/admin/concerts', { title: 'Bench', venue: 'Hall', dates: [{ startsAt, seats: { count: 10, price: 1000 } }] }, ADMIN_TOKEN);
    const concertId = concert.body['concert'].id as number;
    const token = await buyer('pow-bench');
    const challenges: QueueChallenge[] = [];
    for (let i = 0; i < SOLVES; i++) challenges.push((await call('GET', `/queue/challenge?concertId=${concertId}`, undefined, token)).body['challenge'] as QueueChallenge);
    const maxnumber = challenges[0]!.maxnumber;

    const rows: Record<string, ReturnType<typeof summary>> = {};
    const chromiumLocal = await solveInChromium(base, challenges);
    rows[`Chromium, http://127.0.0.1 (secure context: ${chromiumLocal.secure}, crypto.subtle)`] = summary(chromiumLocal.solves, maxnumber);
    const lan = lanAddress();
    if (lan) {
      const chromiumLan = await solveInChromium(`http://${lan}:${port}`, challenges);
      rows[`Chromium, http://<LAN address> (secure context: ${chromiumLan.secure}, JS SHA-256)`] = summary(chromiumLan.solves, maxnumber);
    }
    const nodeSolves: Solve[] = challenges.map((c) => {
      const started = performance.now();
      const solution = solveChallenge(c);
      const ms = performance.now() - started;
      return { number: (JSON.parse(Buffer.from(solution, 'base64').toString()) as { number: number }).number, ms };
    });
    rows[`Node ${process.version}, src/client/solve-challenge.ts (node:crypto)`] = summary(nodeSolves, maxnumber);

    // The server takes what each runtime found (two buyers: a rejoin needs no solution).
    const fromChromium = await call('POST', '/queue/token', { concertId, solution: payload(challenges[0]!, chromiumLocal.solves[0]!.number) }, token);
    const fromNode = await call('POST', '/queue/token', { concertId, solution: payload(challenges[1]!, nodeSolves[1]!.number) }, await buyer('pow-bench-2'));
    console.log(`maxnumber ${maxnumber}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
    console.table(rows);
    console.log(`POST /queue/token with a Chromium solution: ${fromChromium.status}; with a Node solution: ${fromNode.status}`);
  } finally {
    await close();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
