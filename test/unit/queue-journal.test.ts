import type { QueueRows, StoredEntry } from '../../src/models/queue-entry-repository';
import { JournalWriter } from '../../src/rooms/queue/queue-journal';

// The group-commit scheduler on its own: writes are promises this test settles by hand, so the
// order of events (a change made while a write is in flight, a write that fails) is exact.
interface Write {
  rows: QueueRows;
  settle(err?: Error): void;
}

function writer() {
  const writes: Write[] = [];
  const journal = new JournalWriter(
    (rows) =>
      new Promise<void>((resolve, reject) => {
        writes.push({ rows, settle: (err) => (err ? reject(err) : resolve()) });
      }),
  );
  return { journal, writes };
}

const entry = (key: number, status: StoredEntry['status'] = 'WAITING'): StoredEntry => ({ key, userId: key, status, early: false, inLine: true });
const flush = () => new Promise((r) => setImmediate(r));
function tracked(p: Promise<void>) {
  const t = { done: false, failed: false };
  p.then(
    () => (t.done = true),
    () => (t.failed = true),
  );
  return t;
}

describe('queue journal (group commit)', () => {
  test('changes made while a write is in flight go together in the next one, each caller answered when its own write commits', async () => {
    const { journal, writes } = writer();
    journal.entry(1, entry(1));
    const first = tracked(journal.committed());
    journal.entry(1, entry(2));
    journal.entry(1, entry(3));
    journal.entry(1, entry(2, 'EXPIRED'));
    const second = tracked(journal.committed());
    const third = tracked(journal.committed());
    expect(writes).toHaveLength(1);
    writes[0]?.settle();
    await flush();
    expect(first.done).toBe(true);
    expect(second.done).toBe(false);
    // One write for both, and entry 2 only in its latest state.
    expect(writes).toHaveLength(2);
    expect(writes[1]?.rows.entries.map((e) => [e.entry.key, e.entry.status])).toEqual([
      [2, 'EXPIRED'],
      [3, 'WAITING'],
    ]);
    writes[1]?.settle();
    await flush();
    expect([second.done, third.done]).toEqual([true, true]);
  });

  test('a caller whose change is already in the write in flight waits for that write only, not for later ones', async () => {
    const { journal, writes } = writer();
    journal.entry(1, entry(1));
    journal.entry(1, entry(2));
    const a = tracked(journal.committed());
    const b = tracked(journal.committed()); // its change went with a's
    journal.entry(1, entry(3));
    const c = tracked(journal.committed());
    writes[0]?.settle();
    await flush();
    expect([a.done, b.done, c.done]).toEqual([true, true, false]);
    writes[1]?.settle();
    await flush();
    expect(c.done).toBe(true);
  });

  test('a failed write fails its callers and those behind it; its changes go again with the next write, under newer ones', async () => {
    const { journal, writes } = writer();
    journal.entry(1, entry(1));
    journal.entry(1, entry(2));
    const a = tracked(journal.committed());
    journal.entry(1, entry(2, 'EXPIRED'));
    const b = tracked(journal.committed());
    writes[0]?.settle(new Error('connection terminated'));
    await flush();
    expect([a.failed, b.failed]).toEqual([true, true]);
    expect(writes).toHaveLength(1);
    const retry = tracked(journal.committed());
    expect(writes[1]?.rows.entries.map((e) => [e.entry.key, e.entry.status]).sort()).toEqual([
      [1, 'WAITING'],
      [2, 'EXPIRED'],
    ]);
    writes[1]?.settle();
    await flush();
    expect(retry.done).toBe(true);
    expect(tracked(journal.committed())).toBeDefined();
    expect(writes).toHaveLength(2);
  });

  test('a row PostgreSQL refuses (not an outage) is dropped alone: the rest of its batch is written, and later writes are not blocked by it', async () => {
    const written: number[] = [];
    const refused: number[] = [];
    const refuses = new Error('violates foreign key constraint');
    const journal = new JournalWriter(
      async (rows) => {
        if (rows.entries.some((e) => e.entry.key === 13)) throw refuses;
        written.push(...rows.entries.map((e) => e.entry.key));
      },
      { retryable: (err) => err !== refuses, onRefused: (_err, rows) => refused.push(...rows.entries.map((e) => e.entry.key)) },
    );
    journal.entry(1, entry(12));
    journal.entry(1, entry(13));
    journal.entry(1, entry(14));
    await expect(journal.committed()).rejects.toBe(refuses);
    expect(written.sort()).toEqual([12, 14]);
    expect(refused).toEqual([13]);
    journal.entry(1, entry(15));
    await journal.committed();
    expect(written).toContain(15);
  });

  test('a drawn entry keeps its pre-queue key when a later state of it, reported without the key, lands before the write, or after a failed one', async () => {
    const { journal, writes } = writer();
    journal.drawn(1, { first: 1, keys: Int32Array.from([-2, -1]) });
    const recorded = tracked(journal.committed());
    expect(writes[0]?.rows.draws).toEqual([{ concertId: 1, draw: { first: 1, keys: Int32Array.from([-2, -1]) } }]);
    expect(writes[0]?.rows.entries).toEqual([]);
    writes[0]?.settle();
    await flush();
    expect(recorded.done).toBe(true);
    // The rewrite's chunk, then the tick admits ticket 1 before the chunk is written.
    journal.entry(1, { ...entry(1), preKey: -2 });
    journal.dropped(1, -2);
    journal.entry(1, entry(1, 'ACTIVE'));
    const chunk = tracked(journal.committed());
    writes[1]?.settle(new Error('connection lost'));
    await flush();
    expect(chunk.failed).toBe(true);
    // Newer again after the failure: the retry carries the newest state with the key.
    journal.entry(1, entry(1, 'EXPIRED'));
    journal.drawDone(1, 1);
    const retry = tracked(journal.committed());
    expect(writes[2]?.rows.entries.map((e) => [e.entry.key, e.entry.status, e.entry.preKey])).toEqual([[1, 'EXPIRED', -2]]);
    expect(writes[2]?.rows.dropped).toEqual([{ concertId: 1, key: -2 }]);
    expect(writes[2]?.rows.drawsDone).toEqual([{ concertId: 1, first: 1 }]);
    writes[2]?.settle();
    await flush();
    expect(retry.done).toBe(true);
  });
});
