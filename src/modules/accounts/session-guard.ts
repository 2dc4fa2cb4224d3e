import type { Redis } from 'ioredis';
import type { Logger } from '../../logger';
import type { SessionRepository } from '../../models/session-repository';
import type { Tokens } from '../../tokens';
import { AppError } from '../../errors';
import type { Identity, SessionControl } from '../../handlers/auth';
import type { AppSocket } from '../../handlers/command';

export interface SessionGuardDeps {
  tokens: Tokens;
  sessions: SessionRepository;
  log: Logger;
  /** With Redis, revocations reach every instance through this channel. */
  redis?: Redis;
  channel: string;
}

// A live session is trusted from memory this long: a revocation message clears it at once, and
// this bounds how stale an instance can be if one was lost (Redis down).
const TRUST_MS = 30_000;
const MAX_CACHED = 100_000;
// Revoked session ids are remembered for tokens checked before their revocation and used after it
// (a handshake, auth:refresh). Only checks in flight need them, so the newest 100,000 are plenty.
const MAX_REVOKED = 100_000;

/**
 * Our access tokens: a token is good while its session is live and its user
 * exists. Live sessions are cached in memory, so a hold costs no extra query;
 * a revocation (here, or on another instance through Redis pub/sub) drops the
 * session from every cache and disconnects its sockets on every instance.
 * A socket whose handshake checked its token before the revocation reached
 * this instance and connects after it is closed as it connects: an instance
 * remembers the sessions it has seen revoked.
 */
export class SessionGuard implements SessionControl {
  private readonly live = new Map<string, { userId: number; until: number }>();
  private readonly sockets = new Map<string, Set<AppSocket>>();
  private readonly revokedIds = new Set<string>();
  private subscriber?: Redis;

  constructor(private readonly deps: SessionGuardDeps) {}

  async start(): Promise<void> {
    if (!this.deps.redis) return;
    // No retry limit, and not awaited: with Redis down at start the instance serves, and revocations
    // from other instances reach it once Redis answers (until then a cached session lives 30 s at most).
    this.subscriber = this.deps.redis.duplicate({ enableAutoPipelining: false, maxRetriesPerRequest: null });
    this.subscriber.on('error', (err: unknown) => this.deps.log.debug({ err }, 'revocation channel: Redis error'));
    this.subscriber.on('message', (_channel: string, sessionId: string) => this.forget(sessionId));
    this.subscriber.subscribe(this.deps.channel).catch((err: unknown) => this.deps.log.warn({ err }, 'subscribing to revocations failed'));
  }

  async close(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }

  async authenticate(token: unknown): Promise<Identity> {
    const { userId, sessionId } = this.deps.tokens.verifyAccess(token);
    const now = Date.now();
    const cached = this.live.get(sessionId);
    if (cached && cached.until > now) {
      if (cached.userId !== userId) throw refused();
      return { userId, sessionId };
    }
    const session = await this.deps.sessions.live(sessionId);
    // The read may predate a revocation processed while it was in flight.
    if (!session || session.userId !== userId || this.revokedIds.has(sessionId)) throw refused();
    this.remember(sessionId, userId, Math.min(now + TRUST_MS, session.expiresAt));
    return { userId, sessionId };
  }

  issued({ sessionId, userId }: { sessionId: string; userId: number }): void {
    // A sale's buyers sign in and connect at once: each handshake would read back the row just written.
    // A revocation that overtook the rotation of a session keeps it untrusted.
    if (!this.revokedIds.has(sessionId)) this.remember(sessionId, userId, Date.now() + TRUST_MS);
  }

  async revoked(sessionId: string): Promise<void> {
    this.forget(sessionId);
    await this.deps.redis?.publish(this.deps.channel, sessionId).catch((err: unknown) => this.deps.log.warn({ err }, 'revocation not published'));
  }

  isRevoked(sessionId: string): boolean {
    return this.revokedIds.has(sessionId);
  }

  rebind(socket: AppSocket, identity: Identity): void {
    if (identity.sessionId !== undefined && this.revokedIds.has(identity.sessionId)) throw refused();
    // Closed while its new token was checked (its old session revoked): tracking it again would keep it forever.
    if (socket.disconnected) throw refused();
    this.untrack(socket);
    socket.data.sessionId = identity.sessionId;
    this.track(socket);
  }

  track(socket: AppSocket): void {
    const sessionId = socket.data.sessionId;
    if (!sessionId) return;
    let set = this.sockets.get(sessionId);
    if (!set) this.sockets.set(sessionId, (set = new Set()));
    set.add(socket);
  }

  untrack(socket: AppSocket): void {
    const sessionId = socket.data.sessionId;
    const set = sessionId === undefined ? undefined : this.sockets.get(sessionId);
    if (!set || sessionId === undefined) return;
    set.delete(socket);
    if (set.size === 0) this.sockets.delete(sessionId);
  }

  private forget(sessionId: string): void {
    if (this.revokedIds.size >= MAX_REVOKED) this.revokedIds.delete(this.revokedIds.values().next().value ?? '');
    this.revokedIds.add(sessionId);
    this.live.delete(sessionId);
    const sockets = this.sockets.get(sessionId);
    this.sockets.delete(sessionId);
    for (const socket of sockets ?? []) socket.disconnect(true);
  }

  private remember(sessionId: string, userId: number, until: number): void {
    // Insertion order: the first key is the oldest entry.
    if (this.live.size >= MAX_CACHED) this.live.delete(this.live.keys().next().value ?? '');
    this.live.set(sessionId, { userId, until });
  }
}

const refused = () => new AppError('UNAUTHORIZED', 'session revoked or expired, or user unknown');
