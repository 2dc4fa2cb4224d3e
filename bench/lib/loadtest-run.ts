import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { pgBaseline, socketBaseline, type PgBaseline, type SocketBaseline } from './baselines';
import { apiSnapshots, createConcert } from './checker';
import { sleep } from './client';
import { ExpirySampler, dbChecks, dbSeatStatuses, mapChecks, type Check } from './invariants';
import type { FromWorker } from './messages';
import { workerCount, type LoadOptions } from './options';
import { phaseReport, type PhaseReport } from './phase-report';
import { ServerMonitor, type ServerUsage } from './server-metrics';
import { ROOT, createDatabase, startServerChild, type ServerChild } from './server-process';
import { workerChecks } from './worker-checks';
import { WorkerPool } from './workers';
import { summarizeProfiles } from './cpu-profile';

export interface LoadResult {
  startedAt: string;
  commit: string;
  options: LoadOptions;
  server: { url: string; engine?: string; startedHere: boolean; logFile?: string };
  signup: { users: number; errors: Record<string, number>; seconds: number };
  sale: PhaseReport;
  storm?: PhaseReport;
  serverUsage: { sale: ServerUsage; storm?: ServerUsage };
  workers: number;
  baselines?: { pg?: PgBaseline; sockets: SocketBaseline[]; errors: string[] };
  checks: Check[];
  ok: boolean;
  notes: string[];
  /** The server's hottest functions, with --profile. */
  profile: string[];
}

export type Progress = (line: string, final?: boolean) => void;

function gitCommit(): string {
  try {
    const sha = execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain -- src', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${sha}+dirty-src` : sha;
  } catch {
    return 'unknown';
  }
}

/** What the server logged at error level (pino level ≥ 50), grouped by error type. */
function serverErrors(logFile: string): string {
  const byType: Record<string, number> = {};
  try {
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      const m = /^\{"level":(\d+)/.exec(line);
      if (!m || Number(m[1]) < 50) continue;
      const type = /"type":"([^"]+)"/.exec(line)?.[1] ?? /"msg":"([^"]{0,60})/.exec(line)?.[1] ?? 'error';
      byType[type] = (byType[type] ?? 0) + 1;
    }
  } catch {
    return `server log unreadable: ${logFile}`;
  }
  const entries = Object.entries(byType);
  return entries.length ? `server logged errors: ${entries.map(([t, n]) => `${t} ×${n}`).join(', ')} (log: ${logFile})` : `server logged no errors (log: ${logFile})`;
}

/** Baselines run first, alone, so they measure this machine rather than the sale's leftovers. */
async function baselines(o: LoadOptions, databaseUrl: string | undefined, progress: Progress): Promise<NonNullable<LoadResult['baselines']>> {
  const out: NonNullable<LoadResult['baselines']> = { sockets: [], errors: [] };
  if (databaseUrl) {
    progress(`baseline: PostgreSQL inserts, ${o.baselineSeconds} s × 4`);
    out.pg = await pgBaseline(databaseUrl, o.baselineSeconds).catch((err: unknown) => {
      out.errors.push(`postgres: ${String(err)}`);
      return undefined;
    });
  }
  for (const engine of o.baselineEngines) {
    progress(`baseline: bare socket.io on ${engine}, ${o.buyers} sockets`);
    try {
      out.sockets.push(await socketBaseline(engine, o.buyers, workerCount(o), o.connectConcurrency, o.broadcasts, o.broadcastIntervalMs));
    } catch (err) {
      out.errors.push(`socket.io ${engine}: ${String(err instanceof Error ? err.message : err)}`);
    }
  }
  return out;
}

