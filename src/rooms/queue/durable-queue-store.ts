import type { Logger } from '../../logger';
import type { ExpiryReason } from '../../protocol/events';
import type { QueueEntryRepository, StoredConcert, StoredDraw } from '../../models/queue-entry-repository';
import type { Clock } from '../../timers/clock';
import { DrawRewrite } from './draw-rewrite';
import { MemoryQueueStore } from './memory-queue-store';
import { JournalWriter } from './queue-journal';
import { applyDraws } from './recorded-draw';
import { EXPIRED_RETENTION_MS, type DrawResult, type EntryView, type JoinResult, type QueueCounts, type QueueEntry, type QueueStore, type TickParams, type TickResult } from './queue-store';

export interface DurableQueueStoreDeps {
  repository: Pick<QueueEntryRepository, 'write' | 'adoptAbandoned' | 'take'>;
  priorRate: number;
  log: Logger;
  clock: Clock;
  onBatch?: (batch: { entries: number; ms: number }) => void;
  /** PostgreSQL being down (a failed write is kept and retried), as opposed to a row it refuses. */
  isOutage?: (err: unknown) => boolean;
  /** Drawn entries whose rows move to their tickets per write after a draw (default 500). */
  drawChunk?: number;
}

/**
 * The single-instance store that survives a restart or a crash: the
 * in-process store answers every read (positions and ticks stay in memory),
 * and every change it makes is written to PostgreSQL by group commit. A join
 * or a leave is answered only once its row is written; a tick or a draw is
 * announced once written too, or, while PostgreSQL is down, at once (memory
 * is the truth and the rows go with the next write that succeeds). A draw is
 * written as one record (the pre-queue keys in drawn order) and told once that
 * commits; its entries' rows move to their tickets in the background.
 *
 * On start it takes over the rooms whose owning process is gone and rebuilds
 * them; a room it meets later (a command for it) is read back on first use.
 */
export class DurableQueueStore implements QueueStore {
  private readonly memory: MemoryQueueStore;
  private readonly journal: JournalWriter;
  /** Concerts read back (or being read): concurrent first commands share one read. */
  private readonly loads = new Map<number, Promise<void>>();
  private adopted: Promise<void> | undefined;
  private readonly rewrite: DrawRewrite;
  /** Draws recorded by the memory store's current step, to move once their record is written. */
  private drawn: [number, StoredDraw][] = [];
  /** Ticks run many times a second: an outage is logged when it starts and when it ends, not per tick. */
  private behind = false;

  constructor(private readonly deps: DurableQueueStoreDeps) {
    this.journal = new JournalWriter((rows) => deps.repository.write(rows), {
      onBatch: deps.onBatch,
      retryable: deps.isOutage,
      onRefused: (err, rows) => deps.log.error({ err, rows }, 'waiting-room row refused by PostgreSQL; dropped'),
      onDrawn: (concertId, draw) => this.drawn.push([concertId, draw]),
    });
    this.memory = new MemoryQueueStore(deps.priorRate, this.journal);
    this.rewrite = new DrawRewrite({
      restate: (concertId, draw, from, to) => this.memory.restate(concertId, draw, from, to),
      committed: () => this.journal.committed(),
      drawDone: (concertId, first) => this.journal.drawDone(concertId, first),
      clock: deps.clock,
      log: deps.log,
      chunk: deps.drawChunk ?? 500,
      retryMs: 1000,
    });
  }

  async join(concertId: number, userId: number, now: number, maxWaiting: number, opensAt?: number): Promise<JoinResult> {
    await this.loaded(concertId);
    const result = await this.memory.join(concertId, userId, now, maxWaiting, opensAt);
    // A rejoin returns an entry whose row may still be in flight: it waits for it too.
    await this.journal.committed();
    return result;
  }

  async draw(concertId: number, permute: (early: number) => Uint32Array): Promise<DrawResult | undefined> {
    await this.loaded(concertId);
    const result = await this.memory.draw(concertId, permute);
    const drawn = this.drawn;
    this.drawn = [];
    await this.settle('draw');
    for (const [id, draw] of drawn) this.rewrite.start(id, draw);
    return result;
  }

  async setToken(concertId: number, ticket: number, token: string): Promise<string> {
    // Not stored: a token is signed, so a new one for the same entry verifies as well after a restart.
    await this.loaded(concertId);
    return this.memory.setToken(concertId, ticket, token);
  }

