/** FNV-1a then murmur3's finalizer (FNV alone spreads keys that differ in one digit badly). Placement, not security. */
function weigh(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The instance a date room should live on: highest-random-weight (rendezvous)
 * hashing, so dates spread evenly over the live instances and, when one joins
 * or leaves, only the dates it wins or held change hands.
 */
export function preferredOwner(dateId: number, instances: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const instance of instances) {
    const weight = weigh(`${dateId}|${instance}`);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && instance < best)) {
      best = instance;
      bestWeight = weight;
    }
  }
  return best;
}

/**
 * Rendezvous placement with a bound: in id order, each date goes to the
 * highest-weight instance that has fewer than ⌈dates / instances⌉ of them.
 * Plain rendezvous is even only over many dates; a sale has a handful, and it
 * put eight on three instances as 3 / 4 / 1. Every instance that sees the
 * same dates and live set computes the same placement.
 */
export function placeDates(dateIds: readonly number[], instances: readonly string[]): Map<number, string> {
  const placed = new Map<number, string>();
  if (instances.length === 0) return placed;
  const sorted = [...new Set(dateIds)].sort((a, b) => a - b);
  const cap = Math.ceil(sorted.length / instances.length);
  const load = new Map<string, number>();
  for (const dateId of sorted) {
    const ranked = [...instances].sort((a, b) => weigh(`${dateId}|${b}`) - weigh(`${dateId}|${a}`) || (a < b ? -1 : 1));
    const owner = ranked.find((i) => (load.get(i) ?? 0) < cap) as string;
    load.set(owner, (load.get(owner) ?? 0) + 1);
    placed.set(dateId, owner);
  }
  return placed;
}
