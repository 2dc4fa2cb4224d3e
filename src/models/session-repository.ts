import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { Database } from './database';
import { Prepared } from './prepared';
import { WriteQueue } from './write-queue';

export interface IssuedSession {
  sessionId: string;
  userId: number;
  refreshToken: string;
}

export interface LiveSession {
  userId: number;
  expiresAt: number;
}

// A sale's arrival is hundreds of handshakes a second, each naming a session this instance has not
// seen yet: the reads that arrive together share one statement (WriteQueue batches reads as well).
const LIVE = new Prepared<{ id: string; user_id: number; expires_at: Date }>(
  'tix_sessions_live',
  `SELECT s.id, s.user_id, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id = ANY($1::uuid[]) AND s.revoked_at IS NULL AND s.expires_at > now()`,
);

export type Rotation = { ok: IssuedSession } | { reused: string } | { refused: true };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `<session id>.<32 random bytes>`: the id finds the row, the hash of the whole token proves it. */
function newRefreshToken(sessionId: string): { token: string; hash: Buffer } {
  const token = `${sessionId}.${randomBytes(32).toString('base64url')}`;
  return { token, hash: digest(token) };
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Sessions as rows. A refresh token is single-use: rotating it stores the new
 * hash and keeps the old one as spent, in one statement, so of two refreshes
 * racing with one token exactly one wins and the other looks like reuse.
 */
export class SessionRepository {
  private readonly sequelize: Sequelize;
  private readonly reads = new WriteQueue<string, LiveSession | null>((ids) => this.liveAll(ids));

  constructor(
    db: Database,
    private readonly ttlDays: number,
  ) {
    this.sequelize = db.sequelize;
  }

  async open(userId: number): Promise<IssuedSession> {
    const sessionId = randomUUID();
    const { token, hash } = newRefreshToken(sessionId);
    await this.sequelize.query(
      `INSERT INTO sessions (id, user_id, refresh_hash, expires_at) VALUES (:sessionId, :userId, :hash, now() + make_interval(days => :days))`,
      { replacements: { sessionId, userId, hash, days: this.ttlDays } },
    );
    return { sessionId, userId, refreshToken: token };
  }

  /** A new refresh token for a live session's current one; a spent one revokes the session. */
  async rotate(refreshToken: string): Promise<Rotation> {
    const sessionId = refreshToken.split('.', 1)[0] ?? '';
    if (!UUID.test(sessionId)) return { refused: true };
    const spent = digest(refreshToken);
    const next = newRefreshToken(sessionId);
    const [row] = await this.sequelize.query<{ user_id: number }>(
      `WITH rotated AS (
         UPDATE sessions SET refresh_hash = :next, last_used_at = now(), expires_at = now() + make_interval(days => :days)
          WHERE id = :sessionId AND refresh_hash = :spent AND revoked_at IS NULL AND expires_at > now()
         RETURNING id, user_id
       ), kept AS (
         INSERT INTO spent_refresh_tokens (hash, session_id) SELECT :spent, id FROM rotated
       )
       SELECT user_id FROM rotated`,
      { replacements: { sessionId, spent, next: next.hash, days: this.ttlDays }, type: QueryTypes.SELECT },
    );
    if (row) return { ok: { sessionId, userId: row.user_id, refreshToken: next.token } };
    const [reused] = await this.sequelize.query<{ session_id: string }>(
      'SELECT session_id FROM spent_refresh_tokens WHERE hash = :spent AND session_id = :sessionId',
      { replacements: { spent, sessionId }, type: QueryTypes.SELECT },
    );
    if (!reused) return { refused: true };
    await this.revoke(sessionId);
    return { reused: sessionId };
  }

  /** Whether this call revoked it (false: unknown or already revoked). */
  async revoke(sessionId: string): Promise<boolean> {
    const [, count] = await this.sequelize.query('UPDATE sessions SET revoked_at = now() WHERE id = :sessionId AND revoked_at IS NULL', {
      replacements: { sessionId },
      type: QueryTypes.UPDATE,
    });
    return count > 0;
  }

  /**
   * Deletes at most `limit` sessions that expired or were revoked more than `afterHours` ago (their
   * spent refresh hashes go with them by cascade) and says how many. A missing row refuses its
   * tokens exactly as a revoked one does. SKIP LOCKED: instances purging at once split the rows
   * instead of queueing on each other's locks.
   */
  async purge(afterHours: number, limit: number): Promise<number> {
    const [row] = await this.sequelize.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM sessions WHERE id IN (
           SELECT id FROM sessions
            WHERE expires_at < now() - make_interval(hours => :afterHours) OR revoked_at < now() - make_interval(hours => :afterHours)
            LIMIT :limit FOR UPDATE SKIP LOCKED)
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      { replacements: { afterHours, limit }, type: QueryTypes.SELECT },
    );
    return row?.n ?? 0;
  }

  /** The user of a live session (not revoked, not expired, its user still there), with its expiry. */
  async live(sessionId: string): Promise<LiveSession | undefined> {
    if (!UUID.test(sessionId)) return undefined;
    return (await this.reads.push(sessionId)) ?? undefined;
  }

  private async liveAll(ids: string[]): Promise<(LiveSession | null)[]> {
    const rows = await LIVE.rows(this.sequelize, [[...new Set(ids)]]);
    const byId = new Map(rows.map((r) => [r.id, { userId: r.user_id, expiresAt: r.expires_at.getTime() }]));
    return ids.map((id) => byId.get(id) ?? null);
  }
}