export async function runLoadtest(o: LoadOptions, progress: Progress = () => undefined): Promise<LoadResult> {
  const startedAt = new Date().toISOString();
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const notes: string[] = [];
  // Filled after the server stops (V8 writes the profile on exit), so the result holds it by reference.
  const profileLines: string[] = [];
  let created: Awaited<ReturnType<typeof createDatabase>> | undefined;
  let server: ServerChild | undefined;
  let pool: WorkerPool | undefined;
  let pg: Client | undefined;
  let monitor: ServerMonitor | undefined;
  try {
    let url = o.url;
    let databaseUrl = o.databaseUrl;
    if (!url) {
      created = await createDatabase();
      progress(`database ${created.name}; starting the server`);
      server = await startServerChild(o, created.url);
      url = server.url;
      databaseUrl = created.url;
    }
    // Several instances: worker i talks to instance i mod n; setup, metrics and checks use the first.
    const urls = url.split(',');
    url = urls[0] ?? url;
    if (databaseUrl) {
      pg = new Client({ connectionString: databaseUrl });
      await pg.connect();
    } else notes.push('no --database-url: SQL invariants skipped, API checks only');
    const concert = await createConcert(url, o.adminToken, `Load test ${runId}`, o.dates, o.seatsPerDate);
    const storm = o.stormS > 0 ? await createConcert(url, o.adminToken, `Hold storm ${runId}`, 1, o.stormSeats) : undefined;
    const stormDate = storm?.dates[0];
    const concertIds = storm ? [concert.id, storm.id] : [concert.id];
    const dateIds = [...concert.dates.map((d) => d.id), ...(stormDate ? [stormDate.id] : [])];
    const base = o.baselines ? await baselines(o, databaseUrl, progress) : undefined;

    const workers = workerCount(o);
    const per = Math.ceil(o.buyers / workers);
    pool = new WorkerPool(workers);
    const latest = new Map<number, Extract<FromWorker, { type: 'progress' }>>();
    pool.on((m) => m.type === 'progress' && latest.set(m.index, m));
    progress(`signing up ${o.buyers} buyers in ${workers} worker${workers > 1 ? 's' : ''}`);
    const signupStarted = Date.now();
    const readyP = pool.collect('ready');
    for (let i = 0; i < workers; i++) {
      const from = i * per;
      pool.send(i, { type: 'init', role: 'sale', index: i, url: urls[i % urls.length] as string, runId, concertId: concert.id, dates: concert.dates, from, count: Math.max(0, Math.min(per, o.buyers - from)), totalBuyers: o.buyers, options: o });
    }
    const ready = await readyP;
    const userIds = ready.flatMap((r) => r.userIds);
    const signupErrors: Record<string, number> = {};
    for (const r of ready) for (const [k, n] of Object.entries(r.signupErrors)) signupErrors[k] = (signupErrors[k] ?? 0) + n;
    const signup = { users: userIds.length, errors: signupErrors, seconds: (Date.now() - signupStarted) / 1000 };

    monitor = new ServerMonitor(url);
    monitor.start();
    const sampler = pg ? new ExpirySampler(pg, () => concertIds) : undefined;
    sampler?.start();
    // Buyers admitted and not yet done, at the progress line's once-a-second look.
    let peakInSale = 0;
    const line = (phase: string, started: number) => {
      const sum = (k: string) => [...latest.values()].reduce((n, m) => n + (m.counts[k] ?? 0), 0);
      peakInSale = Math.max(peakInSale, sum('admitted') - sum('done'));
      const srv = monitor?.samples.slice(-2);
      const cpu = srv && srv.length === 2 ? `${monitor?.cpuPct(srv[0]!, srv[1]!).toFixed(0)}%` : '-';
      const last = monitor?.latest();
      const gen = [...latest.values()].map((m) => `${m.load.cpuPct.toFixed(0)}%`).join('/');
      const p99 = Math.max(0, ...[...latest.values()].map((m) => (Number.isFinite(m.holdP99) ? (m.holdP99 ?? 0) : 0)));
      return `${phase} ${((Date.now() - started) / 1000).toFixed(0)}s | conn ${sum('connected')} adm ${sum('admitted')} holds ${sum('holds')} paid ${sum('outcome:paid')} done ${sum('done')}/${sum('buyers')} | hold p99≤${p99.toFixed(0)}ms | server cpu ${cpu} rss ${last ? (last.rssBytes / 1e6).toFixed(0) : '-'}MB sockets ${last?.sockets ?? '-'} | gen cpu ${gen}`;
    };

    const t0 = Date.now() + 300;
    pool.broadcast({ type: 'start', t0 });
    const deadline = t0 + o.durationS * 1000;
    while (Date.now() < deadline) {
      await sleep(1000);
      progress(line('sale', t0));
      const done = [...latest.values()].reduce((n, m) => n + (m.counts['done'] ?? 0), 0);
      if (latest.size === workers && done >= userIds.length) break;
    }
    const saleP = pool.collect('phase');
    pool.broadcast({ type: 'stop' });
    const saleParts = await saleP;
    const saleEnd = Date.now();
    const sale = phaseReport(saleParts, (saleEnd - t0) / 1000);
    sale.counts['max:in-sale'] = peakInSale;
    progress(line('sale', t0), true);

    let stormReport: PhaseReport | undefined;
    let stormUsage: ServerUsage | undefined;
    if (storm && stormDate) {
      latest.clear();
      const stormStart = Date.now();
      const stormP = pool.collect('phase');
      const users = Math.min(o.stormUsers, o.buyers);
      const perUserIntervalMs = o.stormRate > 0 ? (users / o.stormRate) * 1000 : 0;
      for (let i = 0; i < workers; i++) pool.send(i, { type: 'storm', concertId: storm.id, dateId: stormDate.id, users: Math.ceil(users / workers), seconds: o.stormS, perUserIntervalMs, watchers: Math.ceil(o.stormWatchers / workers), seats: o.stormSeats });
      const ticker = setInterval(() => progress(line('storm', stormStart)), 1000);
      const parts = await stormP.finally(() => clearInterval(ticker));
      stormReport = phaseReport(parts, (Date.now() - stormStart) / 1000);
      stormUsage = monitor.window(stormStart, Date.now());
    }

    // Let every hold reach its expiry (and the release its watchers), then look.
    const lastExpiry = pg
      ? Number((await pg.query(`SELECT extract(epoch FROM max(expires_at)) * 1000 AS t FROM reservations WHERE concert_id = ANY($1) AND status = 'HELD'`, [concertIds])).rows[0].t ?? 0)
      : Date.now() + o.holdTtlS * 1000;
    const wait = Math.min(o.holdTtlS * 1000 + 5000, Math.max(0, lastExpiry + 1500 - Date.now()));
    progress(`waiting ${(wait / 1000).toFixed(1)} s for the last holds to expire`);
    await sleep(wait + 1000);
    const checks: Check[] = [];
    if (sampler) checks.push(sampler.stop());

    progress('checking invariants');
    const snaps = await apiSnapshots(url, `lt-checker-${runId}`, [{ concertId: concert.id, dateIds: concert.dates.map((d) => d.id) }, ...(storm && stormDate ? [{ concertId: storm.id, dateIds: [stormDate.id] }] : [])], o.activeTtlS * 1000, 60_000);
    if (snaps.error) checks.push({ name: 'checker reads every seat map through the API', ok: false, detail: snaps.error });
    const verifiedP = pool.collect('verified');
    pool.broadcast({ type: 'verify' });
    const verified = (await verifiedP).map((v) => v.result);
    if (pg) {
      checks.push(...(await dbChecks(pg, { concertIds, dateIds, userIds: [...userIds, ...(snaps.userId ? [snaps.userId] : [])] })));
      const versions = new Map<number, number>((await pg.query(`SELECT id, version FROM concert_dates WHERE id = ANY($1)`, [dateIds])).rows.map((r) => [r.id, Number(r.version)]));
      const watchers: Record<string, Record<string, number>> = {};
      for (const v of verified) for (const [d, prints] of Object.entries(v.maps)) for (const [h, n] of Object.entries(prints)) ((watchers[d] ??= {})[h] = (watchers[d]?.[h] ?? 0) + n);
      checks.push(...mapChecks(await dbSeatStatuses(pg, dateIds), snaps.maps, watchers, versions));
    } else checks.push(...mapChecks(undefined, snaps.maps, {}, undefined));
    checks.push(...workerChecks(sale, stormReport, verified, urls.length));
    monitor.stop();
    const notesOut = [...notes];
    if (!server?.engine && !o.url) notesOut.push('server engine not seen in its start log');
    if (server) notesOut.push(serverErrors(server.logFile));
    return {
      startedAt,
      commit: gitCommit(),
      options: o,
      server: { url, engine: server?.engine, startedHere: !o.url, logFile: server?.logFile },
      signup,
      sale,
      storm: stormReport,
      serverUsage: { sale: monitor.window(t0, saleEnd), storm: stormUsage },
      workers,
      baselines: base,
      checks,
      ok: checks.every((c) => c.ok || c.skipped),
      notes: notesOut,
      profile: profileLines,
    };
  } finally {
    monitor?.stop();
    await pool?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    if (server?.profileDir) {
      try {
        profileLines.push(...summarizeProfiles(server.profileDir));
      } catch (err) {
        profileLines.push(`no server profile: ${String(err)}`);
      }
    }
    await pg?.end().catch(() => undefined);
    if (created && !o.keepDb) await created.drop().catch(() => undefined);
  }
}
