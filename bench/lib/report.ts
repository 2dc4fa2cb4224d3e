import type { Summary } from './hist';
import type { LoadResult } from './loadtest-run';
import type { PhaseReport } from './phase-report';
import type { ServerUsage } from './server-metrics';

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(1) : v.toFixed(0)) : '–');
const num = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const pct = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)}%` : '–');
const lat = (s: Summary) => (s.count ? `p50 ${ms(s.p50)} / p95 ${ms(s.p95)} / p99 ${ms(s.p99)} / max ${ms(s.max)} ms (n=${num(s.count)})` : 'no samples');
const kv = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${num(n)}`).join(', ') || 'none';

/** The pieces the text table, the ratios and BENCHMARKS.md all use. */
export function ratios(r: LoadResult) {
  const pg = r.baselines?.pg;
  const holdsPerSec = r.storm?.rates.holdsPerSec ?? r.sale.rates.holdsPeak;
  const commandsPerSec = r.storm ? r.storm.rates.holdsPerSec + r.storm.rates.cancelsPerSec : r.sale.rates.holdsPeak;
  const engine = r.server.engine ?? 'uws';
  const sock = r.baselines?.sockets.find((s) => s.engine.startsWith(engine === 'uws' ? '@' : 'node')) ?? r.baselines?.sockets[0];
  return {
    holdsPerSec,
    commandsPerSec,
    holdsVsPg1: pg ? holdsPerSec / pg.oneConnTps : NaN,
    holdsVsPg8: pg ? holdsPerSec / pg.pool8Tps : NaN,
    fanoutP99VsRaw: sock ? r.sale.latency.fanout.p99 / sock.delivery.p99 : NaN,
    fanoutLastP99VsRaw: sock ? r.sale.fanoutLast.p99 / sock.lastRecipient.p99 : NaN,
    socketBaseline: sock,
  };
}

const SERVER_SIDE = ['queue:join', 'seats:watch', 'seats:hold', 'reservation:cancel', 'wallet:charge', 'payment:pay'];

function serverSide(u: ServerUsage | undefined): string {
  if (!u) return '';
  const parts = SERVER_SIDE.flatMap((c) => {
    const x = u.commands[c];
    return x ? [`${c} ${ms(x.p50Ms)} / ${ms(x.p99Ms)}`] : [];
  });
  return parts.length ? `  server-side    ok replies, p50 / p99 ms from tix_command_duration_seconds buckets: ${parts.join('; ')}` : '';
}

function phaseLines(name: string, p: PhaseReport): string[] {
  const l = p.latency;
  return [
    `${name} (${p.seconds.toFixed(1)} s)`,
    `  connect        ${lat(l.connect)}; ${num(p.rates.connectPerSec)}/s`,
    `  queue:join     ack ${lat(l.join)}`,
    `  join→admitted  ${lat(l.joinToAdmit)}`,
    `  admission push ${lat(l.admitPush)}  [${p.counts['admit-push-timestamped'] ? 'server `at`' : 'derived: expiresAt − QUEUE_ACTIVE_TTL'}]`,
    `  queue:tick     ${p.ticks} ticks; spread first→last waiter ${lat(p.tickSpread)}${l.tickLatency.count ? `; latency ${lat(l.tickLatency)}` : ' (no server timestamp in queue:tick)'}`,
    `  seats:hold     all ${lat(l.hold)}`,
    `                 ok  ${lat(l.holdOk)}; ${num(p.rates.holdsPerSec)} holds/s mean, ${num(p.rates.holdsPeak)} peak; ${num(p.rates.holdAttemptsPerSec)} attempts/s`,
    `  fan-out        commit→each watcher ${lat(l.fanout)}`,
    `                 commit→last watcher ${lat(p.fanoutLast)} over ${num(p.commits)} commits, ${p.watchersPerCommit.toFixed(0)} watchers each on average`,
    `  wallet:charge  ${lat(l.charge)}`,
    `  payment:pay    ${lat(l.pay)}; ${num(p.rates.paymentsPerSec)}/s`,
    `  cancel         ${lat(l.cancel)}`,
    `  hold expiry    reservation:updated EXPIRED − expiresAt ${lat(l.expiryLag)}`,
    `  concurrency    ${num(p.counts['max:waiting'] ?? NaN)} waiting at most (queue:tick.waiting); ${num(p.counts['max:in-sale'] ?? NaN)} admitted and not done at most; ${num(p.counts['connected'] ?? 0)} sockets`,
    `  outcomes       ${kv(p.outcomes)}`,
    `  errors         ${kv(p.errors)}`,
    `  generator      ${p.generator.map((g, i) => `w${i} cpu ${pct(g.cpuAvgPct)} avg / ${pct(g.cpuPeakPct)} peak, loop p99 ≤${ms(g.loopP99PeakMs)} ms`).join('; ')}`,
  ];
}

