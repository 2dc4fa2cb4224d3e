import { preferredOwner } from '../../src/rooms/rendezvous';

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
