import { timingSafeEqual } from 'node:crypto';
import { AppError, HTTP_STATUS, notFound, unavailable, type ErrorBody } from '../errors';
import type { Logger } from '../logger';
import type { Tokens } from '../tokens';
import { failure, type Command, type CommandRunner } from './command';
import type { DrainGate } from './drain-gate';

export const MAX_BODY_BYTES = 64 * 1024;

/** Engine-neutral request: the uWS and node:http engines both produce this. */
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** The body went past MAX_BODY_BYTES and was not read. */
  tooLarge?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

interface RouteInput {
  params: Record<string, number | string>;
  body: Record<string, unknown>;
  headers: Record<string, string | undefined>;
}

export interface Route {
  method: string;
  path: string;
  command: string;
  /** Builds the command input; the body alone unless set. */
  input?: (r: RouteInput) => Record<string, unknown>;
}

// Headers carry these on HTTP; a body field of the same name counts when the header is absent.
const fromHeader = (name: string, field: string) => (r: RouteInput) => (r.headers[name] === undefined ? {} : { [field]: r.headers[name] });
const queueTokenOf = fromHeader('queue-token', 'queueToken');
const idempotencyOf = fromHeader('idempotency-key', 'idempotencyKey');

/** PROTOCOL.md's HTTP table: each route names the command it runs, the same one the socket event runs. */
export const ROUTES: Route[] = [
  { method: 'POST', path: '/users', command: 'users:create' },
  { method: 'GET', path: '/concerts', command: 'concerts:list' },
  { method: 'GET', path: '/concerts/:id/dates', command: 'concert:dates', input: (r) => ({ concertId: r.params['id'] }) },
  { method: 'GET', path: '/dates/:id/seats', command: 'seats:map', input: (r) => ({ dateId: r.params['id'], ...queueTokenOf(r) }) },
  { method: 'POST', path: '/queue/token', command: 'queue:join' },
  { method: 'GET', path: '/queue/status', command: 'queue:status', input: queueTokenOf },
  { method: 'POST', path: '/queue/leave', command: 'queue:leave', input: queueTokenOf },
  { method: 'POST', path: '/reservations', command: 'seats:hold', input: (r) => ({ ...r.body, ...queueTokenOf(r) }) },
  { method: 'GET', path: '/reservations/me', command: 'reservations:mine' },
  { method: 'POST', path: '/reservations/:id/cancel', command: 'reservation:cancel', input: (r) => ({ reservationId: r.params['id'] }) },
  { method: 'POST', path: '/wallets/charge', command: 'wallet:charge', input: (r) => ({ ...r.body, ...idempotencyOf(r) }) },
  { method: 'GET', path: '/wallets/me', command: 'wallet:get' },
  { method: 'POST', path: '/payments', command: 'payment:pay', input: (r) => ({ ...r.body, ...queueTokenOf(r), ...idempotencyOf(r) }) },
  { method: 'POST', path: '/admin/concerts', command: 'admin:concerts:create' },
];

export type RawHandler = (req: HttpRequest) => Promise<HttpResponse> | HttpResponse;

export interface HttpApiOptions {
  commands: Map<string, Command>;
  runner: CommandRunner;
  tokens: Tokens;
  adminToken?: string;
  log: Logger;
  /** Routes outside the command table (health, metrics, static files), by exact path. */
  raw: Map<string, RawHandler>;
  /** Counts commands in flight; refuses new ones while draining. */
  gate?: DrainGate;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

function errorResponse(error: ErrorBody, retryAfter?: number, status: number = HTTP_STATUS[error.code]): HttpResponse {
  return json(status, { error }, retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
}

/** Routes an engine-neutral request to its command; never throws, never leaks a stack trace. */
export class HttpApi {
  private readonly routes: { method: string; segments: string[]; route: Route; command: Command }[];

  constructor(
    private readonly options: HttpApiOptions,
    routes: readonly Route[] = ROUTES,
  ) {
    this.routes = routes.map((route) => {
      const command = options.commands.get(route.command);
      if (!command) throw new Error(`route ${route.method} ${route.path} names the unknown command ${route.command}`);
      return { method: route.method, segments: route.path.split('/').slice(1), route, command };
    });
  }

  async handle(req: HttpRequest): Promise<HttpResponse> {
    try {
      return await this.dispatch(req);
    } catch (err) {
      const { error, retryAfter } = failure(err, this.options.log);
      return errorResponse(error, retryAfter);
    }
  }

  private async dispatch(req: HttpRequest): Promise<HttpResponse> {
    const path = req.url.split('?')[0] ?? '/';
    const raw = this.options.raw.get(path);
    if (raw && (req.method === 'GET' || req.method === 'HEAD')) return raw(req);
    const match = this.match(req.method, path);
    if (!match) throw notFound(`route ${req.method} ${path}`);
    if (req.tooLarge) {
      return errorResponse({ code: 'VALIDATION_FAILED', message: `request body exceeds ${MAX_BODY_BYTES} bytes` }, undefined, 413);
    }
    const { gate } = this.options;
    if (gate && !gate.enter()) throw unavailable('this instance is shutting down; retry on another');
    try {
      return await this.run(match, req);
    } finally {
      gate?.leave();
    }
  }

  private async run(match: NonNullable<ReturnType<HttpApi['match']>>, req: HttpRequest): Promise<HttpResponse> {
    const { command, route, params } = match;
    const userId = this.authenticate(command, req.headers['authorization']);
    const body = parseBody(req.body);
    const input = route.input ? route.input({ params, body, headers: req.headers }) : body;
    const outcome = await this.options.runner.execute(command, dropUndefined(input), { userId });
    return outcome.ok ? json(outcome.status, outcome.data) : errorResponse(outcome.error, outcome.retryAfter);
  }

  private match(method: string, path: string) {
    const parts = path.split('/').slice(1);
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    for (const r of this.routes) {
      if (r.method !== method || r.segments.length !== parts.length) continue;
      const params: Record<string, number | string> = {};
      const ok = r.segments.every((segment, i) => {
        const part = parts[i] ?? '';
        if (!segment.startsWith(':')) return segment === part;
        params[segment.slice(1)] = /^\d{1,15}$/.test(part) ? Number(part) : decodeURIComponent(part);
        return true;
      });
      if (ok) return { command: r.command, route: r.route, params };
    }
    return undefined;
  }

  private authenticate(command: Command, authorization: string | undefined): number {
    if (command.auth === 'none') return 0;
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (command.auth === 'user') return this.options.tokens.verifyUser(bearer);
    const admin = this.options.adminToken;
    if (!admin) throw notFound('admin API (ADMIN_TOKEN is not set)');
    if (!bearer || !safeEqual(bearer, admin)) throw new AppError('UNAUTHORIZED', 'admin token required');
    return 0;
  }
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AppError('VALIDATION_FAILED', 'request body is not valid JSON', { errors: [{ path: '/', message: 'malformed JSON' }] });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AppError('VALIDATION_FAILED', 'request body must be a JSON object', { errors: [{ path: '/', message: 'must be object' }] });
  }
  return parsed as Record<string, unknown>;
}

function dropUndefined(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

