import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { htmlReport } from './html-report';
import type { LoadResult } from './loadtest-run';

/** Writes loadtest-<start time>.json and, next to it, the .html report; returns both paths. */
export function writeReports(result: LoadResult, dir: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const base = path.resolve(dir, `loadtest-${result.startedAt.replace(/[:.]/g, '-')}`);
  const files = { json: `${base}.json`, html: `${base}.html` };
  writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(files.html, htmlReport(result));
  return files;
}
