import { FenceError } from '../../models/reservation-repository';
import type { Clock } from '../../timers/clock';
import { BatchWrite } from './batch-write';
import type { Reservation, SeatState } from './date-state';

/** The room stopped taking commands (disposed, fenced out, or out of step with the database): retry on a fresh room. */
export class RoomClosedError extends Error {}

/** What a command did to the state: undone if its batch fails, announced once it commits. */
export interface Effect {
  undo(): void;
  changed: SeatState[];
  updated: Reservation[];
  /** A hold released because its time ran out (counted once committed). */
  expired?: boolean;
  /** After commit: timers and the id index. */
  committed?(): void;
  /** The reply, computed after commit so it shows committed state. */
  result(): unknown;
}

export interface Message {
  /** performance.now() when posted: how long commands wait behind earlier batches. */
  posted: number;
  apply(write: BatchWrite, now: Date): Effect;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export interface Applied {
  message: Message;
  effect: Effect;
}

export interface GroupCommitHooks {
  /** Once true, every message still waiting is refused with RoomClosedError. */
  closed(): boolean;
  /** Writes one part; when it throws, nothing of the part was written. */
  commit(write: BatchWrite): Promise<void>;
  /** A part committed (`wrote`) or needed no write: its callers may hear of it. */
  settle(part: Applied[], wrote: boolean): void;
  /** A part failed and splitting cannot help: its effects are already undone. */
  fail(part: Applied[], err: unknown): void;
  onBatch?(batch: { size: number; waitMs: number; commitMs: number }): void;
}

/**
 * Group commit that answers every command as if it had run alone: a batch is
 * applied and written at once; if the write is refused, all of it is undone
 * and each command is applied and written on its own, in order, so one
 * command's refusal (a short balance) never fails the others.
 */
export class GroupCommit {
  constructor(
    private readonly hooks: GroupCommitHooks,
    private readonly clock: Clock,
  ) {}

  async run(batch: Message[]): Promise<void> {
    if (this.hooks.closed()) {
      for (const m of batch) m.reject(new RoomClosedError());
      return;
    }
    const now = new Date(this.clock.now());
    const started = performance.now();
    const write = new BatchWrite();
    const applied = applyAll(batch, write, now);
    if (write.empty) return this.hooks.settle(applied, false);
    try {
      await this.hooks.commit(write);
      const waitMs = started - (batch[0]?.posted ?? started);
      this.hooks.onBatch?.({ size: applied.length, waitMs, commitMs: performance.now() - started });
      this.hooks.settle(applied, true);
      return;
    } catch (err) {
      for (const { effect } of [...applied].reverse()) effect.undo();
      // A lost fence refuses every part alike: retrying one by one would only repeat it.
      if (applied.length === 1 || err instanceof FenceError) return this.hooks.fail(applied, err);
    }
    for (const { message } of applied) await this.runAlone(message, now);
  }

  private async runAlone(message: Message, now: Date): Promise<void> {
    if (this.hooks.closed()) {
      message.reject(new RoomClosedError());
      return;
    }
    const single = new BatchWrite();
    const [one] = applyAll([message], single, now);
    if (!one) return;
    if (single.empty) return this.hooks.settle([one], false);
    try {
      await this.hooks.commit(single);
      this.hooks.settle([one], true);
    } catch (err) {
      one.effect.undo();
      this.hooks.fail([one], err);
    }
  }
}

/** A command that throws is refused on its own: commands check everything before they touch the state or the write. */
function applyAll(batch: Message[], write: BatchWrite, now: Date): Applied[] {
  const applied: Applied[] = [];
  for (const message of batch) {
    try {
      applied.push({ message, effect: message.apply(write, now) });
    } catch (err) {
      message.reject(err);
    }
  }
  return applied;
}
