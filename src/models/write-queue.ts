import { connectionLost } from './prepared';

/**
 * Group commit for statements that stand alone (charges, key claims, session
 * reads): what arrives while one is in flight goes out together in the next, one at a time,
 * and each caller hears its own answer. `write` answers per item, in order —
 * a value, or an Error for that item alone; if it throws, every item of the
 * batch is refused with that error.
 */
export class WriteQueue<I, O> {
  private queue: { item: I; resolve(value: O): void; reject(err: unknown): void }[] = [];
  private running = false;

  constructor(
    private readonly write: (items: I[]) => Promise<(O | Error)[]>,
    private readonly maxBatch = 256,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.running) return;
      this.running = true;
      // After the current I/O phase, so items that arrived together share the first write.
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const answers = await this.write(batch.map((p) => p.item));
        batch.forEach((p, i) => {
          const answer = answers[i];
          if (answer instanceof Error) p.reject(answer);
          else if (answer === undefined) p.reject(new Error('the write gave no answer for this item'));
          else p.resolve(answer);
        });
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.running = false;
  }
}

export const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * A batch's write; if PostgreSQL refuses it for anything but a lost connection (a row it will not
 * take, a deadlock), each item alone, one after another — so one bad item fails only itself and
 * the retry never holds more than one connection. A lost connection fails the batch: alone, each
 * would fail the same way.
 */
export async function batchOrEachAlone<I, O>(
  items: I[],
  all: () => Promise<(O | Error)[]>,
  one: (item: I) => Promise<O | Error>,
): Promise<(O | Error)[]> {
  try {
    return await all();
  } catch (err) {
    if (connectionLost(err)) throw err;
    const alone: (O | Error)[] = [];
    for (const item of items) alone.push(await one(item).catch(asError));
    return alone;
  }
}
