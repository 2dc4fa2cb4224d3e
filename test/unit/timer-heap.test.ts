import { TimerHeap } from '../../src/timers/timer-heap';

describe('TimerHeap', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('fires every key at its deadline, in deadline order, with one Node timer', async () => {
    const fired: [number, number][] = [];
    const heap = new TimerHeap<number>((keys) => keys.forEach((k) => fired.push([k, Date.now()])));
    const deadlines = Array.from({ length: 1000 }, (_, i) => 1_000_000 + ((i * 7919) % 5000) + 1);
    deadlines.forEach((at, key) => heap.at(key, at));
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(5001);
    expect(fired).toHaveLength(1000);
    for (const [key, at] of fired) expect(at).toBe(deadlines[key]);
    const order = fired.map(([, at]) => at);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('never fires a cancelled or moved key early', async () => {
    const fired: string[] = [];
    const heap = new TimerHeap<string>((keys) => fired.push(...keys));
    heap.at('a', Date.now() + 100);
    heap.at('b', Date.now() + 200);
    heap.at('c', Date.now() + 300);
    heap.cancel('b');
    heap.at('a', Date.now() + 400);
    await jest.advanceTimersByTimeAsync(350);
    expect(fired).toEqual(['c']);
    await jest.advanceTimersByTimeAsync(100);
    expect(fired).toEqual(['c', 'a']);
    expect(heap.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('leaves no timer after dispose', () => {
    const heap = new TimerHeap<number>(() => undefined);
    for (let i = 0; i < 10; i++) heap.at(i, Date.now() + 1000 + i);
    expect(jest.getTimerCount()).toBe(1);
    heap.dispose();
    expect(jest.getTimerCount()).toBe(0);
    heap.at(99, Date.now() + 10);
    expect(jest.getTimerCount()).toBe(0);
  });
});