export function textReport(r: LoadResult): string {
  const o = r.options;
  const x = ratios(r);
  const su = r.serverUsage.sale;
  const out: string[] = [
    `load test ${r.startedAt} commit ${r.commit}; server ${r.server.url} (${r.server.startedHere ? 'started here' : 'given'}, engine ${r.server.engine ?? '?'})`,
    `buyers ${o.buyers} in ${r.workers} workers; ${o.dates} date(s) × ${o.seatsPerDate} seats; 1–${o.maxSeats} seats each; think ${o.thinkMs} ms; ramp ${o.rampMs} ms; pay/abandon/cancel ${o.pay}/${o.abandon}/${o.cancel}, refund ${o.refund}`,
    `signup         ${num(r.signup.users)} users in ${r.signup.seconds.toFixed(1)} s${Object.keys(r.signup.errors).length ? `; errors ${kv(r.signup.errors)}` : ''}`,
    ...phaseLines('SALE', r.sale),
    `  server         cpu ${pct(su.cpuAvgPct)} avg / ${pct(su.cpuPeakPct)} peak; rss ${num(su.rssPeakMb)} MB peak (${num(su.rssStartMb)} at start); sockets ${num(su.socketsPeak)} peak; loop p99 ≤${ms(su.loopLagP99PeakMs)} ms${su.meanBatch ? `; ${su.meanBatch.toFixed(1)} commands per group commit` : ''}`,
    serverSide(su),
  ].filter(Boolean);
  if (r.storm) {
    const st = r.serverUsage.storm;
    const offered = o.stormRate > 0 ? `offered ${o.stormRate} holds/s, ${r.storm.counts['storm-turns-skipped'] ?? 0} turns skipped` : 'closed loop';
    out.push(...phaseLines(`HOLD STORM (${o.stormUsers} users, hold 1 seat → cancel, one date of ${o.stormSeats} seats, ${o.stormWatchers} of them watching, ${offered})`, r.storm));
    if (st) out.push(`  server         cpu ${pct(st.cpuAvgPct)} avg / ${pct(st.cpuPeakPct)} peak; rss ${num(st.rssPeakMb)} MB${st.meanBatch ? `; ${st.meanBatch.toFixed(1)} commands per group commit` : ''}${st.meanCommitMs !== undefined ? `; ${num(st.commitsPerSec ?? NaN)} commits/s, ${st.meanCommitMs.toFixed(1)} ms per commit, oldest waited ${(st.meanRoomWaitMs ?? NaN).toFixed(1)} ms` : ''}`);
    if (serverSide(st)) out.push(serverSide(st));
  }
  const b = r.baselines;
  if (b) {
    out.push('BASELINES (same run, same machine)');
    if (b.pg) out.push(`  postgres       1-row INSERT commits/s: 1 conn ${num(b.pg.oneConnTps)}, pool 8 ${num(b.pg.pool8Tps)}; 50-row txn rows/s: 1 conn ${num(b.pg.batch50OneConnRows)}, 4 conns ${num(b.pg.batch50Pool4Rows)}`);
    for (const s of b.sockets) {
      out.push(`  socket.io      ${s.engine}: ${num(s.sockets)} sockets, ${num(s.connectPerSec)} connects/s, ${num(s.rssPerConnKb)} KB RSS/conn; server cpu ${pct(s.serverCpuPctDuringBroadcast)} while broadcasting; generator cpu ${s.generatorCpuPct.map(pct).join(', ')}`);
      out.push(`                 ${s.broadcasts} broadcasts ${s.intervalMs} ms apart; send→each ${lat(s.delivery)}`);
      out.push(`                 send→last ${lat(s.lastRecipient)}`);
    }
    for (const e of b.errors) out.push(`  failed         ${e}`);
    out.push('RATIOS');
    out.push(`  hold throughput ${num(x.holdsPerSec)}/s${r.storm ? ` (storm; ${num(x.commandsPerSec)} durable commands/s with cancels)` : ' (sale peak second)'} = ${x.holdsVsPg1.toFixed(2)}× PG 1-conn commits/s, ${x.holdsVsPg8.toFixed(2)}× PG pool-8`);
    out.push(`  fan-out p99 ${ms(r.sale.latency.fanout.p99)} ms = ${x.fanoutP99VsRaw.toFixed(1)}× raw socket.io (${x.socketBaseline?.engine ?? '–'}); commit→last watcher p99 = ${x.fanoutLastP99VsRaw.toFixed(1)}× raw send→last`);
  }
  out.push('INVARIANTS');
  for (const c of r.checks) out.push(`  ${c.skipped ? 'SKIP' : c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.skipped ?? c.detail}`);
  for (const n of r.notes) out.push(`  note: ${n}`);
  if (r.profile.length) out.push(...r.profile.map((l) => `  ${l}`));
  out.push(r.ok ? 'RESULT: all invariants hold' : 'RESULT: INVARIANT VIOLATED');
  return out.join('\n');
}

