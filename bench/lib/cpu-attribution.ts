import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const AREAS = ['transport', 'JSON', 'validation', 'tokens', 'metrics', 'logging', 'budgets', 'room', 'ORM/driver', 'pg I/O', 'handlers', 'GC', 'other'] as const;
export type Area = (typeof AREAS)[number];

const PACKAGES: [RegExp, Area][] = [
  [/node_modules\/(engine\.io|engine\.io-parser|socket\.io|socket\.io-parser|socket\.io-adapter|@socket\.io\/[^/]+|ws|bufferutil|@btc-vision\/uwebsockets\.js|@trufflesuite\/[^/]+|uWebSockets\.js)\//, 'transport'],
  [/node_modules\/(ajv|ajv-formats|fast-uri|fast-deep-equal|json-schema-traverse)\//, 'validation'],
  [/node_modules\/(jsonwebtoken|jws|jwa|safe-buffer|buffer-equal-constant-time|ecdsa-sig-formatter|lodash\.[a-z]+|ms|semver)\//, 'tokens'],
  [/node_modules\/(prom-client|tdigest|bintrees)\//, 'metrics'],
  [/node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify)\//, 'logging'],
  [/node_modules\/rate-limiter-flexible\//, 'budgets'],
  [/node_modules\/(sequelize|pg|pg-protocol|pg-pool|pg-types|pg-connection-string|postgres-[a-z]+|pgpass|split2|wkx|dottie|toposort-class|inflection|retry-as-promised|moment|moment-timezone|uuid|validator|lodash)\//, 'ORM/driver'],
  [/\/src\/(server|handlers\/socket|handlers\/socket-push|handlers\/http|handlers\/static-files|handlers\/client-ip)/, 'transport'],
  [/\/src\/handlers\/schemas/, 'validation'],
  [/\/src\/tokens/, 'tokens'],
  [/\/src\/metrics/, 'metrics'],
  [/\/src\/logger/, 'logging'],
  [/\/src\/handlers\/budgets/, 'budgets'],
  [/\/src\/rooms\//, 'room'],
  [/\/src\/models\//, 'ORM/driver'],
  [/\/src\/handlers\//, 'handlers'],
  // The server's own HTTP over node:http (WS_ENGINE=node): node's parser and sockets.
  [/^node:(_http_[a-z]+|http)$|node:internal\/http/, 'transport'],
];

/**
 * Which area a call frame's self time belongs to: by the package or source
 * file it runs in; a native or node-internal frame (a socket write, an HMAC,
 * a timer) belongs to the nearest caller that has one (`parent`), so a write
 * issued by pg counts as the driver and one issued by pino as logging.
 */
export function areaOf(functionName: string, url: string, parent: () => Area | 'idle'): Area | 'idle' {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)' || functionName === '(root)') return 'other';
  if (url === '' && (functionName === 'stringify' || functionName === 'parse')) return 'JSON';
  if (url === '' && /^validate\d*$/.test(functionName)) return 'validation'; // ajv's generated code has no file
  for (const [re, area] of PACKAGES) if (re.test(url)) return area;
  return parent();
}

export interface Window {
  phase: string;
  fromUs: number;
  toUs: number;
  commands: number;
}

export interface Attribution {
  phase: string;
  commands: number;
  /**
   * Sampled busy time (not idle) per command, µs, main thread only. On a busy
   * machine a sample also covers time the thread waited for a core, so quote
   * the shares (times the measured CPU), not this.
   */
  busyUsPerCommand: number;
  /** Share of the phase's busy samples, %, by area. */
  byArea: Record<Area, number>;
  /** Heaviest functions (self time) in the phase: share of busy time. */
  top: { frame: string; area: string; pct: number }[];
}

/**
 * Self time of the server's main thread, cut into the bench's phases by time
 * (V8 stamps samples with the same monotonic clock as process.hrtime), then
 * by area and divided by the commands each phase ran.
 */
export function attribute(dir: string, windows: Window[], top = 8): Attribution[] {
  const perPhase = new Map<string, { commands: number; busy: number; area: Map<Area, number>; frames: Map<string, { area: string; us: number }> }>();
  for (const w of windows) {
    const p = perPhase.get(w.phase) ?? { commands: 0, busy: 0, area: new Map(), frames: new Map() };
    p.commands += w.commands;
    perPhase.set(w.phase, p);
  }
  for (const f of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    const parents = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
    const areas = new Map<number, Area | 'idle'>();
    const areaOfNode = (id: number): Area | 'idle' => {
      const known = areas.get(id);
      if (known) return known;
      const frame = nodes.get(id);
      const parent = parents.get(id);
      let area = frame ? areaOf(frame.functionName, frame.url, () => (parent === undefined ? 'other' : areaOfNode(parent))) : 'other';
      // A native or node-internal frame under the driver: the socket reads and writes of a PostgreSQL round trip.
      if (area === 'ORM/driver' && frame && (frame.url === '' || frame.url.startsWith('node:'))) area = 'pg I/O';
      areas.set(id, area);
      return area;
    };
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      at += delta;
      const w = windows.find((x) => at >= x.fromUs && at < x.toUs);
      const frame = nodes.get(id);
      if (!w || !frame) return;
      const area = areaOfNode(id);
      if (area === 'idle') return;
      const p = perPhase.get(w.phase);
      if (!p) return;
      p.busy += delta;
      p.area.set(area, (p.area.get(area) ?? 0) + delta);
      const key = `${frame.functionName || '(anonymous)'} ${frame.url ? path.basename(frame.url.replace(/^file:\/\//, '')) : ''}`.trim();
      const prev = p.frames.get(key) ?? { area, us: 0 };
      prev.us += delta;
      p.frames.set(key, prev);
    });
  }
  return [...perPhase.entries()].map(([phase, p]) => ({
    phase,
    commands: p.commands,
    busyUsPerCommand: p.commands ? p.busy / p.commands : 0,
    byArea: Object.fromEntries(AREAS.map((a) => [a, p.busy ? ((p.area.get(a) ?? 0) / p.busy) * 100 : 0])) as Record<Area, number>,
    top: [...p.frames.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([frame, v]) => ({ frame, area: v.area, pct: p.busy ? (v.us / p.busy) * 100 : 0 })),
  }));
}
