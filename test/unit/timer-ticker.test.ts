import { Ticker } from '../../src/timers/ticker';
import { KeyedDebounce } from '../../src/timers/debounce';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('Ticker', () => {
  it('runs every interval once started and not after stop', async () => {
    const runs: number[] = [];
    const ticker = new Ticker(100, async () => void runs.push(Date.now()), () => undefined);
    ticker.start();
    ticker.start();
    await jest.advanceTimersByTimeAsync(350);
    expect(runs).toHaveLength(3);
    await ticker.stop();
    await jest.advanceTimersByTimeAsync(1000);
    expect(runs).toHaveLength(3);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('never overlaps a slow run with the next one', async () => {
    let concurrent = 0;
    let most = 0;
    const ticker = new Ticker(10, async () => {
      most = Math.max(most, ++concurrent);
      await new Promise((r) => setTimeout(r, 35));
      concurrent--;
    }, () => undefined);
    ticker.start();
    await jest.advanceTimersByTimeAsync(500);
    await ticker.stop();
    expect(most).toBe(1);
  });

  it('reports a failing run and keeps ticking', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const ticker = new Ticker(10, async () => {
      if (++n === 1) throw new Error('boom');
    }, (err) => errors.push(err));
    ticker.start();
    await jest.advanceTimersByTimeAsync(35);
    await ticker.stop();
    expect(errors).toHaveLength(1);
    expect(n).toBe(3);
  });

  it('waits for a run in flight when stopped', async () => {
    let finished = false;
    const ticker = new Ticker(10, async () => {
      await new Promise((r) => setTimeout(r, 50));
      finished = true;
    }, () => undefined);
    ticker.start();
    await jest.advanceTimersByTimeAsync(15);
    const stopped = ticker.stop();
    await jest.advanceTimersByTimeAsync(50);
    await stopped;
    expect(finished).toBe(true);
    expect(ticker.active).toBe(false);
  });
});

describe('KeyedDebounce', () => {
  it('folds a burst into one run per key, and calls during a run into one more', async () => {
    const runs: string[] = [];
    const debounce = new KeyedDebounce<string>(100, async (key) => {
      runs.push(key);
      await new Promise((r) => setTimeout(r, 50));
    }, () => undefined);
    for (let i = 0; i < 10; i++) debounce.trigger('a');
    debounce.trigger('b');
    await jest.advanceTimersByTimeAsync(120);
    expect(runs.sort()).toEqual(['a', 'b']);
    debounce.trigger('a');
    debounce.trigger('a');
    await jest.advanceTimersByTimeAsync(200);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    await debounce.close();
    debounce.trigger('a');
    await jest.advanceTimersByTimeAsync(200);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(jest.getTimerCount()).toBe(0);
  });
});
