import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Every relative link in the repository's Markdown points at a file that a
 * clone has: no dead link, and none that leaves the repository (a clone has
 * nothing outside it). A link `file.md#anchor` must also name a heading of
 * that file. Web links (`http:`, `https:`, `mailto:`) and links to a heading
 * of the same page (`#anchor`) are not checked.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const SKIP_DIRS = new Set(['node_modules', 'data', 'dist', 'coverage', '.git']);
const FENCE = /^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm;

interface Link {
  /** The Markdown file, relative to the root. */
  file: string;
  line: number;
  target: string;
}

function markdownFiles(dir = ROOT): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) files.push(...markdownFiles(full));
    else if (name.endsWith('.md')) files.push(full);
  }
  return files.sort();
}

/** Blanks fenced code blocks and inline code spans (a `[x](y)` there is not a link), keeping line numbers. */
function withoutCode(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  return text.replace(FENCE, blank).replace(/(`+)[^`\n][\s\S]*?\1/g, blank);
}

/** Inline links and images `[text](target "title")`, and reference definitions `[label]: target`. */
function linksIn(file: string, text: string): Link[] {
  const links: Link[] = [];
  withoutCode(text)
    .split('\n')
    .forEach((content, i) => {
      for (const m of content.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)/g)) links.push({ file, line: i + 1, target: m[1] as string });
      const ref = /^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/.exec(content);
      if (ref) links.push({ file, line: i + 1, target: ref[1] as string });
    });
  return links;
}

/** GitHub's heading anchors: lower case, punctuation (backticks too) dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of markdown.replace(FENCE, '').split('\n')) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = (heading[1] as string)
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Why a link is dead, or undefined when it is fine (or not ours to check). */
function problemWith(link: Link, root = ROOT): string | undefined {
  const { target } = link;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//') || target.startsWith('#')) return undefined;
  const [rawPath = '', anchor] = target.split('#', 2);
  let decoded: string;
  try {
    decoded = decodeURI(rawPath.split('?')[0] ?? '');
  } catch {
    return 'malformed link';
  }
  const resolved = decoded.startsWith('/') ? path.join(root, decoded) : path.resolve(path.dirname(path.join(root, link.file)), decoded);
  const inside = path.relative(root, resolved);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return 'points outside the repository';
  if (!existsSync(resolved)) return 'no such file';
  if (anchor && resolved.endsWith('.md') && statSync(resolved).isFile() && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor.toLowerCase())) {
    return `no heading #${anchor} in ${inside}`;
  }
  return undefined;
}

function deadLinks(files: string[]): string[] {
  return files.flatMap((full) => {
    const file = path.relative(ROOT, full);
    return linksIn(file, readFileSync(full, 'utf8')).flatMap((link) => {
      const problem = problemWith(link);
      return problem ? [`${file}:${link.line}: (${link.target}) ${problem}`] : [];
    });
  });
}

describe('links in the Markdown files', () => {
  it('finds the repository’s Markdown (README and docs/)', () => {
    const files = markdownFiles().map((f) => path.relative(ROOT, f));
    expect(files).toEqual(expect.arrayContaining(['README.md', path.join('docs', 'api.md')]));
  });

  it('every relative link names a file (and heading) inside the repository', () => {
    expect(deadLinks(markdownFiles())).toEqual([]);
  });

  it('reports a missing file, a missing heading and a link out of the repository, and skips web links and code', () => {
    const text = [
      '[ok](docs/api.md) [ok too](docs/api.md#replies-and-errors) ![img](docs/screenshots/seat-map.png)',
      '[gone](docs/nothing-here.md) [bad anchor](docs/api.md#no-such-heading)',
      '[outside](../shared/PROTOCOL.md) [web](https://example.com/x.md) [mail](mailto:a@b.c) [here](#top)',
      '`[in code](missing.md)`',
      '```',
      '[in a fence](missing-too.md)',
      '```',
      '[ref]: docs/missing-ref.md',
    ].join('\n');
    const found = linksIn('README.md', text).flatMap((link) => {
      const problem = problemWith(link);
      return problem ? [`${link.line}: ${link.target}: ${problem}`] : [];
    });
    expect(found).toEqual([
      '2: docs/nothing-here.md: no such file',
      '2: docs/api.md#no-such-heading: no heading #no-such-heading in docs/api.md',
      '3: ../shared/PROTOCOL.md: points outside the repository',
      '8: docs/missing-ref.md: no such file',
    ]);
  });

  it('makes anchors the way GitHub does', () => {
    expect([...anchorsOf('# API reference\n## Replies and errors\n### `seats:changed` (push)\n## Replies and errors\n')]).toEqual([
      'api-reference',
      'replies-and-errors',
      'seatschanged-push',
      'replies-and-errors-1',
    ]);
  });
});
