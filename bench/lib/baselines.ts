import path from 'node:path';
import { Pool } from 'pg';
import { Hist, type Summary } from './hist';
import type { BareFromChild, BareToChild } from './bare-server';
import { forkTs, stopChild } from './server-process';
import { WorkerPool } from './workers';

export interface PgBaseline {
  /** Single-row INSERT, one transaction each (autocommit): commits/s. */
  oneConnTps: number;
  pool8Tps: number;
  /** 50 rows per transaction: rows/s from one connection and from four. */
  batch50OneConnRows: number;
  batch50Pool4Rows: number;
  seconds: number;
}

/** Baseline (b): what PostgreSQL itself commits on this machine, on the server's own database. */
export async function pgBaseline(databaseUrl: string, seconds: number): Promise<PgBaseline> {
  const pool = new Pool({ connectionString: databaseUrl, max: 8 });
  const table = `bench_baseline_${process.pid}`;
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (id bigserial PRIMARY KEY, v integer NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
  const rows50 = Array.from({ length: 50 }, (_, i) => `($${i + 1})`).join(',');
  const values50 = Array.from({ length: 50 }, (_, i) => i);
  const run = async (clients: number, rowsPerTxn: number): Promise<number> => {
    const until = Date.now() + seconds * 1000;
    let rows = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        const c = await pool.connect();
        try {
          while (Date.now() < until) {
            if (rowsPerTxn === 1) await c.query(`INSERT INTO ${table} (v) VALUES ($1)`, [rows]);
            else await c.query(`INSERT INTO ${table} (v) VALUES ${rows50}`, values50);
            rows += rowsPerTxn;
          }
        } finally {
          c.release();
        }
      }),
    );
    return rows / ((Date.now() - started) / 1000);
  };
  try {
    return {
      oneConnTps: await run(1, 1),
      pool8Tps: await run(8, 1),
      batch50OneConnRows: await run(1, 50),
      batch50Pool4Rows: await run(4, 50),
      seconds,
    };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pool.end();
  }
}

export interface SocketBaseline {
  engine: string;
  sockets: number;
  connectErrors: Record<string, number>;
  connectPerSec: number;
  connect: Summary;
  broadcasts: number;
  intervalMs: number;
  /** Receive time − send time, every delivery. */
  delivery: Summary;
  /** Send → last recipient, per broadcast. */
  lastRecipient: Summary;
  rssPerConnKb: number;
  serverCpuPctDuringBroadcast: number;
  generatorCpuPct: number[];
}

function bare(engine: 'uws' | 'node') {
  const child = forkTs(path.join(__dirname, 'bare-server.ts'), [engine], process.env);
  const next = <T extends BareFromChild['type']>(type: T) =>
    new Promise<Extract<BareFromChild, { type: T }>>((resolve, reject) => {
      const on = (m: BareFromChild) => {
        if (m.type === 'failed') reject(new Error(m.message));
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m as Extract<BareFromChild, { type: T }>);
      };
      child.on('message', on);
    });
  return { child, next, send: (m: BareToChild) => child.send(m) };
}

/** Baseline (a): the same number of sockets receiving broadcasts from a bare socket.io server. */
export async function socketBaseline(
  engine: 'uws' | 'node',
  sockets: number,
  workers: number,
  concurrency: number,
  broadcasts: number,
  intervalMs: number,
): Promise<SocketBaseline> {
  const server = bare(engine);
  const listening = await server.next('listening');
  const url = `http://127.0.0.1:${listening.port}`;
  const pool = new WorkerPool(workers);
  try {
    server.send({ type: 'usage' });
    const before = await server.next('usage');
    const per = Math.ceil(sockets / workers);
    const ready = pool.collect('sockets-ready');
    pool.children.forEach((_, i) =>
      pool.send(i, { type: 'init', role: 'sockets', index: i, url, count: Math.max(0, Math.min(per, sockets - i * per)), concurrency: Math.ceil(concurrency / workers) }),
    );
    const connected = await ready;
    server.send({ type: 'usage' });
    const mid = await server.next('usage');
    const connectHist = new Hist();
    const connectErrors: Record<string, number> = {};
    for (const r of connected) {
      connectHist.merge(r.connect);
      for (const [k, n] of Object.entries(r.errors)) connectErrors[k] = (connectErrors[k] ?? 0) + n;
    }
    const total = connected.reduce((s, r) => s + r.connected, 0);
    const done = server.next('broadcast-done');
    server.send({ type: 'broadcast', count: broadcasts, intervalMs });
    await done;
    await new Promise((r) => setTimeout(r, 1500));
    server.send({ type: 'usage' });
    const after = await server.next('usage');
    const reports = pool.collect('sockets-report');
    pool.broadcast({ type: 'report' });
    const got = await reports;
    const delivery = new Hist();
    const perBroadcast = new Map<number, { at: number; maxRecv: number }>();
    for (const r of got) {
      delivery.merge(r.deliveries);
      for (const [seq, p] of Object.entries(r.perBroadcast)) {
        const o = perBroadcast.get(Number(seq));
        perBroadcast.set(Number(seq), { at: p.at, maxRecv: Math.max(o?.maxRecv ?? 0, p.maxRecv) });
      }
    }
    const last = new Hist();
    for (const p of perBroadcast.values()) last.add(p.maxRecv - p.at);
    const broadcastSeconds = (broadcasts * intervalMs + 1500) / 1000;
    return {
      engine: listening.engine,
      sockets: total,
      connectErrors,
      connectPerSec: total / (Math.max(...connected.map((r) => r.ms)) / 1000),
      connect: connectHist.summary(),
      broadcasts,
      intervalMs,
      delivery: delivery.summary(),
      lastRecipient: last.summary(),
      rssPerConnKb: total > 0 ? (mid.rssBytes - before.rssBytes) / total / 1024 : NaN,
      serverCpuPctDuringBroadcast: ((after.cpuSeconds - mid.cpuSeconds) / broadcastSeconds) * 100,
      generatorCpuPct: got.map((r) => r.load.cpuPct),
    };
  } finally {
    await pool.close();
    server.send({ type: 'close' });
    await stopChild(server.child, 5000);
  }
}
