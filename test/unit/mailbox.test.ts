import { Mailbox } from '../../src/rooms/date/mailbox';

describe('Mailbox', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('never lets one batch interleave another, however long a drain awaits', async () => {
    const events: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    // Counted, not asserted, in here: the mailbox swallows whatever a drain throws, an expect failing included.
    const mailbox = new Mailbox<number>(async (batch) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      events.push(`start ${batch.join(',')}`);
      await new Promise((r) => setTimeout(r, 100));
      events.push(`end ${batch.join(',')}`);
      running -= 1;
    });
    mailbox.post(1);
    mailbox.post(2);
    await jest.advanceTimersByTimeAsync(10);
    mailbox.post(3);
    mailbox.post(4);
    await jest.advanceTimersByTimeAsync(500);
    await mailbox.whenIdle();
    expect(events).toEqual(['start 1,2', 'end 1,2', 'start 3,4', 'end 3,4']);
    expect(mostAtOnce).toBe(1);
  });

  it('hands messages that arrive together to one drain (group commit), bounded by maxBatch', async () => {
    const batches: number[][] = [];
    const mailbox = new Mailbox<number>(async (batch) => {
      batches.push(batch);
    }, 3);
    for (let i = 0; i < 7; i++) mailbox.post(i);
    await jest.advanceTimersByTimeAsync(1);
    await mailbox.whenIdle();
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('keeps going after a drain that throws', async () => {
    const seen: number[] = [];
    const mailbox = new Mailbox<number>(async (batch) => {
      seen.push(...batch);
      if (batch.includes(1)) throw new Error('boom');
    });
    mailbox.post(1);
    await jest.advanceTimersByTimeAsync(1);
    mailbox.post(2);
    await jest.advanceTimersByTimeAsync(1);
    await mailbox.whenIdle();
    expect(seen).toEqual([1, 2]);
    expect(jest.getTimerCount()).toBe(0);
  });
});
