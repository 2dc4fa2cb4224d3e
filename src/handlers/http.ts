import { AppError, HTTP_STATUS, notFound, unavailable, type ErrorBody } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Authenticator, Identity } from './auth';
import type { ClientIp } from './client-ip';
import { failure, type Command, type CommandRunner } from './command';
import type { DrainGate } from './drain-gate';
import { EncodedJson } from './encoded-json';
import { AdminGuard, SECURITY_HEADERS, bearerOf, decodeSegment, requireJson } from './http-guards';

/** PROTOCOL.md: an HTTP body past this is 413, not read further. */
export const MAX_BODY_BYTES = 64 * 1024;
/** PROTOCOL.md: a Socket.IO message past this closes its socket. */
export const MAX_SOCKET_MESSAGE_BYTES = 16 * 1024;

/** Engine-neutral request: the uWS and node:http engines both produce this. */
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** The body went past MAX_BODY_BYTES and was not read. */
  tooLarge?: boolean;
  /** The peer's address (per-IP budgets). */
  ip?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

interface RouteInput {
  params: Record<string, number | string>;
  /** The query string's parameters; digit strings as numbers, like path parameters. */
  query: Record<string, number | string>;
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
  { method: 'POST', path: '/sessions', command: 'sessions:create' },
  { method: 'POST', path: '/sessions/refresh', command: 'sessions:refresh' },
  { method: 'POST', path: '/sessions/logout', command: 'sessions:logout' },
  { method: 'GET', path: '/concerts', command: 'concerts:list' },
  { method: 'GET', path: '/concerts/:id/dates', command: 'concert:dates', input: (r) => ({ concertId: r.params['id'] }) },
  { method: 'GET', path: '/dates/:id/seats', command: 'seats:map', input: (r) => ({ dateId: r.params['id'], ...queueTokenOf(r) }) },
  { method: 'POST', path: '/queue/token', command: 'queue:join' },
  { method: 'GET', path: '/queue/challenge', command: 'queue:challenge', input: (r) => ({ concertId: r.query['concertId'] }) },
  { method: 'GET', path: '/queue/status', command: 'queue:status', input: queueTokenOf },
  { method: 'POST', path: '/queue/leave', command: 'queue:leave', input: queueTokenOf },
  { method: 'POST', path: '/reservations', command: 'seats:hold', input: (r) => ({ ...r.body, ...queueTokenOf(r) }) },
  { method: 'GET', path: '/reservations/me', command: 'reservations:mine' },
  { method: 'POST', path: '/reservations/:id/cancel', command: 'reservation:cancel', input: (r) => ({ reservationId: r.params['id'] }) },
  { method: 'POST', path: '/wallets/charge', command: 'wallet:charge', input: (r) => ({ ...r.body, ...idempotencyOf(r) }) },
  { method: 'GET', path: '/wallets/me', command: 'wallet:get' },
  { method: 'POST', path: '/payments', command: 'payment:pay', input: (r) => ({ ...r.body, ...queueTokenOf(r), ...idempotencyOf(r) }) },
  { method: 'POST', path: '/admin/concerts', command: 'admin:concerts:create' },
  { method: 'GET', path: '/admin/concerts', command: 'admin:concerts:list' },
  { method: 'GET', path: '/admin/concerts/:id', command: 'admin:concert:get', input: (r) => ({ concertId: r.params['id'] }) },
  { method: 'PATCH', path: '/admin/concerts/:id/sale', command: 'admin:sale:update', input: (r) => ({ ...r.body, concertId: r.params['id'] }) },
  { method: 'POST', path: '/admin/concerts/:id/dates', command: 'admin:dates:create', input: (r) => ({ ...r.body, concertId: r.params['id'] }) },
  { method: 'GET', path: '/admin/audit', command: 'admin:audit', input: (r) => r.query },
];

export type RawHandler = (req: HttpRequest) => Promise<HttpResponse> | HttpResponse;

export interface HttpApiOptions {
  commands: Map<string, Command>;
  runner: CommandRunner;
  authenticator: Authenticator;
  adminToken?: string;
  /** Shared with the `/admin` namespace, so failed guesses count once per address; else one of its own. */
  adminGuard?: AdminGuard;
  clientIp: ClientIp;
  log: Logger;
  metrics: Pick<Metrics, 'rejected'>;
  /** Routes outside the command table (health, metrics, static files), by exact path. */
  raw: Map<string, RawHandler>;
  /** Counts commands in flight; refuses new ones while draining. */
  gate?: DrainGate;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: body instanceof EncodedJson ? body.json : JSON.stringify(body) };
}

function errorResponse(error: ErrorBody, retryAfter?: number, status: number = HTTP_STATUS[error.code], headers: Record<string, string> = {}): HttpResponse {
  return json(status, { error }, retryAfter === undefined ? headers : { ...headers, 'retry-after': String(retryAfter) });
}

const shown = (path: string) => (path.length > 100 ? `${path.slice(0, 100)}…` : path);

