import type { LoadResult } from './loadtest-run';
import type { PhaseReport } from './phase-report';
import { textReport } from './report';
import { escapeHtml, heatmap, lineChart, type Series } from './svg-charts';
import { LATENCY_BANDS, type PhaseTimeline } from './timeline';
import type { TimedName } from './stats';

const LATENCIES: Record<TimedName, string> = {
  holdOk: 'seats:hold (ok) ack latency',
  pay: 'payment:pay ack latency',
  admitPush: 'admission push latency (server admission → queue:admitted received)',
  fanout: 'seat fan-out (commit → seats:changed received, each watcher)',
};

const sum = (a: readonly number[], b: readonly number[]) => a.map((v, i) => v + (b[i] ?? 0));

function phaseCharts(name: string, phase: PhaseReport): string {
  const t: PhaseTimeline | undefined = phase.timeline;
  if (!t || t.seconds === 0) return `<h2>${escapeHtml(name)}</h2><p>No per-second samples in this phase.</p>`;
  const r = t.rates;
  const throughput: Series[] = [
    { name: 'hold attempts/s', values: r.holdAttempts, color: '#94a3b8' },
    { name: 'holds/s', values: r.holds, color: '#2563eb' },
    { name: 'payments/s', values: r.payments, color: '#16a34a' },
    { name: 'cancels/s', values: r.cancels, color: '#9333ea' },
  ];
  const queue: Series[] = [
    { name: 'admissions/s', values: r.admissions, color: '#0891b2' },
    { name: 'releases/s', values: sum(r.cancels, r.expiries), color: '#dc2626' },
    { name: 'of them expiries/s', values: r.expiries, color: '#f59e0b' },
    { name: 'connects/s', values: r.connect, color: '#a3a3a3' },
  ];
  const latency = (Object.keys(LATENCIES) as TimedName[])
    .filter((h) => t.latency[h].bands.some((col) => col.some((n) => n > 0)))
    .map((h) => {
      const l = t.latency[h];
      const lines: Series[] = [
        { name: 'p50', values: l.p50, color: '#2563eb' },
        { name: 'p99', values: l.p99, color: '#dc2626' },
      ];
      return `<h3>${escapeHtml(LATENCIES[h])}</h3><div class="pair">${heatmap(`${LATENCIES[h]}: histogram per second`, l.bands, LATENCY_BANDS)}${lineChart(`${LATENCIES[h]}: p50 and p99 per second`, lines, 'ms', true)}</div>`;
    })
    .join('');
  const at = new Date(t.start * 1000).toISOString();
  return [
    `<h2>${escapeHtml(name)}</h2>`,
    `<p class="note">${t.seconds} s from ${escapeHtml(at)}; one point per second.</p>`,
    `<h3>Throughput</h3>${lineChart(`${name}: throughput`, throughput, 'per second')}`,
    `<h3>Admissions and releases</h3>${lineChart(`${name}: admissions and releases`, queue, 'per second')}`,
    latency,
  ].join('\n');
}

/** The whole run as one self-contained HTML page: charts per phase, the invariants, the text report. */
export function htmlReport(r: LoadResult): string {
  const checks = r.checks
    .map((c) => `<tr class="${c.skipped ? 'skip' : c.ok ? 'ok' : 'fail'}"><td>${c.skipped ? 'SKIP' : c.ok ? 'ok' : 'FAIL'}</td><td>${escapeHtml(c.name)}</td><td>${escapeHtml(c.skipped ?? c.detail)}</td></tr>`)
    .join('');
  const title = `Load test ${r.startedAt} (${r.commit})`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1500px;padding:0 16px;color:#1f2937}
.result{padding:8px 12px;border-radius:4px;font-weight:600}.result.ok{background:#dcfce7}.result.fail{background:#fee2e2}
.pair{display:flex;flex-wrap:wrap;gap:12px}.note{color:#6b7280}
table{border-collapse:collapse}td{padding:2px 8px;border-bottom:1px solid #eee;vertical-align:top}
tr.fail td{color:#b91c1c;font-weight:600}tr.skip td{color:#6b7280}
pre{background:#f5f5f5;padding:12px;overflow-x:auto;font-size:12px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="result ${r.ok ? 'ok' : 'fail'}">${r.ok ? 'All invariants hold' : 'INVARIANT VIOLATED'}</p>
<p>Server ${escapeHtml(r.server.url)} (engine ${escapeHtml(r.server.engine ?? '?')}); ${r.options.buyers} buyers, ${r.options.dates} date(s) × ${r.options.seatsPerDate} seats, ${r.workers} worker(s).</p>
${phaseCharts('Sale', r.sale)}
${r.storm ? phaseCharts('Hold storm', r.storm) : ''}
<h2>Invariants</h2><table>${checks}</table>
<h2>Text report</h2><pre>${escapeHtml(textReport(r))}</pre>
</body></html>
`;
}
