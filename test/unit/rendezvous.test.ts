import { placeDates, preferredOwner } from '../../src/rooms/cluster/rendezvous';

const dates = Array.from({ length: 3000 }, (_, i) => i + 1);
const placement = (instances: string[]) => new Map(dates.map((d) => [d, preferredOwner(d, instances)]));

describe('preferredOwner (rendezvous hashing)', () => {
  it('spreads dates evenly over the instances', () => {
    const counts = new Map<string, number>();
    for (const owner of placement(['i0', 'i1', 'i2']).values()) counts.set(owner!, (counts.get(owner!) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['i0', 'i1', 'i2']);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(120);
  });

  it('is the same whatever the order of the list, and nobody with no instances', () => {
    for (const d of dates.slice(0, 50)) expect(preferredOwner(d, ['b', 'c', 'a'])).toBe(preferredOwner(d, ['a', 'b', 'c']));
    expect(preferredOwner(1, [])).toBeUndefined();
  });

  it('moves only the dates of an instance that leaves, and only to the survivors', () => {
    const before = placement(['i0', 'i1', 'i2']);
    const after = placement(['i0', 'i2']);
    for (const d of dates) {
      if (before.get(d) !== 'i1') expect(after.get(d)).toBe(before.get(d));
      else expect(['i0', 'i2']).toContain(after.get(d));
    }
  });
});

describe('placeDates (rendezvous with a bound)', () => {
  const count = (placed: Map<number, string>) => {
    const counts = new Map<string, number>();
    for (const owner of placed.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
    return counts;
  };

  it('spreads a handful of dates as evenly as they divide', () => {
    for (let n = 1; n <= 12; n++) {
      const ids = Array.from({ length: n }, (_, i) => i + 1);
      const counts = count(placeDates(ids, ['i0', 'i1', 'i2']));
      expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(n);
      for (const c of counts.values()) expect(c).toBeLessThanOrEqual(Math.ceil(n / 3));
    }
    // The case that motivated it: plain rendezvous gives 3 / 4 / 1 here.
    const eight = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(Math.max(...count(new Map(eight.map((d) => [d, preferredOwner(d, ['i0', 'i1', 'i2'])!]))).values())).toBe(4);
    expect(Math.max(...count(placeDates(eight, ['i0', 'i1', 'i2'])).values())).toBe(3);
  });

  it('is the same whatever the order of the lists, and keeps the rendezvous choice while there is room', () => {
    const ids = [5, 3, 9, 1, 7];
    expect(placeDates(ids, ['c', 'a', 'b'])).toEqual(placeDates([...ids].reverse(), ['a', 'b', 'c']));
    expect(placeDates([42], ['a', 'b', 'c']).get(42)).toBe(preferredOwner(42, ['a', 'b', 'c']));
    expect(placeDates([1, 2], [])).toEqual(new Map());
  });
});
