import { systemClock, type Clock } from './clock';

interface Entry<K> {
  key: K;
  at: number;
}

/**
 * Many deadlines, one `setTimeout`: a binary min-heap keyed by deadline, with
 * an index for O(log n) cancel. Scales to every seat of a date (and beyond)
 * without one Node timer per hold. `onDue` receives every key whose deadline
 * has passed, in deadline order.
 */
export class TimerHeap<K> {
  private readonly heap: Entry<K>[] = [];
  private readonly index = new Map<K, number>();
  private timer: unknown;
  private armedAt = Infinity;
  private disposed = false;

  constructor(
    private readonly onDue: (keys: K[]) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** Sets (or moves) the deadline of `key`. */
  at(key: K, at: number): void {
    if (this.disposed) return;
    this.cancel(key);
    this.heap.push({ key, at });
    this.index.set(key, this.heap.length - 1);
    this.up(this.heap.length - 1);
    this.arm();
  }

  cancel(key: K): void {
    const i = this.index.get(key);
    if (i === undefined) return;
    this.index.delete(key);
    const last = this.heap.pop() as Entry<K>;
    if (i < this.heap.length) {
      this.heap[i] = last;
      this.index.set(last.key, i);
      this.down(i);
      this.up(i);
    }
  }

  has(key: K): boolean {
    return this.index.has(key);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
    this.index.clear();
  }

  private arm(): void {
    const next = this.heap[0]?.at ?? Infinity;
    if (next === this.armedAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = next;
    if (next === Infinity) return;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, next - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    const due: K[] = [];
    while (this.heap.length > 0 && (this.heap[0] as Entry<K>).at <= now) {
      const top = this.heap[0] as Entry<K>;
      due.push(top.key);
      this.cancel(top.key);
    }
    this.arm();
    if (due.length > 0) this.onDue(due);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.heap[parent] as Entry<K>).at <= (this.heap[i] as Entry<K>).at) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < this.heap.length && (this.heap[l] as Entry<K>).at < (this.heap[smallest] as Entry<K>).at) smallest = l;
      if (r < this.heap.length && (this.heap[r] as Entry<K>).at < (this.heap[smallest] as Entry<K>).at) smallest = r;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const x = this.heap[a] as Entry<K>;
    const y = this.heap[b] as Entry<K>;
    this.heap[a] = y;
    this.heap[b] = x;
    this.index.set(y.key, a);
    this.index.set(x.key, b);
  }
}
