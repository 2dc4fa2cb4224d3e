import { createHash } from 'node:crypto';
import { ForeignKeyConstraintError, QueryTypes, type Sequelize } from 'sequelize';
import type { StoredKey } from './wallet-repository';
import { AppError, notFound, unavailable } from '../errors';
import type { Logger } from '../logger';
import { OWNER_LOCK_SPACE, type ProcessOwner } from './process-owner';

export interface IdempotencyOptions {
  /** An answer is kept at least this long; older keys may be purged and then run again. */
  retentionSeconds: number;
  /** Per process, a keyed call purges expired keys first at most this often. */
  purgeEveryMs: number;
  /** Most keys one purge deletes; a full batch makes the next keyed call purge again. */
  purgeBatch: number;
}

export const DEFAULT_IDEMPOTENCY: IdempotencyOptions = { retentionSeconds: 24 * 3600, purgeEveryMs: 60_000, purgeBatch: 1000 };

const CLAIM = `
  INSERT INTO idempotency_keys (user_id, scope, key, request_hash, owner) VALUES ($1::int, $2::text, $3::text, $4::text, $5::int)
  ON CONFLICT (user_id, key) DO NOTHING
  RETURNING true AS claimed`;

// A pending claim is abandoned when its owner's advisory lock is gone (the process died), or, for a
// claim without an owner (made before owners were recorded), after PENDING_STALE_SECONDS.
const FIND = `SELECT scope, request_hash, response, response IS NULL AS pending, owner,
         CASE WHEN owner IS NULL THEN created_at < now() - make_interval(secs => $3::int)
              ELSE NOT EXISTS (SELECT 1 FROM pg_locks l
                                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                                  AND l.classid = ${OWNER_LOCK_SPACE}::int::oid AND l.objid = owner::oid) END AS abandoned
  FROM idempotency_keys WHERE user_id = $1::int AND key = $2::text`;

// A claim whose work failed frees the key.
const ABANDON = `DELETE FROM idempotency_keys WHERE user_id = $1::int AND key = $2::text AND request_hash = $3::text AND response IS NULL`;
// A dead owner's claim is freed only if it is still that owner's: two takers cannot both free it and race.
const TAKE_OVER = `DELETE FROM idempotency_keys
  WHERE user_id = $1::int AND key = $2::text AND response IS NULL AND owner IS NOT DISTINCT FROM $3::int`;

/** A claim without an owner left pending this long belongs to a process that died while working. */
const PENDING_STALE_SECONDS = 60;
/** A duplicate waits this long for the first request's answer. */
const PENDING_WAIT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const REMEMBER = `
  UPDATE idempotency_keys SET response = $3::jsonb
   WHERE user_id = $1::int AND key = $2::text
  RETURNING response`;

// SKIP LOCKED: two instances purging at once, or a purge meeting a live claim, never wait on each other.
const PURGE = `
  WITH gone AS (
    DELETE FROM idempotency_keys k
     USING (SELECT user_id, key FROM idempotency_keys
             WHERE created_at < now() - make_interval(secs => $1::int)
             ORDER BY created_at LIMIT $2::int FOR UPDATE SKIP LOCKED) old
     WHERE k.user_id = old.user_id AND k.key = old.key
    RETURNING 1
  )
  SELECT count(*)::int AS purged FROM gone`;

/**
 * Runs work at most once per (user, key). A key names one request of one user
 * whatever the command: the scope (the command) is part of the request, so the
 * same key under another scope is IDEMPOTENCY_CONFLICT. Only successes are
 * remembered: a failed attempt frees the key. A charge does all of it inside
 * one statement (tix_charge); a payment claims, waits for its room, then
 * stores the answer (runOnce).
 */
