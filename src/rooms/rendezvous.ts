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
