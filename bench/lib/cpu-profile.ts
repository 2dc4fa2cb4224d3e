import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function (and by package / file) from the V8 .cpuprofile files in `dir`. */
export function summarizeProfiles(dir: string, top = 15): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const self = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const f of files) {
    const p = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile;
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    p.samples.forEach((id, i) => {
      const us = p.timeDeltas[i] ?? 0;
      const n = nodes.get(id);
      if (!n) return;
      const { functionName, url, lineNumber } = n.callFrame;
      const file = url.replace(/^file:\/\//, '');
      const area = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? (file.includes('/src/') ? `src/${file.split('/src/')[1]?.split('/')[0] ?? ''}` : file ? 'node internals' : functionName || '(native)');
      const key = `${functionName || '(anonymous)'} ${file ? `${path.basename(file)}:${lineNumber + 1}` : ''} [${area}]`;
      self.set(key, (self.get(key) ?? 0) + us);
      byArea.set(area, (byArea.get(area) ?? 0) + us);
      total += us;
    });
  }
  if (total === 0) return [`no samples in ${dir}`];
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  return [`server CPU profile: ${(total / 1e6).toFixed(1)} s sampled (${dir})`, 'by package/area:', ...fmt(byArea), 'by function (self time):', ...fmt(self)];
}
