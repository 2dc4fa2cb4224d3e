/**
 * Parses every ```mermaid block of the given Markdown files (default: README.md
 * and docs/*.md) with mermaid's own parser, the one GitHub's renderer runs.
 * Prints one line per diagram; exits 1 when any does not parse.
 *
 *   npm run docs:check                 README.md and docs/*.md
 *   npm run docs:check -- a.md b.md    those files
 *   … -- --json                         one JSON array on stdout instead
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mermaid from 'mermaid';

export interface DiagramResult {
  file: string;
  /** Line of the opening fence. */
  line: number;
  /** The first line of the diagram (its type), or the heading above it. */
  title: string;
  type?: string;
  error?: string;
  /** The diagram's text, for callers that render it (the Chromium check in the test). */
  source: string;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The ```mermaid blocks of a Markdown text, with the line of each opening fence and the nearest heading above it. */
export function mermaidBlocks(text: string): { line: number; heading: string; source: string }[] {
  const lines = text.split('\n');
  const blocks: { line: number; heading: string; source: string }[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const current = lines[i] ?? '';
    const h = /^#{1,6}\s+(.*)$/.exec(current);
    if (h) heading = h[1] ?? '';
    if (!/^```mermaid\s*$/.test(current)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
    blocks.push({ line: start + 1, heading, source: body.join('\n') });
  }
  return blocks;
}

export async function checkFiles(files: string[]): Promise<DiagramResult[]> {
  const results: DiagramResult[] = [];
  for (const file of files) {
    for (const block of mermaidBlocks(readFileSync(path.resolve(ROOT, file), 'utf8'))) {
      const result: DiagramResult = { file, line: block.line, title: block.heading, source: block.source };
      try {
        // suppressErrors off: a diagram that does not parse rejects with the parser's message.
        const parsed = await mermaid.parse(block.source);
        if (parsed) result.type = parsed.diagramType;
        else result.error = 'mermaid.parse returned nothing';
      } catch (err) {
        result.error = err instanceof Error ? err.message : String(err);
      }
      results.push(result);
    }
  }
  return results;
}

function defaultFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => path.join('docs', f));
  return ['README.md', ...docs];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  const results = await checkFiles(files.length > 0 ? files : defaultFiles());
  if (json) process.stdout.write(`${JSON.stringify(results)}\n`);
  else for (const r of results) process.stdout.write(`${r.error ? 'FAIL' : 'ok  '} ${r.file}:${r.line} ${r.type ?? ''} ${r.title}${r.error ? `\n${r.error}\n` : ''}\n`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
