import { htmlReport } from '../../bench/lib/html-report';
import type { LoadResult } from '../../bench/lib/loadtest-run';
import { DEFAULTS } from '../../bench/lib/options';
import { phaseReport } from '../../bench/lib/phase-report';
import { PhaseStats } from '../../bench/lib/stats';
import { heatmap, lineChart, niceTicks } from '../../bench/lib/svg-charts';
import { LATENCY_BANDS } from '../../bench/lib/timeline';

const T0 = 1_800_000_000_000;
const usage = { samples: 1, cpuAvgPct: 50, cpuPeakPct: 90, rssPeakMb: 120, rssStartMb: 80, socketsPeak: 10, loopLagP99PeakMs: 3, commands: {} };

/** A three-second sale: holds getting slower, one admission wave, a release by expiry in the last second. */
function sale() {
  const stats = new PhaseStats();
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < 10 * (s + 1); i++) {
      stats.rates.holds.mark(T0 + s * 1000 + i);
      stats.hists.holdOk.add(1.5 * 10 ** s, T0 + s * 1000 + i);
    }
  }
  stats.rates.admissions.mark(T0, 40);
  stats.rates.expiries.mark(T0 + 2500);
  // A worker's stats reach the parent as JSON: NaN (a second with no sample) becomes null on the way.
  const data = JSON.parse(JSON.stringify(stats.toJSON()));
  return phaseReport([{ data, load: { cpuAvgPct: 10, cpuPeakPct: 20, loopP99PeakMs: 1 } }], 3);
}

function result(ok: boolean): LoadResult {
  return {
    startedAt: '2027-01-15T08:00:00.000Z',
    commit: 'abc1234',
    options: DEFAULTS,
    server: { url: 'http://127.0.0.1:3000', engine: 'node', startedHere: true },
    signup: { users: 60, errors: {}, seconds: 1 },
    sale: sale(),
    serverUsage: { sale: usage },
    workers: 1,
    checks: [
      { name: 'no seat sold twice', ok, detail: ok ? '0 seats <b>twice</b>' : '2 seats twice' },
      { name: 'skipped one', ok: true, detail: '', skipped: 'no database' },
    ],
    ok,
    notes: [],
    profile: [],
  };
}

describe('the load generator\'s HTML report', () => {
  it('keeps the sale second by second: rates, per-second percentiles and band counts', () => {
    const t = sale().timeline;
    expect(t.start).toBe(T0 / 1000);
    expect(t.seconds).toBe(3);
    expect(t.rates.holds).toEqual([10, 20, 30]);
    expect(t.rates.admissions).toEqual([40, 0, 0]);
    expect(t.rates.expiries).toEqual([0, 0, 1]);
    expect(t.latency.holdOk.p50.map((v) => +v.toPrecision(2))).toEqual([1.5, 15, 150]);
    // 1.5 ms lands in the (1, 2] band, 15 in (10, 20], 150 in (100, 200].
    expect(t.latency.holdOk.bands.map((col) => col.findIndex((n) => n > 0))).toEqual([1, 4, 7]);
    expect(t.latency.holdOk.bands.map((col) => col.reduce((a, b) => a + b, 0))).toEqual([10, 20, 30]);
    expect(t.latency.pay.bands.flat().every((n) => n === 0)).toBe(true);
  });

  it('is one page with inline SVG charts, no script and nothing fetched', () => {
    const html = htmlReport(result(true));
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!127\.0\.0\.1)/);
    expect(html).toContain('All invariants hold');
    for (const title of ['Sale: throughput', 'Sale: admissions and releases', 'seats:hold (ok) ack latency: histogram per second', 'seats:hold (ok) ack latency: p50 and p99 per second']) {
      expect(html).toContain(`<title>${title}</title>`);
    }
    // Only latencies with samples get charts.
    expect(html).not.toContain('payment:pay ack latency: histogram');
    expect(html.match(/<svg /g)).toHaveLength(4);
    // Text from the run is escaped.
    expect(html).toContain('0 seats &#60;b&#62;twice&#60;/b&#62;');
  });

  it('says so loudly when an invariant is violated', () => {
    const html = htmlReport(result(false));
    expect(html).toContain('<p class="result fail">INVARIANT VIOLATED</p>');
    expect(html).toContain('<tr class="fail"><td>FAIL</td><td>no seat sold twice</td><td>2 seats twice</td></tr>');
    expect(html).toContain('<tr class="skip"><td>SKIP</td><td>skipped one</td><td>no database</td></tr>');
  });

  it('draws a gap, not a slope, across a second without samples, and one cell per non-empty band', () => {
    const line = lineChart('t', [{ name: 'p99', values: [1, 2, null, 4, 5], color: '#000' }], 'ms', true);
    expect(line.match(/<polyline /g)).toHaveLength(2);
    const map = heatmap('h', [[1, 0, 0], [0, 0, 0], [0, 5, 2]], [1, 2]);
    expect(map.match(/<rect [^>]*fill="#c2410c"/g)).toHaveLength(3);
    expect(niceTicks(37)).toEqual([0, 10, 20, 30, 40]);
    expect(LATENCY_BANDS[0]).toBe(1);
  });
});
