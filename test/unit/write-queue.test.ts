import { WriteQueue } from '../../src/models/write-queue';

/** A write that records its batches and waits until released. */
function recorder() {
  const batches: number[][] = [];
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  return {
    batches,
    hold: () => (gate = new Promise<void>((r) => (release = r))),
    release: () => release(),
    write: async (items: number[]) => {
      batches.push(items);
      await gate;
      return items.map((n) => (n < 0 ? new Error(`refused ${n}`) : n * 10));
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('WriteQueue', () => {
  it('what arrives together goes out in one write, and each caller hears its own answer', async () => {
    const w = recorder();
    const queue = new WriteQueue(w.write);

    const answers = await Promise.allSettled([1, 2, -3, 4].map((n) => queue.push(n)));

    expect(w.batches).toEqual([[1, 2, -3, 4]]);
    expect(answers).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'fulfilled', value: 20 },
      { status: 'rejected', reason: new Error('refused -3') },
      { status: 'fulfilled', value: 40 },
    ]);
  });

  it('one write at a time: what arrives while one is in flight waits, then goes out together, capped at maxBatch', async () => {
    const w = recorder();
    const queue = new WriteQueue(w.write, 3);
    void w.hold();
    const first = queue.push(1);
    await tick();
    const later = [2, 3, 4, 5].map((n) => queue.push(n));
    await tick();
    expect(w.batches).toEqual([[1]]);

    w.release();
    expect(await Promise.all([first, ...later])).toEqual([10, 20, 30, 40, 50]);
    expect(w.batches).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('a write that throws refuses its whole batch, and the next batch still goes out', async () => {
    let calls = 0;
    const queue = new WriteQueue<number, number>(async (items) => {
      calls += 1;
      if (calls === 1) throw new Error('connection lost');
      return items;
    });

    const failed = await Promise.allSettled([queue.push(1), queue.push(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await queue.push(3)).toBe(3);
  });
});
