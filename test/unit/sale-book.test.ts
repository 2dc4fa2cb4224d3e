import type { Sale } from '../../src/protocol/events';
import { SaleBook } from '../../src/rooms/queue/sale-book';
import type { Clock } from '../../src/timers/clock';

const sale = (over: Partial<Sale> = {}): Sale => ({ opensAt: '2030-01-01T00:00:00.000Z', admitPerTick: 5, maxActive: 10, activeTtlSeconds: 60, paused: false, challenge: 'off', ...over });

function source(initial: Sale) {
  const stored = new Map([[1, initial]]);
  const calls: number[][] = [];
  let failing = false;
  return {
    stored,
    calls,
    fail: (on: boolean) => (failing = on),
    async many(ids: number[]) {
      calls.push(ids);
      if (failing) throw new Error('database down');
      return new Map(ids.flatMap((id) => (stored.has(id) ? [[id, stored.get(id)!] as const] : [])));
    },
  };
}

describe('the sale settings copy of one instance', () => {
  let now = 0;
  const clock: Clock = { now: () => now, setTimeout: () => undefined, clearTimeout: () => undefined };
  beforeEach(() => (now = 0));

  it('loads once for concurrent reads, serves its copy until it is forgotten or old, and knows no unknown concert', async () => {
    const src = source(sale());
    const book = new SaleBook(src, 5000, clock);
    const [a, b] = await Promise.all([book.get(1), book.get(1)]);
    expect(a).toEqual(sale());
    expect(b).toBe(a);
    expect(src.calls).toEqual([[1]]);
    src.stored.set(1, sale({ paused: true }));
    now = 4999;
    expect(await book.get(1)).toEqual(sale());
    book.forget(1);
    expect(await book.get(1)).toEqual(sale({ paused: true }));
    src.stored.set(1, sale({ admitPerTick: 9 }));
    now = 4999 + 5000;
    expect(await book.get(1)).toEqual(sale({ admitPerTick: 9 }));
    expect(await book.get(2)).toBeUndefined();
    expect(await book.get(2)).toBeUndefined();
    expect(src.calls).toHaveLength(5);
  });

  it('takes a change made here at once, and a load that began before a forget does not overwrite what came after', async () => {
    const src = source(sale());
    const book = new SaleBook(src, 5000, clock);
    const loading = book.get(1);
    book.forget(1);
    book.set(1, sale({ maxActive: 3 }));
    await loading;
    expect(await book.get(1)).toEqual(sale({ maxActive: 3 }));
  });

  it('keeps serving the last copy while the source fails, and fails only with no copy at all', async () => {
    const src = source(sale());
    const book = new SaleBook(src, 5000, clock);
    await book.get(1);
    src.fail(true);
    now = 60_000;
    expect(await book.get(1)).toEqual(sale());
    src.stored.set(3, sale());
    await expect(book.get(3)).rejects.toThrow('database down');
  });
});
