/**
 * The in-process waiting line: a set of increasing tickets with order
 * statistics in O(log n) — rank (how many are ahead) and the k-th smallest —
 * over a Fenwick tree indexed by ticket. Tickets only grow, so the tree grows
 * at the back (doubling, rebuilt in linear time), and it is rebased whenever
 * the line empties, so memory follows the tickets issued since the line was
 * last empty, not all tickets ever.
 */
export class TicketLine {
  private tree = new Int32Array(1024);
  private present = new Uint8Array(1024);
  private base = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(ticket: number): boolean {
    const i = ticket - this.base;
    return i >= 0 && i < this.present.length && this.present[i] === 1;
  }

  /** Adds a ticket; tickets must be added in increasing order. */
  add(ticket: number): void {
    if (this.count === 0) this.rebase(ticket);
    const i = ticket - this.base;
    if (i < 0) throw new Error(`ticket ${ticket} below the line's base ${this.base}`);
    if (i >= this.present.length) this.grow(i + 1);
    if (this.present[i] === 1) return;
    this.present[i] = 1;
    this.update(i, 1);
    this.count++;
  }

  remove(ticket: number): boolean {
    if (!this.has(ticket)) return false;
    const i = ticket - this.base;
    this.present[i] = 0;
    this.update(i, -1);
    this.count--;
    return true;
  }

  /** How many tickets in the line are smaller than `ticket`. */
  rank(ticket: number): number {
    let i = Math.min(ticket - this.base, this.present.length);
    let sum = 0;
    while (i > 0) {
      sum += this.tree[i - 1] ?? 0;
      i &= i - 1;
    }
    return sum;
  }

  /** The k-th smallest ticket (1-based), or undefined past the end. */
  kth(k: number): number | undefined {
    if (k < 1 || k > this.count) return undefined;
    let pos = 0;
    let remaining = k;
    for (let step = highestPowerOfTwo(this.tree.length); step > 0; step >>= 1) {
      const next = pos + step;
      const value = this.tree[next - 1];
      if (next <= this.tree.length && value !== undefined && value < remaining) {
        pos = next;
        remaining -= value;
      }
    }
    return this.base + pos;
  }

  private update(i: number, delta: number): void {
    for (let j = i + 1; j <= this.tree.length; j += j & -j) this.tree[j - 1] = (this.tree[j - 1] ?? 0) + delta;
  }

  private rebase(ticket: number): void {
    this.base = ticket;
    if (this.tree.length > 1024) {
      this.tree = new Int32Array(1024);
      this.present = new Uint8Array(1024);
    } else {
      this.tree.fill(0);
      this.present.fill(0);
    }
  }

  private grow(minLength: number): void {
    let length = this.present.length;
    while (length < minLength) length *= 2;
    const present = new Uint8Array(length);
    present.set(this.present);
    this.present = present;
    // Linear-time build: each node pushes its sum to its parent once.
    const tree = new Int32Array(length);
    for (let j = 1; j <= length; j++) {
      tree[j - 1] = (tree[j - 1] ?? 0) + (present[j - 1] ?? 0);
      const parent = j + (j & -j);
      if (parent <= length) tree[parent - 1] = (tree[parent - 1] ?? 0) + (tree[j - 1] ?? 0);
    }
    this.tree = tree;
  }
}

function highestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
