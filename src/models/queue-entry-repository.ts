import { ConnectionError, QueryTypes } from 'sequelize';
import type { ExpiryReason, QueueEntryStatus } from '../protocol/events';
import type { Database } from './database';
import { OWNER_LOCK_SPACE } from './process-owner';

/** One waiting-room entry as stored: what a rebuild needs to put it back where it was. */
export interface StoredEntry {
  /** The ticket, or the negative pre-queue key until the draw. */
  key: number;
  /** The pre-queue key a drawn entry had (queue tokens issued before the draw name it). */
  preKey?: number;
  userId: number;
  status: QueueEntryStatus;
  /** Pre-queued before the opening (drawn in shuffled order) rather than after it. */
  early: boolean;
  /** Still in the ordered line: WAITING with a ticket, or ended but not yet announced in a tick's `left`. */
  inLine: boolean;
  /** Epoch ms, while ACTIVE. */
  expiresAt?: number;
  reason?: ExpiryReason;
  /** Epoch ms, once EXPIRED. */
  endedAt?: number;
}

/** A room's counters: tickets and ticks continue from these after a restart. */
export interface StoredRoom {
  seq: number;
  preSeq: number;
  tick: number;
  rate: number;
  paused: boolean;
}

/** An opening's draw as recorded: `keys[i]` (a pre-queue key) got ticket `first + i`. */
export interface StoredDraw {
  first: number;
  keys: Int32Array;
}

export interface StoredConcert {
  concertId: number;
  room: StoredRoom;
  entries: StoredEntry[];
  /** Draws whose entries' rows may not all have moved to their tickets yet. */
  draws: StoredDraw[];
}

/**
 * One group commit's rows: the latest state of every entry and room that changed, the entries
 * that went, the draws recorded, and the draws whose rows have all moved (their record goes).
 */
export interface QueueRows {
  entries: { concertId: number; entry: StoredEntry }[];
  dropped: { concertId: number; key: number }[];
  rooms: { concertId: number; room: StoredRoom }[];
  draws: { concertId: number; draw: StoredDraw }[];
  drawsDone: { concertId: number; first: number }[];
}

// One statement, so a group commit is atomic and one round trip whatever it holds. A draw's
// keys travel as base64 of their int32s: 100,000 keys are 533 kB of text, decoded by PostgreSQL.
const WRITE = `
WITH draws AS (
  INSERT INTO queue_draws (concert_id, first_ticket, keys)
  SELECT d.c, d.f, decode(d.k, 'base64') FROM jsonb_to_recordset($5::jsonb) AS d(c int, f int, k text)
  ON CONFLICT DO NOTHING
), done AS (
  DELETE FROM queue_draws q USING jsonb_to_recordset($6::jsonb) AS d(c int, f int)
   WHERE q.concert_id = d.c AND q.first_ticket = d.f
), dropped AS (
  DELETE FROM queue_entries q USING jsonb_to_recordset($1::jsonb) AS d(c int, k int)
   WHERE q.concert_id = d.c AND q.key = d.k
), rooms AS (
  INSERT INTO queue_rooms (concert_id, owner, seq, pre_seq, tick, rate, paused)
  SELECT r.c, $2::int, r.seq, r.pre, r.tick, r.rate, r.paused
    FROM jsonb_to_recordset($3::jsonb) AS r(c int, seq int, pre int, tick int, rate float8, paused bool)
  ON CONFLICT (concert_id) DO UPDATE SET owner = EXCLUDED.owner, seq = EXCLUDED.seq, pre_seq = EXCLUDED.pre_seq,
    tick = EXCLUDED.tick, rate = EXCLUDED.rate, paused = EXCLUDED.paused
)
INSERT INTO queue_entries (concert_id, key, pre_key, user_id, status, early, in_line, expires_at, reason, ended_at)
SELECT e.c, e.k, e.pk, e.u, e.s, e.early, e.line, to_timestamp(e.x / 1000.0), e.r, to_timestamp(e.en / 1000.0)
  FROM jsonb_to_recordset($4::jsonb) AS e(c int, k int, pk int, u int, s text, early bool, line bool, x float8, r text, en float8)
ON CONFLICT (concert_id, key) DO UPDATE SET pre_key = COALESCE(EXCLUDED.pre_key, queue_entries.pre_key), status = EXCLUDED.status, early = EXCLUDED.early,
  in_line = EXCLUDED.in_line, expires_at = EXCLUDED.expires_at, reason = EXCLUDED.reason, ended_at = EXCLUDED.ended_at`;

// A room left by a process that is gone (no live process holds its owner id, see ProcessOwner)
// and with entries still live: one with none is read back when a command first needs it.
const ABANDONED = `(q.owner IS NULL OR NOT EXISTS (SELECT 1 FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.classid = ${OWNER_LOCK_SPACE}::int::oid AND l.objid = q.owner::oid))
  AND EXISTS (SELECT 1 FROM queue_entries e WHERE e.concert_id = q.concert_id AND e.status <> 'EXPIRED')`;

interface RoomRow {
  concert_id: number;
  seq: number;
  pre_seq: number;
  tick: number;
  rate: number;
  paused: boolean;
}

interface EntryRow {
  concert_id: number;
  key: number;
  pre_key: number | null;
  user_id: number;
  status: QueueEntryStatus;
  early: boolean;
  in_line: boolean;
  expires_at: number | null;
  reason: ExpiryReason | null;
  ended_at: number | null;
}

const ENTRY_COLUMNS = `concert_id, key, pre_key, user_id, status, early, in_line, reason,
  round(extract(epoch FROM expires_at) * 1000)::bigint AS expires_at, round(extract(epoch FROM ended_at) * 1000)::bigint AS ended_at`;

