/**
 * Shares reads of one key among concurrent callers, with one rule: every
 * caller gets a read that started after it asked. A watcher joins the date's
 * room and then asks for the snapshot; a read begun before it joined could
 * miss a delta committed in between, so it waits for the next read instead.
 * At most one read per key runs and one more waits, however many ask.
 */
export class FreshReads<K, V> {
  private readonly running = new Map<K, Promise<V>>();
  private readonly waiting = new Map<K, Promise<V>>();

  constructor(private readonly load: (key: K) => Promise<V>) {}

  read(key: K): Promise<V> {
    const waiting = this.waiting.get(key);
    if (waiting) return waiting;
    const running = this.running.get(key);
    if (!running) return this.start(key);
    const next = running
      .catch(() => undefined)
      .then(() => {
        this.waiting.delete(key);
        return this.start(key);
      });
    this.waiting.set(key, next);
    return next;
  }

  private start(key: K): Promise<V> {
    const read = this.load(key).finally(() => {
      if (this.running.get(key) === read) this.running.delete(key);
    });
    this.running.set(key, read);
    return read;
  }
}
