/**
 * One buyer's live seat map of one date, kept from a `seats:watch` snapshot
 * and the `seats:changed` deltas that follow. Checks the protocol's ordering
 * promise: after the snapshot, versions arrive as v+1, v+2, … with no gap.
 * Deltas that arrive before the snapshot's ack are buffered and those the
 * snapshot already includes are dropped. A delta at or below the map's version
 * after the ack is stale: ignored and counted (none on one instance; at a
 * non-owner one can trail the snapshot read from the database).
 */
export type SeatStatus = 'FREE' | 'HELD' | 'SOLD';

export interface Delta {
  dateId: number;
  version: number;
  seats: { number: number; status: SeatStatus }[];
  at?: number;
}

export interface OrderStats {
  sessions: number;
  deltas: number;
  gaps: number;
  /** Deltas at or below the map's version, after the snapshot: ignored. */
  stale: number;
  /** First few violations, for the report. */
  examples: string[];
}

export function newOrderStats(): OrderStats {
  return { sessions: 0, deltas: 0, gaps: 0, stale: 0, examples: [] };
}

export class WatchSession {
  version = -1;
  readonly seats = new Map<number, SeatStatus>();
  /** Seats the server refused (SEAT_UNAVAILABLE) that the map still shows FREE: skipped until a delta frees them. */
  readonly avoid = new Set<number>();
  /** Set by a gap: the map is no longer trusted until a new snapshot. */
  broken = false;
  private buffer: Delta[] | undefined = [];
  private freeWaiters: (() => void)[] = [];

  constructor(
    readonly dateId: number,
    private readonly stats: OrderStats,
    private readonly label: string,
  ) {
    stats.sessions++;
  }

  get ready(): boolean {
    return this.buffer === undefined;
  }

  snapshot(map: { version: number; seats: { number: number; status: SeatStatus }[] }): void {
    this.version = map.version;
    for (const s of map.seats) this.seats.set(s.number, s.status);
    const buffered = this.buffer ?? [];
    this.buffer = undefined;
    for (const d of buffered) if (d.version > this.version) this.apply(d);
    this.notify();
  }

  onChanged(delta: Delta): void {
    if (this.buffer) {
      this.buffer.push(delta);
      return;
    }
    this.apply(delta);
    this.notify();
  }

  private apply(d: Delta): void {
    this.stats.deltas++;
    if (d.version !== this.version + 1) {
      if (this.stats.examples.length < 5) this.stats.examples.push(`${this.label} date ${this.dateId}: expected v${this.version + 1}, got v${d.version}`);
      if (d.version <= this.version) {
        this.stats.stale++;
        return;
      }
      this.stats.gaps++;
      this.broken = true;
    }
    this.version = d.version;
    for (const s of d.seats) {
      this.seats.set(s.number, s.status);
      if (s.status === 'FREE') this.avoid.delete(s.number);
    }
  }

  free(): number[] {
    const out: number[] = [];
    for (const [n, s] of this.seats) if (s === 'FREE' && !this.avoid.has(n)) out.push(n);
    return out;
  }

  /** Resolves when some seat shows FREE, or after `ms` (then with false). */
  waitForFree(ms: number, stopped: () => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => this.free().length > 0;
      if (check()) return resolve(true);
      const timer = setTimeout(() => done(false), ms);
      const poll = setInterval(() => stopped() && done(false), 250);
      const waiter = () => check() && done(true);
      const done = (v: boolean) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.freeWaiters = this.freeWaiters.filter((w) => w !== waiter);
        resolve(v);
      };
      this.freeWaiters.push(waiter);
    });
  }

  private notify(): void {
    for (const w of [...this.freeWaiters]) w();
  }

  /** Seat statuses in seat order, one letter each (F/H/S): compared with the database at the end. */
  fingerprint(): string {
    return [...this.seats.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, s]) => s[0])
      .join('');
  }
}

/** What a hold needs from a seat map: the live one, or a blind guess (hold storm). */
export interface SeatSource {
  readonly dateId: number;
  readonly avoid: Set<number>;
  free(): number[];
  waitForFree(ms: number, stopped: () => boolean): Promise<boolean>;
}

/**
 * No map at all: random seat numbers of a big date, minus those the server
 * refused. Lets most hold-storm users hold without receiving every delta.
 */
export class BlindSeats implements SeatSource {
  readonly avoid = new Set<number>();

  constructor(
    readonly dateId: number,
    private readonly seats: number,
  ) {}

  free(): number[] {
    const out = new Set<number>();
    for (let tries = 0; out.size < 4 && tries < 64; tries++) {
      const n = 1 + Math.floor(Math.random() * this.seats);
      if (!this.avoid.has(n)) out.add(n);
    }
    return [...out];
  }

  async waitForFree(): Promise<boolean> {
    this.avoid.clear();
    return true;
  }
}
