import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AppError } from './errors';
import { VerifiedTokens } from './verified-tokens';

export interface QueueClaims {
  userId: number;
  concertId: number;
  ticket: number;
}

/** Who an access token names: the user and the session it was issued for. */
export interface AccessClaims {
  userId: number;
  sessionId: string;
}

interface QueuePayload {
  typ: 'queue';
  sub: string;
  cid: number;
  tkt: number;
}

const QUEUE_TOKEN_TTL = '24h';
/** About 300 bytes each: 15 MB at most, more than the live queue tokens of one instance. */
const VERIFIED_QUEUE_TOKENS = 50_000;

/** About 250 bytes each; a session's revocation is SessionGuard's check, made on every use. */
const VERIFIED_ACCESS_TOKENS = 50_000;

/** What a checked queue token says, kept by VerifiedTokens. */
interface QueueTokenFacts {
  sub: string;
  concertId: number;
  ticket: number;
}

/**
 * Access and queue tokens, HS256 with the server's secret; the algorithm is
 * pinned on every verify. A queue token is never accepted as an access token
 * and vice versa. Whether the session is still live is SessionGuard's
 * business; an external provider's tokens are ExternalIdentity's.
 */
export class Tokens {
  // Key objects built once: given a string, jsonwebtoken parses it as a PEM key
  // first (and fails) on every call, which was a third of the CPU of a hold.
  private readonly secret: KeyObject;
  private readonly verifiedQueue = new VerifiedTokens<QueueTokenFacts>(VERIFIED_QUEUE_TOKENS);
  // A reconnect, a script's every HTTP request and auth:refresh's check send the same access token
  // again: its HMAC and JSON were a sixth of a socket connect's CPU (bench/cpu.ts --only connect).
  private readonly verifiedAccess = new VerifiedTokens<AccessClaims>(VERIFIED_ACCESS_TOKENS);

  constructor(
    secret: string,
    private readonly accessTtlSeconds: number,
  ) {
    this.secret = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  signAccess({ userId, sessionId }: AccessClaims): string {
    return jwt.sign({ typ: 'user', sid: sessionId }, this.secret, { algorithm: 'HS256', subject: String(userId), expiresIn: this.accessTtlSeconds });
  }

  /** Signature, algorithm, `exp` and the claims' shapes; throws UNAUTHORIZED. */
  verifyAccess(token: unknown): AccessClaims {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new AppError('UNAUTHORIZED', 'missing or malformed user token');
    }
    return this.verifiedAccess.get(token, Date.now()) ?? this.checkAccess(token);
  }

  private checkAccess(token: string): AccessClaims {
    try {
      const payload = jwt.verify(token, this.secret, { algorithms: ['HS256'] });
      if (typeof payload === 'string' || payload['typ'] === 'queue') throw new Error('not a user token');
      const sid: unknown = payload['sid'];
      if (typeof payload.exp !== 'number' || typeof sid !== 'string') throw new Error('no exp or no sid');
      const claims = { userId: parseId(payload.sub), sessionId: sid };
      this.verifiedAccess.set(token, claims, payload.exp);
      return claims;
    } catch {
      throw new AppError('UNAUTHORIZED', 'invalid or expired user token');
    }
  }

  signQueue(claims: QueueClaims): string {
    const payload: QueuePayload = { typ: 'queue', sub: String(claims.userId), cid: claims.concertId, tkt: claims.ticket };
    return jwt.sign(payload, this.secret, { algorithm: 'HS256', expiresIn: QUEUE_TOKEN_TTL });
  }

  /** Signature, expiry and binding to the user; the entry's state is the queue store's business. */
  verifyQueue(token: unknown, userId: number): QueueClaims {
    if (typeof token !== 'string' || token.length === 0) throw new AppError('QUEUE_TOKEN_INVALID', 'queue token missing');
    const facts = this.verifiedQueue.get(token, Date.now()) ?? this.checkQueue(token);
    if (facts.sub !== String(userId)) throw new AppError('QUEUE_TOKEN_INVALID', 'queue token is not this user’s');
    return { userId, concertId: facts.concertId, ticket: facts.ticket };
  }

  private checkQueue(token: string): QueueTokenFacts {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.secret, { algorithms: ['HS256'] });
    } catch {
      throw new AppError('QUEUE_TOKEN_INVALID', 'queue token invalid or expired');
    }
    if (typeof payload === 'string' || payload['typ'] !== 'queue') throw new AppError('QUEUE_TOKEN_INVALID', 'queue token is not this user’s');
    const cid: unknown = payload['cid'];
    const tkt: unknown = payload['tkt'];
    if (typeof cid !== 'number' || typeof tkt !== 'number' || typeof payload.exp !== 'number') throw new AppError('QUEUE_TOKEN_INVALID', 'queue token malformed');
    const facts = { sub: String(payload.sub), concertId: cid, ticket: tkt };
    this.verifiedQueue.set(token, facts, payload.exp);
    return facts;
  }
}

/** `sub` names the user id, as a string (RFC 7519) or, from some issuers, a number. */
function parseId(sub: unknown): number {
  const text = typeof sub === 'number' ? String(sub) : sub;
  const id = typeof text === 'string' && /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id) || id > 2_147_483_647) throw new Error('subject is not a user id');
  return id;
}
