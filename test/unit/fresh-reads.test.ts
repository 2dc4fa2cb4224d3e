import { FreshReads } from '../../src/rooms/cluster/fresh-reads';

/** A loader whose reads finish when the test says so. */
function manualLoader() {
  const calls: { key: string; finish(v: number): void; fail(e: Error): void }[] = [];
  const load = (key: string) =>
    new Promise<number>((resolve, reject) => calls.push({ key, finish: resolve, fail: reject }));
  return { calls, load };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('FreshReads', () => {
  it('gives callers that ask while no read runs one shared read', async () => {
    const { calls, load } = manualLoader();
    const reads = new FreshReads(load);
    const a = reads.read('d1');
    expect(calls).toHaveLength(1);
    calls[0]!.finish(7);
    await expect(a).resolves.toBe(7);
  });

  it('never hands a caller a read that started before it asked', async () => {
    const { calls, load } = manualLoader();
    const reads = new FreshReads(load);
    const early = reads.read('d1');
    const late1 = reads.read('d1');
    const late2 = reads.read('d1');
    expect(calls).toHaveLength(1);

    calls[0]!.finish(1);
    await expect(early).resolves.toBe(1);
    await flush();
    // The late callers share the next read, started after the first finished.
    expect(calls).toHaveLength(2);
    calls[1]!.finish(2);
    await expect(late1).resolves.toBe(2);
    await expect(late2).resolves.toBe(2);
  });

  it('keeps keys apart and starts afresh after a failed read', async () => {
    const { calls, load } = manualLoader();
    const reads = new FreshReads(load);
    const one = reads.read('d1');
    const other = reads.read('d2');
    const waiting = reads.read('d1');
    expect(calls.map((c) => c.key)).toEqual(['d1', 'd2']);

    calls[0]!.fail(new Error('connection lost'));
    await expect(one).rejects.toThrow('connection lost');
    await flush();
    expect(calls.map((c) => c.key)).toEqual(['d1', 'd2', 'd1']);
    calls[2]!.finish(3);
    calls[1]!.finish(4);
    await expect(waiting).resolves.toBe(3);
    await expect(other).resolves.toBe(4);
    const after = reads.read('d1');
    expect(calls).toHaveLength(4);
    calls[3]!.finish(5);
    await expect(after).resolves.toBe(5);
  });
});
