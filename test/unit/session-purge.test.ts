import pino from 'pino';
import { SessionPurge } from '../../src/modules/accounts/session-purge';

/** A store of `dead` purgeable rows that records each statement's size. */
function fakeSessions(dead: number) {
  const calls: number[] = [];
  return {
    calls,
    purge(_afterHours: number, limit: number) {
      const n = Math.min(limit, dead);
      dead -= n;
      calls.push(n);
      return Promise.resolve(n);
    },
  };
}

const log = pino({ level: 'silent' });

afterEach(() => jest.useRealTimers());

describe('SessionPurge', () => {
  it('deletes in batches until a batch comes back short', async () => {
    const sessions = fakeSessions(25);
    const purge = new SessionPurge({ sessions, log, intervalSeconds: 60, afterHours: 24, batch: 10 });
    expect(await purge.run()).toBe(25);
    expect(sessions.calls).toEqual([10, 10, 5]);
  });

  it('leaves a backlog past 100 batches to the next run', async () => {
    const sessions = fakeSessions(1_050);
    const purge = new SessionPurge({ sessions, log, intervalSeconds: 60, afterHours: 24, batch: 10 });
    expect(await purge.run()).toBe(1_000);
    expect(await purge.run()).toBe(50);
  });

  it('runs one interval after start and every interval after, and never once stopped', async () => {
    jest.useFakeTimers();
    const sessions = fakeSessions(0);
    const purge = new SessionPurge({ sessions, log, intervalSeconds: 60, afterHours: 24, batch: 10 });
    purge.start();
    await jest.advanceTimersByTimeAsync(59_999);
    expect(sessions.calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sessions.calls).toHaveLength(2);
    await purge.stop();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(sessions.calls).toHaveLength(2);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('with an interval of 0 never runs', async () => {
    jest.useFakeTimers();
    const sessions = fakeSessions(5);
    const purge = new SessionPurge({ sessions, log, intervalSeconds: 0, afterHours: 24, batch: 10 });
    purge.start();
    await jest.advanceTimersByTimeAsync(86_400_000);
    expect(sessions.calls).toHaveLength(0);
    await purge.stop();
  });
});
