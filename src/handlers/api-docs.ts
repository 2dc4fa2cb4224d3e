import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_PUSH_SCHEMAS, PUSH_SCHEMAS } from '../protocol/push-schemas';
import { buildAsyncApi } from './asyncapi';
import type { Command } from './command';
import { eventsPage, swaggerPage, SWAGGER_INIT } from './docs-pages';
import { json, type RawHandler, type Route } from './http';
import { buildOpenApi, type ApiInfo } from './openapi';

/** Swagger UI's own files, served from node_modules so /docs works offline. */
const SWAGGER_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

function packageInfo(): ApiInfo {
  let version = '0.0.0';
  try {
    // dist/handlers and src/handlers both sit two levels below package.json.
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // An image without package.json still documents its API.
  }
  return {
    title: 'Concert tickets',
    version,
    description: 'Real-time concert ticketing: waiting room, live seat map, holds, wallet payments. Generated from the command table at start.',
  };
}

export interface ApiDocs {
  openapi: Record<string, unknown>;
  asyncapi: Record<string, unknown>;
  /** /openapi.json, /asyncapi.json, /docs, /docs/events and Swagger UI's assets. */
  handlers: [string, RawHandler][];
}

/** Builds both documents once from the command table; a start that mounts a new command documents it. */
const DOCS_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function apiDocs(routes: readonly Route[], commands: ReadonlyMap<string, Command>): ApiDocs {
  const info = packageInfo();
  const openapi = buildOpenApi(info, routes, commands);
  const asyncapi = buildAsyncApi(info, commands.values(), PUSH_SCHEMAS, ADMIN_PUSH_SCHEMAS);
  // Swagger UI sets inline styles on its elements: the docs pages allow inline style, not inline script.
  const html = (body: string): RawHandler => () => ({
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': DOCS_CSP },
    body,
  });
  const docs = html(swaggerPage(info));
  const handlers: [string, RawHandler][] = [
    ['/openapi.json', () => json(200, openapi)],
    ['/asyncapi.json', () => json(200, asyncapi)],
    ['/docs', docs],
    ['/docs/', docs],
    ['/docs/events', html(eventsPage(info, asyncapi))],
    ['/docs/swagger-init.js', () => ({ status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8' }, body: SWAGGER_INIT })],
  ];
  const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  for (const [file, type] of Object.entries(SWAGGER_FILES)) {
    const body = readFileSync(path.join(swaggerDir, file));
    handlers.push([`/docs/${file}`, () => ({ status: 200, headers: { 'content-type': type, 'cache-control': 'max-age=86400' }, body })]);
  }
  return { openapi, asyncapi, handlers };
}