  async view(concertId: number, ticket: number, now: number): Promise<EntryView | undefined> {
    await this.loaded(concertId);
    return this.memory.view(concertId, ticket, now);
  }

  async currentTicket(concertId: number, userId: number): Promise<number | undefined> {
    await this.loaded(concertId);
    return this.memory.currentTicket(concertId, userId);
  }

  async end(concertId: number, ticket: number, reason: ExpiryReason, now: number, onlyActive: boolean): Promise<QueueEntry | undefined> {
    await this.loaded(concertId);
    const ended = await this.memory.end(concertId, ticket, reason, now, onlyActive);
    // A leave is answered once written. PAID follows a payment already committed: the payment's
    // answer must not turn into a failure because this row has to wait for the next write.
    if (reason === 'PAID') await this.settle('end of a paid entry');
    else await this.journal.committed();
    return ended;
  }

  async tick(concertId: number, params: TickParams): Promise<TickResult> {
    await this.loaded(concertId);
    const result = await this.memory.tick(concertId, params);
    await this.settle('tick');
    return result;
  }

  presence(userId: number, delta: 1 | -1, now: number): Promise<void> {
    // Per process: after a restart nobody is connected, and each entry's idle time starts then.
    return this.memory.presence(userId, delta, now);
  }

  async counts(concertId: number, now: number): Promise<QueueCounts> {
    await this.loaded(concertId);
    return this.memory.counts(concertId, now);
  }

  async liveConcerts(): Promise<number[]> {
    await this.adopt();
    return this.memory.liveConcerts();
  }

  async setSoldOut(concertId: number, soldOut: boolean): Promise<boolean> {
    await this.loaded(concertId);
    return this.memory.setSoldOut(concertId, soldOut);
  }

  /** Resolves once the rows of every draw so far have moved to their tickets (or the store closed). */
  drawsWritten(): Promise<void> {
    return this.rewrite.settled();
  }

  async close(): Promise<void> {
    await this.rewrite.close();
    try {
      await this.journal.committed();
    } catch (err) {
      this.deps.log.error({ err }, 'waiting-room changes not written before close');
    }
    await this.memory.close();
  }

  /** Waits for a tick's or draw's rows; while PostgreSQL is down it goes on without them (they stay pending). */
  private async settle(what: string): Promise<void> {
    try {
      await this.journal.committed();
      if (this.behind) this.deps.log.info('waiting-room changes written again');
      this.behind = false;
    } catch (err) {
      if (!this.behind) this.deps.log.warn({ err }, `waiting-room ${what} not written; memory goes on and each later write retries`);
      this.behind = true;
    }
  }

  /** The rooms a dead process left, once; a failure (PostgreSQL down at start) is retried by the next caller. */
  private adopt(): Promise<void> {
    this.adopted ??= this.deps.repository.adoptAbandoned(this.deps.clock.now() - EXPIRED_RETENTION_MS).then(
      (rooms) => {
        for (const room of rooms) this.restore(room);
      },
      (err: unknown) => {
        this.adopted = undefined;
        throw err;
      },
    );
    return this.adopted;
  }

  private loaded(concertId: number): Promise<void> {
    let load = this.loads.get(concertId);
    if (!load) {
      load = this.adopt()
        .then(() => (this.memory.has(concertId) ? undefined : this.deps.repository.take(concertId)))
        .then((room) => {
          if (room) this.restore(room);
        })
        .catch((err: unknown) => {
          this.loads.delete(concertId);
          throw err;
        });
      this.loads.set(concertId, load);
    }
    return load;
  }

  private restore(stored: StoredConcert): void {
    const room = applyDraws(stored);
    this.memory.restore(room, this.deps.clock.now());
    // Rows a recorded draw had not moved when the process stopped: moving them all again is idempotent.
    for (const draw of room.draws) this.rewrite.start(room.concertId, draw);
    this.loads.set(room.concertId, Promise.resolve());
    const live = room.entries.filter((e) => e.status !== 'EXPIRED').length;
    this.deps.log.info({ concertId: room.concertId, live, entries: room.entries.length, tick: room.room.tick }, 'waiting room rebuilt from PostgreSQL');
  }
}
