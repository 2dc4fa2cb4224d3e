import { shuffle } from '../../src/rooms/queue/shuffle';

/** A seeded uniform source (mulberry32), so the statistics below are the same on every run. */
function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (max: number) => Math.floor(next() * max);
}

describe('the opening draw’s shuffle (Fisher–Yates)', () => {
  it('returns a permutation of 0..n-1', () => {
    for (const n of [0, 1, 2, 7, 1000]) expect([...shuffle(n)].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('draws every order of 4 equally often: chi-square over 48,000 shuffles from a seeded source', () => {
    const random = seeded(20);
    const counts = new Map<string, number>();
    const runs = 48_000;
    for (let i = 0; i < runs; i++) {
      const key = shuffle(4, random).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(24);
    const expected = runs / 24;
    const chi2 = [...counts.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    // 23 degrees of freedom: 49.73 is the 0.1% critical value.
    expect(chi2).toBeLessThan(49.73);
  });

  it('puts each element at each place equally often (n = 10): chi-square per element', () => {
    const random = seeded(7);
    const n = 10;
    const runs = 20_000;
    const at = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < runs; i++) shuffle(n, random).forEach((element, place) => at[element]![place]!++);
    for (const row of at) {
      const chi2 = row.reduce((sum, k) => sum + (k - runs / n) ** 2 / (runs / n), 0);
      // 9 degrees of freedom: 27.88 is the 0.1% critical value.
      expect(chi2).toBeLessThan(27.88);
    }
  });

  it('is not the identity, nor the same twice, with the default (cryptographic) source', () => {
    const a = [...shuffle(200)];
    const b = [...shuffle(200)];
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});