/** Routes an engine-neutral request to its command; never throws, never leaks a stack trace. */
export class HttpApi {
  private readonly routes: { method: string; segments: string[]; route: Route; command: Command }[];
  private readonly admin?: AdminGuard;

  constructor(
    private readonly options: HttpApiOptions,
    routes: readonly Route[] = ROUTES,
  ) {
    this.routes = routes.map((route) => {
      const command = options.commands.get(route.command);
      if (!command) throw new Error(`route ${route.method} ${route.path} names the unknown command ${route.command}`);
      return { method: route.method, segments: route.path.split('/').slice(1), route, command };
    });
    this.admin = options.adminGuard ?? (options.adminToken ? new AdminGuard(options.adminToken) : undefined);
  }

  /** Every answer carries the security headers; API answers are never cached (static files set their own). */
  async handle(req: HttpRequest): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await this.dispatch(req);
    } catch (err) {
      const { error, retryAfter } = failure(err, this.options.log, this.options.metrics);
      res = errorResponse(error, retryAfter, HTTP_STATUS[error.code], error.code === 'METHOD_NOT_ALLOWED' ? { allow: allowOf(err) } : {});
    }
    return { ...res, headers: { ...SECURITY_HEADERS, 'cache-control': 'no-store', ...res.headers } };
  }

  private async dispatch(req: HttpRequest): Promise<HttpResponse> {
    if (req.tooLarge) {
      // Answered before routing or authentication: the engine stopped reading and closes the connection.
      this.options.metrics.rejected.inc({ code: 'VALIDATION_FAILED' });
      return errorResponse({ code: 'VALIDATION_FAILED', message: `request body exceeds ${MAX_BODY_BYTES} bytes` }, undefined, 413, { connection: 'close' });
    }
    const path = req.url.split('?')[0] ?? '/';
    const raw = this.options.raw.get(path);
    if (raw) {
      if (req.method === 'GET' || req.method === 'HEAD') return raw(req);
      throw methodNotAllowed(['GET', 'HEAD']);
    }
    const match = this.match(req.method, path);
    if (!match) {
      const allowed = this.routes.filter((r) => r.method !== req.method && this.matchOne(r.segments, path)).map((r) => r.method);
      if (allowed.length > 0) throw methodNotAllowed(allowed);
      throw notFound(`route ${req.method} ${shown(path)}`);
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
    if (req.body.length > 0) requireJson(req.headers['content-type']);
    const identity = await this.authenticate(command, req);
    const body = parseBody(req.body);
    const query = parseQuery(req.url);
    const input = route.input ? route.input({ params, query, body, headers: req.headers }) : body;
    const ip = this.options.clientIp.of(req.ip, req.headers['x-forwarded-for']);
    const outcome = await this.options.runner.execute(command, dropUndefined(input), { ...identity, ip });
    return outcome.ok ? json(outcome.status, outcome.data) : errorResponse(outcome.error, outcome.retryAfter);
  }

  private match(method: string, path: string) {
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const params = this.matchOne(r.segments, path);
      if (params) return { command: r.command, route: r.route, params };
    }
    return undefined;
  }

  /** The route's parameters when the path fits its segments, else undefined. */
  private matchOne(segments: string[], path: string): Record<string, number | string> | undefined {
    const parts = path.split('/').slice(1);
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    if (segments.length !== parts.length) return undefined;
    const params: Record<string, number | string> = {};
    const ok = segments.every((segment, i) => {
      const part = parts[i] ?? '';
      if (!segment.startsWith(':')) return segment === part;
      params[segment.slice(1)] = /^\d{1,15}$/.test(part) ? Number(part) : decodeSegment(part);
      return true;
    });
    return ok ? params : undefined;
  }

  private async authenticate(command: Command, req: HttpRequest): Promise<Identity> {
    if (command.auth === 'none') return { userId: 0 };
    const authorization = req.headers['authorization'];
    if (command.auth === 'user') return this.options.authenticator.authenticate(bearerOf(authorization));
    if (!this.admin) throw notFound('admin API (ADMIN_TOKEN is not set)');
    await this.admin.check(req.ip ?? 'unknown', authorization);
    return { userId: 0 };
  }
}

function methodNotAllowed(methods: string[]): AppError {
  const allow = [...new Set(methods)].join(', ');
  return new AppError('METHOD_NOT_ALLOWED', `this path answers ${allow}`, { allow });
}

const allowOf = (err: unknown): string => (err instanceof AppError && typeof err.details?.['allow'] === 'string' ? err.details['allow'] : '');

const numberOrText = (value: string): number | string => (/^\d{1,15}$/.test(value) ? Number(value) : value);

function parseQuery(url: string): Record<string, number | string> {
  const at = url.indexOf('?');
  if (at < 0) return {};
  const query: Record<string, number | string> = {};
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) if (value !== '') query[name] = numberOrText(value);
  return query;
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

/** Path and query values are text; an id in them is a number to the schema. */

function dropUndefined(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

