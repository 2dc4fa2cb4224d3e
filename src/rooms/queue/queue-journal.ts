import type { QueueRows, StoredDraw, StoredEntry, StoredRoom } from '../../models/queue-entry-repository';

/** What the in-process store reports of every change, synchronously, inside the step that made it. */
export interface QueueJournal {
  /** The entry's state after the change (keyed by concert and its ticket or pre-queue key). */
  entry(concertId: number, entry: StoredEntry): void;
  /** The record under this key is gone (purged, or moved to its ticket by the draw). */
  dropped(concertId: number, key: number): void;
  /** The room's counters changed. */
  room(concertId: number, room: StoredRoom): void;
  /** The opening's draw gave these pre-queue keys their tickets (one record; the entries' rows follow later). */
  drawn(concertId: number, draw: StoredDraw): void;
}

type PendingEntry = { concertId: number; key: number; entry?: StoredEntry };

/**
 * A drawn entry's row carries its pre-queue key (tokens name it); a later state of the same
 * entry reported without it must not lose it before the row is written.
 */
function keepPreKey(newer: PendingEntry, older: PendingEntry | undefined): PendingEntry {
  const preKey = older?.entry?.preKey;
  if (!newer.entry || preKey === undefined || newer.entry.preKey !== undefined) return newer;
  return { ...newer, entry: { ...newer.entry, preKey } };
}

/** Changes not yet written: only the latest state of each entry and room, so a burst writes each row once. */
class Pending {
  readonly entries = new Map<string, PendingEntry>();
  readonly rooms = new Map<number, StoredRoom>();
  readonly draws: { concertId: number; draw: StoredDraw }[] = [];
  readonly drawsDone: { concertId: number; first: number }[] = [];

  get empty(): boolean {
    return this.entries.size === 0 && this.rooms.size === 0 && this.draws.length === 0 && this.drawsDone.length === 0;
  }

  setEntry(k: string, e: PendingEntry): void {
    this.entries.set(k, keepPreKey(e, this.entries.get(k)));
  }

  /** Puts `older`'s changes under this one's (a failed write is retried with the next). */
  absorb(older: Pending): void {
    for (const [k, v] of older.entries) {
      const newer = this.entries.get(k);
      this.entries.set(k, newer ? keepPreKey(newer, v) : v);
    }
    for (const [k, v] of older.rooms) if (!this.rooms.has(k)) this.rooms.set(k, v);
    this.draws.unshift(...older.draws);
    this.drawsDone.unshift(...older.drawsDone);
  }

  /** The batch as single-row writes: rooms, drops and draws first, then each entry alone. */
  *alone(): Generator<QueueRows> {
    const all = this.rows();
    if (all.rooms.length > 0 || all.dropped.length > 0 || all.draws.length > 0 || all.drawsDone.length > 0) yield { ...all, entries: [] };
    for (const e of all.entries) yield { entries: [e], dropped: [], rooms: [], draws: [], drawsDone: [] };
  }

  rows(): QueueRows {
    const rows: QueueRows = { entries: [], dropped: [], rooms: [], draws: this.draws, drawsDone: this.drawsDone };
    for (const { concertId, key, entry } of this.entries.values()) {
      if (entry) rows.entries.push({ concertId, entry });
      else rows.dropped.push({ concertId, key });
    }
    for (const [concertId, room] of this.rooms) rows.rooms.push({ concertId, room });
    return rows;
  }
}

interface Waiters {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function waiters(): Waiters {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits (a tick's, say) must not fail the process when its write fails.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Group commit of the waiting room's changes: one write at a time, each
 * taking every change made while the one before it was in flight, so a
 * burst of joins costs a few statements, not one transaction per join.
 * Writes go in order, each row with its latest state, so a later change
 * never lands under an earlier one.
 */
export class JournalWriter implements QueueJournal {
  private pending = new Pending();
  /** Callers waiting for `pending` to be written. */
  private next: Waiters | undefined;
  /** Callers waiting for the write in flight, if one is. */
  private writing: Waiters | undefined;

  constructor(
    private readonly write: (rows: QueueRows) => Promise<void>,
    private readonly hooks: {
      onBatch?: (batch: { entries: number; ms: number }) => void;
      /** Whether a failed write may succeed as it is later (PostgreSQL down); otherwise a row of it is refused. */
      retryable?: (err: unknown) => boolean;
      /** A row PostgreSQL refused on its own: dropped, so that it cannot block every write after it. */
      onRefused?: (err: unknown, rows: QueueRows) => void;
      /** A draw was recorded (its record is in the next write). */
      onDrawn?: (concertId: number, draw: StoredDraw) => void;
    } = {},
  ) {}

  entry(concertId: number, entry: StoredEntry): void {
    this.pending.setEntry(`${concertId}:${entry.key}`, { concertId, key: entry.key, entry });
  }

  dropped(concertId: number, key: number): void {
    this.pending.entries.set(`${concertId}:${key}`, { concertId, key });
  }

  room(concertId: number, room: StoredRoom): void {
    this.pending.rooms.set(concertId, room);
  }

  drawn(concertId: number, draw: StoredDraw): void {
    this.pending.draws.push({ concertId, draw });
    this.hooks.onDrawn?.(concertId, draw);
  }

  /** Every row of this draw is under its ticket: its record goes (reported only once those rows are written). */
  drawDone(concertId: number, first: number): void {
    this.pending.drawsDone.push({ concertId, first });
  }

  /**
   * Resolves once every change reported so far is in PostgreSQL; rejects when the write that
   * carried them failed (they stay pending and go with the next write).
   */
  committed(): Promise<void> {
    // Nothing new: what was reported is in the write in flight (or already written).
    if (this.pending.empty) return this.writing?.promise ?? Promise.resolve();
    this.next ??= waiters();
    const { promise } = this.next;
    if (!this.writing) void this.drain();
    return promise;
  }

  /** Writes batch after batch while changes keep coming; never rejects (failures go to the waiters). */
  private async drain(): Promise<void> {
    while (!this.pending.empty) {
      const batch = this.pending;
      const done = this.takeWaiters() ?? waiters();
      this.pending = new Pending();
      this.writing = done;
      const started = performance.now();
      try {
        await this.write(batch.rows());
      } catch (err) {
        if (this.hooks.retryable?.(err) === false) {
          // Not an outage: some row is refused. The others are written alone; its callers hear of the failure.
          await this.salvage(batch);
          this.writing = undefined;
          done.reject(err);
          continue;
        }
        // Memory already holds these changes: keep them for the next write, and fail every
        // caller still waiting (the next commit retries rather than this loop spinning on an outage).
        this.pending.absorb(batch);
        this.writing = undefined;
        const later = this.takeWaiters();
        done.reject(err);
        later?.reject(err);
        return;
      }
      this.writing = undefined;
      this.hooks.onBatch?.({ entries: batch.entries.size, ms: performance.now() - started });
      done.resolve();
    }
  }

  private async salvage(batch: Pending): Promise<void> {
    for (const rows of batch.alone()) {
      try {
        await this.write(rows);
      } catch (err) {
        this.hooks.onRefused?.(err, rows);
      }
    }
  }

  private takeWaiters(): Waiters | undefined {
    const taken = this.next;
    this.next = undefined;
    return taken;
  }
}
