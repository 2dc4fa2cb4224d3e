import type { ErrorBody } from '../protocol/errors';

export interface HttpReply<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  /** Access token (or ADMIN_TOKEN for the operator API), sent as a bearer. */
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is, without a content type (for tests of malformed bodies). */
  raw?: string;
  headers?: Record<string, string>;
}

/** One HTTP call; a JSON reply is parsed, anything else (e.g. /metrics) stays text. */
export async function request<T = unknown>(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<HttpReply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let body = options.raw;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** A refused HTTP call, with the protocol's error when the server sent one. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: ErrorBody | undefined,
    what: string,
  ) {
    super(`${what}: ${status} ${error ? `${error.code} ${error.message}` : ''}`.trim());
    this.name = 'HttpError';
  }
}

/** Returns the body when the status is one of `ok`, else throws HttpError. */
export async function expectStatus<T>(reply: Promise<HttpReply<unknown>>, ok: readonly number[], what: string): Promise<T> {
  const r = await reply;
  if (ok.includes(r.status)) return r.body as T;
  const error = (r.body as { error?: ErrorBody } | null)?.error;
  throw new HttpError(r.status, error, what);
}