/** One row for BENCHMARKS.md's results table. */
export function markdownRow(r: LoadResult): string {
  const o = r.options;
  const x = ratios(r);
  const s = r.sale;
  const su = r.serverUsage.sale;
  const cells = [
    r.startedAt.slice(0, 16).replace('T', ' '),
    `\`${r.commit}\``,
    `${o.buyers} buyers, ${o.dates}×${o.seatsPerDate} seats${o.stormS ? `, storm ${o.stormUsers}u×${o.stormS}s` : ''}`,
    `${num(s.rates.connectPerSec)}/s`,
    `${ms(s.latency.joinToAdmit.p50)} / ${ms(s.latency.joinToAdmit.p99)}`,
    `${ms(s.latency.admitPush.p50)} / ${ms(s.latency.admitPush.p99)}`,
    `${ms(s.latency.holdOk.p50)} / ${ms(s.latency.holdOk.p95)} / ${ms(s.latency.holdOk.p99)}`,
    `${num(x.holdsPerSec)}`,
    `${ms(s.latency.fanout.p50)} / ${ms(s.latency.fanout.p99)} (last ${ms(s.fanoutLast.p99)})`,
    `${ms(s.latency.pay.p50)} / ${ms(s.latency.pay.p99)}`,
    `${pct(su.cpuAvgPct)} / ${num(su.rssPeakMb)} MB`,
    s.generator.map((g) => pct(g.cpuAvgPct)).join(', '),
    r.baselines?.pg ? `${num(r.baselines.pg.oneConnTps)} / ${num(r.baselines.pg.pool8Tps)}` : '–',
    x.socketBaseline ? `${ms(x.socketBaseline.delivery.p99)} (last ${ms(x.socketBaseline.lastRecipient.p99)})` : '–',
    `${x.holdsVsPg1.toFixed(2)} / ${x.holdsVsPg8.toFixed(2)}`,
    `${x.fanoutP99VsRaw.toFixed(1)}×`,
    r.ok ? 'all hold' : 'VIOLATED',
  ];
  return `| ${cells.join(' | ')} |`;
}

export const MARKDOWN_HEADER = [
  '| date (UTC) | commit | run | connects | join→admit p50/p99 ms | admit push p50/p99 ms | hold ok p50/p95/p99 ms | holds/s | fan-out p50/p99 ms | pay p50/p99 ms | server cpu / rss | generator cpu | PG 1-row tps 1/8 conns | raw socket.io p99 ms | holds ÷ PG 1/8 | fan-out ÷ raw | invariants |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
].join('\n');