export class IdempotencyRepository {
  private nextPurgeAt = 0;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly log: Logger,
    private readonly owner: ProcessOwner,
    private readonly options: IdempotencyOptions = DEFAULT_IDEMPOTENCY,
  ) {}

  /**
   * For work the database does in one statement with the key (a charge: tix_charge records the
   * claim, the work and the answer together). Purges when due; returns the request's fingerprint.
   */
  async fingerprint(request: unknown): Promise<string> {
    await this.purgeWhenDue();
    return requestHash(request);
  }

  /** An earlier request's record of the key: its answer when it was this request, else IDEMPOTENCY_CONFLICT. */
  replay<T>(stored: StoredKey, scope: string, hash: string): T {
    requireSameRequest(stored, scope, hash);
    return stored.response as T;
  }

  /**
   * For work that commits elsewhere (a payment, in its date room's own
   * transaction, possibly on another instance): holding a connection across it
   * would let a burst of payments drain the pool. The claim is committed first
   * as pending, with this process as its owner, the answer stored after; a
   * duplicate polls for it, and takes the claim over at once if its owner
   * died. Failures free the key, as above.
   */
  async runOnce<T>(userId: number, scope: string, key: string, request: unknown, work: () => Promise<T>): Promise<T> {
    await this.purgeWhenDue();
    const hash = requestHash(request);
    const owner = await this.owner.id();
    const giveUpAt = Date.now() + PENDING_WAIT_MS;
    for (;;) {
      if (await this.claim(userId, scope, key, hash, owner)) {
        let answer: T;
        try {
          answer = await work();
        } catch (err) {
          await this.sequelize.query(ABANDON, { bind: [userId, key, hash] }).catch(() => undefined);
          throw err;
        }
        return this.remember(userId, key, answer);
      }
      const [row] = await this.sequelize.query<{ scope: string; request_hash: string; response: unknown; pending: boolean; owner: number | null; abandoned: boolean }>(FIND, {
        type: QueryTypes.SELECT,
        bind: [userId, key, PENDING_STALE_SECONDS],
      });
      if (!row) continue;
      requireSameRequest({ scope: row.scope, hash: row.request_hash, response: row.response }, scope, hash);
      if (!row.pending) return row.response as T;
      if (row.abandoned) {
        this.log.info({ userId, deadOwner: row.owner }, 'taking over an idempotency claim whose process died');
        await this.sequelize.query(TAKE_OVER, { bind: [userId, key, row.owner] });
        continue;
      }
      if (Date.now() > giveUpAt) throw unavailable('a request with this Idempotency-Key is still running; retry shortly');
      await sleep(50);
    }
  }

  /** Deletes up to one batch of keys older than the retention; returns how many. */
  async purgeExpired(): Promise<number> {
    const rows = await this.sequelize.query<{ purged: number }>(PURGE, {
      type: QueryTypes.SELECT,
      bind: [this.options.retentionSeconds, this.options.purgeBatch],
    });
    return rows[0]?.purged ?? 0;
  }

  private async claim(userId: number, scope: string, key: string, hash: string, owner: number): Promise<boolean> {
    try {
      const rows = await this.sequelize.query(CLAIM, { type: QueryTypes.SELECT, bind: [userId, scope, key, hash, owner] });
      return rows.length > 0;
    } catch (err) {
      // The only foreign key here is the user: a verified token naming a user this database does not have.
      if (err instanceof ForeignKeyConstraintError) throw notFound('user');
      throw err;
    }
  }

  /** Stores the answer and hands back the stored copy, so the first caller and every repeat get the same JSON. */
  private async remember<T>(userId: number, key: string, answer: T): Promise<T> {
    const rows = await this.sequelize.query<{ response: unknown }>(REMEMBER, {
      type: QueryTypes.SELECT,
      bind: [userId, key, JSON.stringify(answer ?? null)],
    });
    return rows[0]?.response as T;
  }

  // Opportunistic, before a keyed request: no timer to own, and a failed purge never fails a request.
  private async purgeWhenDue(): Promise<void> {
    const now = Date.now();
    if (now < this.nextPurgeAt) return;
    this.nextPurgeAt = now + this.options.purgeEveryMs;
    try {
      if ((await this.purgeExpired()) >= this.options.purgeBatch) this.nextPurgeAt = 0;
    } catch (err) {
      this.log.warn({ err }, 'purging expired idempotency keys failed');
    }
  }
}

function requireSameRequest(stored: StoredKey, scope: string, hash: string): void {
  if (stored.scope !== scope || stored.hash !== hash) {
    throw new AppError('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with a different request');
  }
}

/** The request's fingerprint: SHA-256 of its canonical JSON (object keys sorted), so key order does not matter. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  // Through JSON first: Dates, toJSON() and undefined become what the wire would carry.
  const text = JSON.stringify(value);
  return text === undefined ? 'null' : sorted(JSON.parse(text) as unknown);
}

function sorted(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sorted).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const record = value as Record<string, unknown>;
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sorted(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
