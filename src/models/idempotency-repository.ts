import { createHash } from 'node:crypto';
import { DatabaseError, QueryTypes, type Sequelize } from 'sequelize';
import type { StoredKey } from './wallet-repository';
import { AppError, notFound, unavailable } from '../errors';
import type { Logger } from '../logger';
import { pgText, Prepared } from './prepared';
import { OWNER_LOCK_SPACE, type ProcessOwner } from './process-owner';
import { asError, batchOrEachAlone, WriteQueue } from './write-queue';

export interface IdempotencyOptions {
  /** An answer is kept at least this long; older keys may be purged and then run again. */
  retentionSeconds: number;
  /** Per process, a keyed call purges expired keys first at most this often. */
  purgeEveryMs: number;
  /** Most keys one purge deletes; a full batch makes the next keyed call purge again. */
  purgeBatch: number;
}

export const DEFAULT_IDEMPOTENCY: IdempotencyOptions = { retentionSeconds: 24 * 3600, purgeEveryMs: 60_000, purgeBatch: 1000 };

// Claims that arrive together, in one statement: each either takes its key, or reads what holds it
// (its request, its answer, or that it is still pending and whether its owner is gone). Keys go in
// ascending order, so two instances' batches cannot deadlock on each other's new rows. A pending
// claim is abandoned when its owner's advisory lock is gone (the process died), or, for a claim
// without an owner (made before owners were recorded), after $2 seconds.
const CLAIM_MANY = new Prepared<ClaimRow>(
  'tix_key_claims',
  `WITH req AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(u int, s text, k text, h text, o int)),
   claimed AS (
     INSERT INTO idempotency_keys (user_id, scope, key, request_hash, owner)
     SELECT u, s, k, h, o FROM req ORDER BY u, k
     ON CONFLICT (user_id, key) DO NOTHING
     RETURNING user_id, key)
   SELECT req.u, req.k, c.user_id IS NOT NULL AS claimed, i.user_id IS NOT NULL AS found, i.scope, i.request_hash,
          i.response, i.response IS NULL AS pending, i.owner,
          CASE WHEN i.owner IS NULL THEN i.created_at < now() - make_interval(secs => $2::int)
               ELSE NOT EXISTS (SELECT 1 FROM pg_locks l
                                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                                   AND l.classid = ${OWNER_LOCK_SPACE}::int::oid AND l.objid = i.owner::oid) END AS abandoned
     FROM req
     LEFT JOIN claimed c ON c.user_id = req.u AND c.key = req.k
     LEFT JOIN idempotency_keys i ON c.user_id IS NULL AND i.user_id = req.u AND i.key = req.k`,
);

// Claims settled together, in one statement: an answer is stored (and handed back as stored), a
// claim without one (its work failed) frees the key. Each process settles only its own claims.
const SETTLE_MANY = new Prepared<{ u: number; k: string; response: unknown }>(
  'tix_key_settles',
  `WITH req AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(u int, k text, h text, a text)),
   freed AS (
     DELETE FROM idempotency_keys i USING req
      WHERE req.a IS NULL AND i.user_id = req.u AND i.key = req.k AND i.request_hash = req.h AND i.response IS NULL)
   UPDATE idempotency_keys i SET response = req.a::jsonb FROM req
    WHERE req.a IS NOT NULL AND i.user_id = req.u AND i.key = req.k
   RETURNING i.user_id AS u, i.key AS k, i.response`,
);

// A dead owner's claim is freed only if it is still that owner's: two takers cannot both free it and race.
const TAKE_OVER = `DELETE FROM idempotency_keys
  WHERE user_id = $1::int AND key = $2::text AND response IS NULL AND owner IS NOT DISTINCT FROM $3::int`;

/** A claim without an owner left pending this long belongs to a process that died while working. */
const PENDING_STALE_SECONDS = 60;
/** A duplicate waits this long for the first request's answer. */
const PENDING_WAIT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ClaimRow {
  u: number;
  k: string;
  claimed: boolean;
  found: boolean;
  scope: string | null;
  request_hash: string | null;
  response: unknown;
  pending: boolean;
  owner: number | null;
  abandoned: boolean | null;
}

interface Claim {
  userId: number;
  scope: string;
  key: string;
  hash: string;
  owner: number;
}

/** Another request's record of the key, as a claim found it. */
interface Holder {
  stored: StoredKey;
  pending: boolean;
  owner: number | null;
  abandoned: boolean;
}

/** The key is this request's now; or who holds it; or nothing (it went between the claim and the read: try again). */
type ClaimOutcome = { claimed: true } | { claimed: false; holder?: Holder };

