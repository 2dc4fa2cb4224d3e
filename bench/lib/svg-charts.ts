/**
 * Inline SVG charts for the load generator's HTML report: no script, no CDN,
 * so the page opens anywhere, offline, as one file.
 */
export interface Series {
  name: string;
  /** One value per second; null / NaN is a gap (JSON turns NaN into null). */
  values: readonly (number | null)[];
  color: string;
}

const W = 720;
const H = 220;
const PAD = { left: 56, right: 12, top: 28, bottom: 34 };
const plotW = W - PAD.left - PAD.right;
const plotH = H - PAD.top - PAD.bottom;

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
const fmt = (v: number) => (v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(v < 10 ? 1 : 0)}`);

/** Ticks at 1-2-5 steps, about `count` of them, from 0 to at least `max`. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

/** `columns`: one column per second (a heat map), so a tick sits at its column's middle. */
function frame(title: string, body: string, legend: Series[], seconds: number, columns = false): string {
  const xTicks = niceTicks(Math.max(1, seconds - 1), 6).filter((t) => t < Math.max(1, seconds));
  const xs = xTicks
    .map((t) => {
      const x = PAD.left + (columns ? ((t + 0.5) / Math.max(1, seconds)) * plotW : seconds > 1 ? (t / (seconds - 1)) * plotW : 0);
      return `<line x1="${x}" y1="${PAD.top + plotH}" x2="${x}" y2="${PAD.top + plotH + 4}" stroke="#888"/><text x="${x}" y="${H - 18}" text-anchor="middle">${t}</text>`;
    })
    .join('');
  const keys = legend.map((s, i) => `<rect x="${PAD.left + 8 + i * 130}" y="6" width="10" height="10" fill="${s.color}"/><text x="${PAD.left + 22 + i * 130}" y="15">${escapeHtml(s.name)}</text>`).join('');
  return [
    `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeHtml(title)}</title>`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>`,
    body,
    xs,
    `<text x="${PAD.left + plotW / 2}" y="${H - 4}" text-anchor="middle" fill="#555">seconds</text>`,
    keys,
    '</svg>',
  ].join('');
}

/** Per-second lines; `log` puts the y axis on powers of ten (latencies). */
export function lineChart(title: string, series: Series[], unit: string, log = false): string {
  const seconds = Math.max(0, ...series.map((s) => s.values.length));
  const all = series.flatMap((s) => s.values.filter(finite));
  const max = all.length ? Math.max(...all) : 1;
  const lo = log ? Math.pow(10, Math.floor(Math.log10(Math.max(0.1, Math.min(...all.filter((v) => v > 0), max))))) : 0;
  const hi = log ? Math.pow(10, Math.ceil(Math.log10(Math.max(max, lo * 10)))) : (niceTicks(max).at(-1) ?? 1);
  const y = (v: number) => PAD.top + plotH - (log ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi) * plotH;
  const x = (i: number) => PAD.left + (seconds > 1 ? (i / (seconds - 1)) * plotW : plotW / 2);
  const yTicks = log ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * Math.pow(10, i)) : niceTicks(max);
  const grid = yTicks.map((t) => `<line x1="${PAD.left}" y1="${y(t)}" x2="${PAD.left + plotW}" y2="${y(t)}" stroke="#e4e4e4"/><text x="${PAD.left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`).join('');
  const lines = series
    .map((s) => {
      // A gap (no sample that second) breaks the line instead of drawing a slope through it.
      const runs: string[] = [];
      let run: string[] = [];
      s.values.forEach((v, i) => {
        if (finite(v)) run.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
        else if (run.length) {
          runs.push(run.join(' '));
          run = [];
        }
      });
      if (run.length) runs.push(run.join(' '));
      return runs.map((pts) => (pts.includes(' ') ? `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>` : `<circle r="2" fill="${s.color}" cx="${pts.split(',')[0]}" cy="${pts.split(',')[1]}"/>`)).join('');
    })
    .join('');
  const label = `<text x="12" y="${PAD.top + plotH / 2}" transform="rotate(-90 12 ${PAD.top + plotH / 2})" text-anchor="middle" fill="#555">${escapeHtml(unit)}</text>`;
  return frame(title, grid + lines + label, series, seconds);
}

/**
 * A histogram per second, side by side: column = second, row = latency band,
 * darker = more samples (log scale, so a thin tail still shows).
 */
export function heatmap(title: string, bands: readonly (readonly number[])[], edgesMs: readonly number[]): string {
  const seconds = bands.length;
  const rows = edgesMs.length + 1;
  const max = Math.max(1, ...bands.flat());
  const cw = plotW / Math.max(1, seconds);
  const rh = plotH / rows;
  const cells = bands
    .flatMap((col, i) =>
      col.map((n, r) => (n > 0 ? `<rect x="${(PAD.left + i * cw).toFixed(1)}" y="${(PAD.top + plotH - (r + 1) * rh).toFixed(1)}" width="${Math.max(1, cw).toFixed(1)}" height="${rh.toFixed(1)}" fill="#c2410c" fill-opacity="${(0.12 + (0.88 * Math.log1p(n)) / Math.log1p(max)).toFixed(2)}"><title>${n} in ${r === 0 ? '≤' : r === rows - 1 ? '>' : ''}${fmt(edgesMs[Math.min(r, edgesMs.length - 1)] ?? 0)} ms, second ${i}</title></rect>` : '')),
    )
    .join('');
  const labels = edgesMs.map((e, r) => `<text x="${PAD.left - 6}" y="${(PAD.top + plotH - (r + 1) * rh + 4).toFixed(1)}" text-anchor="end">${fmt(e)}</text>`).join('');
  const label = `<text x="12" y="${PAD.top + plotH / 2}" transform="rotate(-90 12 ${PAD.top + plotH / 2})" text-anchor="middle" fill="#555">ms (band upper edge)</text>`;
  return frame(title, cells + labels + label, [], seconds, true);
}
