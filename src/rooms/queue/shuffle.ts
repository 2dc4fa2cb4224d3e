import { randomInt } from 'node:crypto';

/** A uniform integer in [0, max): crypto.randomInt in production, a seeded source in tests. */
export type RandomInt = (max: number) => number;

const cryptoRandom: RandomInt = (max) => randomInt(max);

/**
 * A uniformly random permutation of 0..n-1 (Fisher–Yates): every order has
 * probability 1/n!, provided `random` is uniform. With the default source
 * (cryptographic) the order cannot be predicted or steered, so joining a
 * pre-queue earlier, faster or from a script buys nothing.
 */
export function shuffle(n: number, random: RandomInt = cryptoRandom): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = random(i + 1);
    const swap = order[i] ?? i;
    order[i] = order[j] ?? j;
    order[j] = swap;
  }
  return order;
}