/** A claim's end: its answer (JSON text) stored, or, without one, the key freed. */
interface Settle {
  userId: number;
  key: string;
  hash: string;
  answer?: string;
}

/** Items of one batch, by user and key as PostgreSQL returns them (a user id holds no space). */
const slot = (userId: number, key: string) => `${userId} ${key}`;

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
  // Group commit, one batch in flight each: a sale's burst of payments costs a few statements and
  // at most two connections of the pool, whatever the burst.
  private readonly claims = new WriteQueue<Claim, ClaimOutcome>((batch) => this.claimAll(batch));
  private readonly settles = new WriteQueue<Settle, { stored: unknown }>((batch) => this.settleAll(batch));

  /** `sequelize`: the pool every key write uses (the app gives it one of its own, `Database.keys`). */
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
      const outcome = await this.claims.push({ userId, scope, key, hash, owner });
      if (outcome.claimed) {
        let answer: T;
        try {
          answer = await work();
        } catch (err) {
          await this.settles.push({ userId, key, hash }).catch(() => undefined);
          throw err;
        }
        // Handed back as stored, so the first caller and every repeat get the same JSON.
        const { stored } = await this.settles.push({ userId, key, hash, answer: JSON.stringify(answer ?? null) });
        return stored as T;
      }
      const holder = outcome.holder;
      if (!holder) continue;
      requireSameRequest(holder.stored, scope, hash);
      if (!holder.pending) return holder.stored.response as T;
      if (holder.abandoned) {
        this.log.info({ userId, deadOwner: holder.owner }, 'taking over an idempotency claim whose process died');
        await this.sequelize.query(TAKE_OVER, { bind: [userId, key, holder.owner] });
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

  private async claimAll(batch: Claim[]): Promise<(ClaimOutcome | Error)[]> {
    // A key twice in one batch: the second would read the snapshot from before the first's row.
    // It tries again in the next batch, and finds the first's claim there.
    const slots = new Set<string>();
    const sent = new Set<Claim>();
    for (const c of batch) {
      const at = slot(c.userId, pgText(c.key));
      if (slots.has(at)) continue;
      slots.add(at);
      sent.add(c);
    }
    // A user this database does not have (the only foreign key) fails the batch: each alone gets its own answer.
    return batchOrEachAlone(
      batch,
      async () => {
        const rows = await this.claimRows([...sent]);
        const bySlot = new Map(rows.map((r) => [slot(r.u, r.k), r]));
        return batch.map((c) => (sent.has(c) ? outcomeOf(bySlot.get(slot(c.userId, pgText(c.key)))) : { claimed: false }));
      },
      (c) => this.claimRows([c]).then((r) => outcomeOf(r[0]), claimError),
    );
  }

  private claimRows(claims: Claim[]): Promise<ClaimRow[]> {
    const sent = claims.map((c) => ({ u: c.userId, s: pgText(c.scope), k: pgText(c.key), h: c.hash, o: c.owner }));
    return CLAIM_MANY.rows(this.sequelize, [JSON.stringify(sent), PENDING_STALE_SECONDS]);
  }

  private settleAll(batch: Settle[]): Promise<({ stored: unknown } | Error)[]> {
    // An answer PostgreSQL refuses must not fail the others' (their payments are committed).
    return batchOrEachAlone(batch, () => this.settleRows(batch), (s) => this.settleRows([s]).then((r) => r[0] ?? new Error('no answer')));
  }

  private async settleRows(batch: Settle[]): Promise<{ stored: unknown }[]> {
    const sent = batch.map((s) => ({ u: s.userId, k: pgText(s.key), h: s.hash, a: s.answer ?? null }));
    const rows = await SETTLE_MANY.rows(this.sequelize, [JSON.stringify(sent)]);
    const bySlot = new Map(rows.map((r) => [slot(r.u, r.k), r.response]));
    return batch.map((s) => ({ stored: bySlot.get(slot(s.userId, pgText(s.key))) }));
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

function outcomeOf(row: ClaimRow | undefined): ClaimOutcome | Error {
  if (!row) return new Error('the claim statement gave no answer for a key');
  if (row.claimed) return { claimed: true };
  if (!row.found || row.scope === null || row.request_hash === null) return { claimed: false };
  return {
    claimed: false,
    holder: { stored: { scope: row.scope, hash: row.request_hash, response: row.response }, pending: row.pending, owner: row.owner, abandoned: row.abandoned === true },
  };
}

/** The only foreign key of a claim is the user: a verified token naming a user this database does not have. */
function claimError(err: unknown): Error {
  const code = err instanceof DatabaseError ? (err.parent as { code?: unknown }).code : undefined;
  return code === '23503' ? notFound('user') : asError(err);
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