/** The durable waiting room's rows: written in group commits, read back once per room on start. */
export class QueueEntryRepository {
  constructor(private readonly db: Database) {}

  /**
   * This process's owner id, which its room rows carry. Taking one opens a connection of its
   * own (pg, not sequelize): its failure is PostgreSQL being down like any other (503, not 500).
   */
  owner(): Promise<number> {
    return this.db.owner.id().catch((err: unknown) => {
      throw new ConnectionError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  async write(rows: QueueRows): Promise<void> {
    const owner = await this.owner();
    const dropped = rows.dropped.map(({ concertId, key }) => ({ c: concertId, k: key }));
    const rooms = rows.rooms.map(({ concertId, room: r }) => ({ c: concertId, seq: r.seq, pre: r.preSeq, tick: r.tick, rate: r.rate, paused: r.paused }));
    const entries = rows.entries.map(({ concertId, entry: e }) => ({
      c: concertId,
      k: e.key,
      pk: e.preKey ?? null,
      u: e.userId,
      s: e.status,
      early: e.early,
      line: e.inLine,
      x: e.expiresAt ?? null,
      r: e.reason ?? null,
      en: e.endedAt ?? null,
    }));
    const draws = rows.draws.map(({ concertId, draw }) => ({ c: concertId, f: draw.first, k: encodeKeys(draw.keys) }));
    const done = rows.drawsDone.map(({ concertId, first }) => ({ c: concertId, f: first }));
    // On the journal's own connection: a join or a paid entry's end waits for this write, never for the main pool.
    await this.db.journal.query(WRITE, {
      bind: [JSON.stringify(dropped), owner, JSON.stringify(rooms), JSON.stringify(entries), JSON.stringify(draws), JSON.stringify(done)],
    });
  }

  /**
   * Takes over every room whose owner is gone (a crash or a restart) and reads them back. Entries
   * that ended before `endedBefore` (epoch ms) go first: a room that stopped ticking never purged them.
   */
  async adoptAbandoned(endedBefore: number): Promise<StoredConcert[]> {
    const owner = await this.owner();
    await this.db.sequelize.query(`DELETE FROM queue_entries WHERE status = 'EXPIRED' AND ended_at < to_timestamp($1::float8 / 1000)`, { bind: [endedBefore] });
    const rooms = await this.db.sequelize.query<RoomRow>(
      `UPDATE queue_rooms q SET owner = $1::int WHERE ${ABANDONED} RETURNING concert_id, seq, pre_seq, tick, rate, paused`,
      { bind: [owner], type: QueryTypes.SELECT },
    );
    return this.read(rooms);
  }

  /** Takes over one room whoever owned it (a command for it reached this instance) and reads it back. */
  async take(concertId: number): Promise<StoredConcert | undefined> {
    const owner = await this.owner();
    const rooms = await this.db.sequelize.query<RoomRow>(
      `UPDATE queue_rooms SET owner = $1::int WHERE concert_id = $2::int RETURNING concert_id, seq, pre_seq, tick, rate, paused`,
      { bind: [owner, concertId], type: QueryTypes.SELECT },
    );
    return (await this.read(rooms))[0];
  }

  private async read(rooms: RoomRow[]): Promise<StoredConcert[]> {
    if (rooms.length === 0) return [];
    const rows = await this.db.sequelize.query<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM queue_entries WHERE concert_id = ANY($1::int[])`, {
      bind: [rooms.map((r) => r.concert_id)],
      type: QueryTypes.SELECT,
    });
    const draws = await this.db.sequelize.query<DrawRow>('SELECT concert_id, first_ticket, keys FROM queue_draws WHERE concert_id = ANY($1::int[]) ORDER BY first_ticket', {
      bind: [rooms.map((r) => r.concert_id)],
      type: QueryTypes.SELECT,
    });
    const byConcert = new Map<number, StoredEntry[]>(rooms.map((r) => [r.concert_id, []]));
    for (const r of rows) byConcert.get(r.concert_id)?.push(fromRow(r));
    return rooms.map((r) => ({
      concertId: r.concert_id,
      room: { seq: r.seq, preSeq: r.pre_seq, tick: r.tick, rate: r.rate, paused: r.paused },
      entries: byConcert.get(r.concert_id) ?? [],
      draws: draws.filter((d) => d.concert_id === r.concert_id).map((d) => ({ first: d.first_ticket, keys: decodeKeys(d.keys) })),
    }));
  }
}

interface DrawRow {
  concert_id: number;
  first_ticket: number;
  keys: Buffer;
}

function encodeKeys(keys: Int32Array): string {
  const bytes = Buffer.alloc(keys.length * 4);
  keys.forEach((key, i) => bytes.writeInt32LE(key, i * 4));
  return bytes.toString('base64');
}

function decodeKeys(bytes: Buffer): Int32Array {
  const keys = new Int32Array(bytes.length / 4);
  for (let i = 0; i < keys.length; i++) keys[i] = bytes.readInt32LE(i * 4);
  return keys;
}

function fromRow(r: EntryRow): StoredEntry {
  const entry: StoredEntry = { key: r.key, userId: r.user_id, status: r.status, early: r.early, inLine: r.in_line };
  if (r.pre_key !== null) entry.preKey = r.pre_key;
  if (r.expires_at !== null) entry.expiresAt = r.expires_at;
  if (r.reason !== null) entry.reason = r.reason;
  if (r.ended_at !== null) entry.endedAt = r.ended_at;
  return entry;
}
