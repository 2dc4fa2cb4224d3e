/**
 * A live line chart in hand-made SVG (a charting library would outweigh the
 * page): the last few minutes of each series on one scale, so the lines
 * compare; the legend carries each series' latest value.
 */
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 200;
const PAD = 8;
/** About five minutes at one point a second. */
const KEEP = 300;

export const SERIES = [
  { key: 'waiting', className: 'line-waiting' },
  { key: 'active', className: 'line-active' },
  { key: 'admittedLastMinute', className: 'line-admitted' },
  { key: 'sold', className: 'line-sold' },
];

export class LiveChart {
  constructor(svg) {
    this.svg = svg;
    this.points = [];
    this.lines = SERIES.map((s) => {
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('class', `line ${s.className}`);
      line.setAttribute('fill', 'none');
      line.dataset.series = s.key;
      svg.appendChild(line);
      return line;
    });
  }

  clear() {
    this.points = [];
    this.draw();
  }

  add(stats) {
    this.points.push(stats);
    if (this.points.length > KEEP) this.points.shift();
    this.draw();
  }

  draw() {
    const n = this.points.length;
    const max = Math.max(1, ...this.points.flatMap((p) => SERIES.map((s) => p[s.key])));
    SERIES.forEach((s, i) => {
      const coords = this.points.map((p, j) => {
        const x = n <= 1 ? WIDTH - PAD : PAD + ((WIDTH - 2 * PAD) * j) / (n - 1);
        const y = HEIGHT - PAD - ((HEIGHT - 2 * PAD) * p[s.key]) / max;
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      this.lines[i].setAttribute('points', coords.join(' '));
    });
  }
}
