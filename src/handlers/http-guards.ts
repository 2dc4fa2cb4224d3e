import { createHash, timingSafeEqual } from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { AppError } from '../errors';

/**
 * On every HTTP answer. The CSP fits the served client: its scripts and styles are files of
 * its own origin (no inline script or style), it talks only to its own origin, and no page
 * may frame it.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
};

/**
 * Constant-time and without a length oracle: both sides are hashed first, so the compare
 * always runs over 32 bytes whatever the guess.
 */
export function sameSecret(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(secret));
}

export const bearerOf = (authorization: string | undefined): string | undefined => /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];

/** A body must say it is JSON: `application/json`, parameters allowed (`; charset=utf-8`). */
export function requireJson(contentType: string | undefined): void {
  if (!/^application\/json\s*(;|$)/i.test(contentType ?? '')) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'a request body must be application/json');
  }
}

/** A path segment, percent-decoded; a malformed escape (`%ZZ`) is the client's error, not a 500. */
export function decodeSegment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'malformed percent-encoding in the path', { errors: [{ path: '/', message: 'malformed percent-encoding' }] });
  }
}

/** Failed admin attempts allowed per IP per minute before RATE_LIMITED. */
export const ADMIN_FAILURES_PER_MINUTE = 10;

/** Guessing ADMIN_TOKEN from one address costs a minute per ten tries (in memory, per instance). */
export class AdminGuard {
  private readonly failures = new RateLimiterMemory({ points: ADMIN_FAILURES_PER_MINUTE, duration: 60 });

  constructor(private readonly token: string) {}

  async check(ip: string, authorization: string | undefined): Promise<void> {
    return this.checkToken(ip, bearerOf(authorization));
  }

  /** The token itself (a Socket.IO handshake's `auth.token`); failures share the address's budget with HTTP. */
  async checkToken(ip: string, token: string | undefined): Promise<void> {
    const state = await this.failures.get(ip);
    if (state && state.consumedPoints >= ADMIN_FAILURES_PER_MINUTE) {
      const retryAfter = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
      throw new AppError('RATE_LIMITED', 'too many failed admin attempts from this address', { retryAfterMs: state.msBeforeNext }, retryAfter);
    }
    if (sameSecret(token, this.token)) return;
    await this.failures.penalty(ip, 1);
    throw new AppError('UNAUTHORIZED', 'admin token required');
  }
}
