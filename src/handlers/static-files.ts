import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RawHandler } from './http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

/**
 * The browser client: every file under `public/` read once at start and served
 * from memory (a handful of small files), `/` as `index.html`, `/admin` (the
 * operator page) as `admin.html`.
 */
export function staticFiles(root = path.resolve(__dirname, '..', '..', 'public')): [string, RawHandler][] {
  const entries: [string, RawHandler][] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) {
        walk(file);
        continue;
      }
      const body = readFileSync(file);
      const type = TYPES[path.extname(name)] ?? 'application/octet-stream';
      const urlPath = `/${path.relative(root, file).split(path.sep).join('/')}`;
      // File names carry no hash: browsers revalidate each time (no-cache) and get 304 while the ETag holds.
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      const headers = { 'content-type': type, 'cache-control': 'no-cache', etag };
      const handler: RawHandler = (req) =>
        req.headers['if-none-match']?.split(/\s*,\s*/).includes(etag) ? { status: 304, headers: { 'cache-control': 'no-cache', etag }, body: '' } : { status: 200, headers, body };
      entries.push([urlPath, handler]);
      if (urlPath === '/index.html') entries.push(['/', handler]);
      if (urlPath === '/admin.html') entries.push(['/admin', handler]);
    }
  };
  walk(root);
  return entries;
}
