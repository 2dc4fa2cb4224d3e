import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import type { DiagramResult } from '../../scripts/check-diagrams.mts' with { 'resolution-mode': 'import' };

/**
 * Every Mermaid diagram in README.md and docs/ parses with mermaid's own
 * parser (scripts/check-diagrams.mts, run as its own ES-module process: the
 * mermaid package is ESM only) and renders to SVG in headless Chromium, the
 * way a browser shows it; docs/flows.md has the flows it promises.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const CHECK = path.join(ROOT, 'scripts', 'check-diagrams.mts');

/** The sections of docs/flows.md, one sequence diagram each. A new flow adds its heading here. */
const FLOWS = [
  'A command on either transport',
  'Signup and the user token',
  'Catalog: concerts and dates',
  'Queue join',
  'Queue status and leave',
  'Admission tick',
  'Sold out',
  'Seat map and seats:watch',
  'Hold',
  'Cancel and refund',
  'Wallet charge and balance',
  'Payment',
  'Hold expiry timer',
  'Idle and TTL expiry of queue entries',
  'Idle date rooms unload',
  'A command forwarded to the owning instance',
  'Lease takeover',
];


/** Runs the checker; it exits 1 when a diagram fails, which is an answer here, not an error. */
async function check(files: string[] = []): Promise<{ code: number; results: DiagramResult[] }> {
  try {
    const { stdout } = await promisify(execFile)(TSX, [CHECK, '--json', ...files], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, results: JSON.parse(stdout) as DiagramResult[] };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    if (failed.code !== 1 || !failed.stdout) throw new Error(`check-diagrams did not run: ${failed.stderr ?? String(err)}`, { cause: err });
    return { code: 1, results: JSON.parse(failed.stdout) as DiagramResult[] };
  }
}

describe('Mermaid diagrams in the docs', () => {
  let results: DiagramResult[];

  beforeAll(async () => {
    ({ results } = await check());
  });

  it('every diagram in README.md and docs/ parses', () => {
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
  });

  it('every diagram renders to SVG in headless Chromium (mermaid.min.js from node_modules)', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const page = await browser.newPage();
      await page.setContent('<!doctype html><html><body></body></html>');
      await page.addScriptTag({ path: require.resolve('mermaid/dist/mermaid.min.js') });
      const rendered = await page.evaluate(async (sources: string[]) => {
        const { mermaid } = globalThis as unknown as { mermaid: { initialize(c: object): void; render(id: string, text: string): Promise<{ svg: string }> } };
        mermaid.initialize({ startOnLoad: false });
        const out: string[] = [];
        for (const [i, source] of sources.entries()) {
          try {
            const { svg } = await mermaid.render(`diagram-${i}`, source);
            out.push(svg.startsWith('<svg') && !svg.includes('Syntax error') ? 'svg' : `not an SVG: ${svg.slice(0, 200)}`);
          } catch (err) {
            out.push(`render failed: ${String(err)}`);
          }
        }
        return out;
      }, results.map((r) => r.source));
      expect(results.map((r, i) => `${r.file}:${r.line} ${rendered[i] ?? 'missing'}`)).toEqual(results.map((r) => `${r.file}:${r.line} svg`));
    } finally {
      await browser?.close();
    }
  });

  it('docs/flows.md has one sequence diagram per flow, in the listed order', () => {
    const flows = results.filter((r) => r.file === path.join('docs', 'flows.md'));
    expect(flows.map((r) => [r.title, r.type])).toEqual(FLOWS.map((title) => [title, 'sequence']));
  });

  it('the contents of docs/flows.md list every flow', () => {
    const text = readFileSync(path.join(ROOT, 'docs', 'flows.md'), 'utf8');
    const listed = [...text.matchAll(/^- \[([^\]]+)\]\(#([^)]+)\)$/gm)].map((m) => [m[1], m[2]]);
    // GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.
    const anchor = (title: string) => title.toLowerCase().replace(/[^\p{L}\p{N}\- ]/gu, '').replace(/ /g, '-');
    expect(listed).toEqual(FLOWS.map((title) => [title, anchor(title)]));
  });

  it('docs/schema.md holds the entity-relationship diagram', () => {
    expect(results.filter((r) => r.file === path.join('docs', 'schema.md')).map((r) => r.type)).toEqual(['er']);
  });

  it('reports a diagram that does not parse, with its file and line, and exits 1', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tix-mermaid-'));
    try {
      const file = path.join(dir, 'broken.md');
      // A semicolon ends a sequence-diagram statement: the text after it is not a message.
      writeFileSync(file, ['# Broken', '', '```mermaid', 'sequenceDiagram', '    A->>B: one; two', '```', ''].join('\n'));
      const { code, results: broken } = await check([file]);
      expect(code).toBe(1);
      expect(broken).toEqual([{ file, line: 3, title: 'Broken', source: 'sequenceDiagram\n    A->>B: one; two', error: expect.stringContaining('Parse error on line 2') }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
