import { createLogger } from '../../src/logger';
import { DrawRewrite } from '../../src/rooms/queue/draw-rewrite';
import type { Clock } from '../../src/timers/clock';

// The background move of a recorded draw's rows on its own: the journal is a list of what was
// reported and a commit this test fails or lets through; timers are collected, never run alone.
function harness(chunk: number) {
  const reported: string[] = [];
  const timers = new Set<() => void>();
  const clock: Clock = {
    now: () => 0,
    setTimeout: (fn) => {
      timers.add(fn);
      return fn;
    },
    clearTimeout: (h) => void timers.delete(h as () => void),
  };
  // Commits (counted from 1) that fail, as when PostgreSQL is down.
  const failing = new Set<number>();
  let commits = 0;
  const rewrite = new DrawRewrite({
    restate: (_c, draw, from, to) => reported.push(`rows ${draw.keys.slice(from, to).join(',')}`),
    committed: () => {
      reported.push('commit');
      return failing.has(++commits) ? Promise.reject(new Error('PostgreSQL down')) : Promise.resolve();
    },
    drawDone: (_c, first) => reported.push(`done ${first}`),
    clock,
    log: createLogger('silent'),
    chunk,
    retryMs: 1000,
  });
  const fireTimers = () => {
    const due = [...timers];
    timers.clear();
    for (const fn of due) fn();
  };
  return { rewrite, reported, timers, fireTimers, fail: (...at: number[]) => at.forEach((n) => failing.add(n)) };
}

const flush = () => new Promise((r) => setImmediate(r));
const draw = { first: 1, keys: Int32Array.from([-3, -1, -4, -2, -5]) };

describe('draw rewrite', () => {
  test('after the record is written, the rows go a chunk per commit, then the record is dropped in a commit of its own', async () => {
    const { rewrite, reported, timers } = harness(2);
    rewrite.start(7, draw);
    await rewrite.settled();
    expect(reported).toEqual(['commit', 'rows -3,-1', 'commit', 'rows -4,-2', 'commit', 'rows -5', 'commit', 'done 1', 'commit']);
    expect(timers.size).toBe(0);
  });

  test('while PostgreSQL is down it waits a retry interval and commits the same rows again, never skipping a chunk', async () => {
    const { rewrite, reported, timers, fireTimers, fail } = harness(3);
    fail(2, 3);
    rewrite.start(7, draw);
    await flush();
    // The first chunk's commit failed: nothing more is reported until the timer fires.
    expect(reported).toEqual(['commit', 'rows -3,-1,-4', 'commit']);
    expect(timers.size).toBe(1);
    fireTimers();
    await flush();
    expect(timers.size).toBe(1);
    fireTimers();
    await rewrite.settled();
    expect(reported).toEqual(['commit', 'rows -3,-1,-4', 'commit', 'commit', 'commit', 'rows -2,-5', 'commit', 'done 1', 'commit']);
    expect(timers.size).toBe(0);
  });

  test('close stops it at once, even asleep before a retry, and leaves the record for the next start', async () => {
    const { rewrite, reported, timers, fail } = harness(2);
    fail(1);
    rewrite.start(7, draw);
    await flush();
    expect(timers.size).toBe(1);
    await rewrite.close();
    expect(reported).toEqual(['commit']);
    expect(timers.size).toBe(0);
  });
});
