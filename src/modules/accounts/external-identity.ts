import { createPublicKey } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey, type KeyLike } from 'jose';
import { AppError } from '../../errors';
import type { AccountRepository } from '../../models/account-repository';
import type { Authenticator, Identity } from '../../handlers/auth';

export interface ExternalIdentityOptions {
  jwksUrl?: string;
  publicKey?: string;
  issuer: string;
  audience: string;
}

const MAX_CACHED = 100_000;

/**
 * Access tokens issued by an external identity provider (RS256/ES256): the
 * issuer, audience and `exp` are checked on every token; keys come from the
 * JWKS, cached by jose and fetched again when a token names an unknown `kid`
 * (a rotation). `(iss, sub)` maps to a local user, created on first sight and
 * then remembered in memory, so a hold costs no query for it.
 */
export class ExternalIdentity implements Authenticator {
  private readonly key: JWTVerifyGetKey | KeyLike;
  private readonly users = new Map<string, Promise<number>>();

  constructor(
    private readonly options: ExternalIdentityOptions,
    private readonly accounts: AccountRepository,
  ) {
    if (options.jwksUrl) this.key = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 1_000, cacheMaxAge: 600_000 });
    else if (options.publicKey) this.key = createPublicKey(options.publicKey);
    else throw new Error('ExternalIdentity needs a JWKS URL or a public key');
  }

  async authenticate(token: unknown): Promise<Identity> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw new AppError('UNAUTHORIZED', 'missing or malformed user token');
    let issuer: string;
    let subject: string;
    let name: string;
    try {
      const verifyOptions = { issuer: this.options.issuer, audience: this.options.audience, algorithms: ['RS256', 'ES256'], requiredClaims: ['exp', 'sub'] };
      // jose's overloads take the key function and a key object separately.
      const { payload } = typeof this.key === 'function' ? await jwtVerify(token, this.key, verifyOptions) : await jwtVerify(token, this.key, verifyOptions);
      issuer = String(payload.iss);
      subject = String(payload.sub);
      const claimed = payload['preferred_username'] ?? payload['name'];
      name = (typeof claimed === 'string' && claimed.trim() ? claimed.trim() : subject).slice(0, 100);
    } catch {
      throw new AppError('UNAUTHORIZED', 'invalid or expired provider token');
    }
    return { userId: await this.userOf(issuer, subject, name) };
  }

  /** Concurrent first tokens of one identity share one insert. */
  private userOf(issuer: string, subject: string, name: string): Promise<number> {
    const key = JSON.stringify([issuer, subject]);
    let user = this.users.get(key);
    if (!user) {
      if (this.users.size >= MAX_CACHED) this.users.delete(this.users.keys().next().value ?? '');
      user = this.accounts.external(issuer, subject, name);
      user.catch(() => this.users.delete(key));
      this.users.set(key, user);
    }
    return user;
  }
}
