import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { FromWorker, ToWorker } from './messages';
import { forkTs, stopChild } from './server-process';

const WORKER = path.join(__dirname, 'worker.ts');

/** The parent's handle on its worker processes: send to all, wait for one message from each. */
export class WorkerPool {
  readonly children: ChildProcess[];
  private readonly listeners = new Set<(m: FromWorker) => void>();
  private failure?: Error;

  constructor(count: number) {
    this.children = Array.from({ length: count }, (_, i) => {
      const child = forkTs(WORKER, [String(i)], { ...process.env, UV_THREADPOOL_SIZE: '2' });
      child.on('message', (m: FromWorker) => {
        if (m.type === 'error') this.fail(new Error(`worker ${m.index}: ${m.message}`));
        for (const l of [...this.listeners]) l(m);
      });
      child.on('exit', (code, signal) => {
        if (code !== 0 && code !== null) this.fail(new Error(`worker ${i} exited with code ${code}${signal ? ` (${signal})` : ''}`));
      });
      return child;
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const l of [...this.listeners]) l({ type: 'error', index: -1, message: err.message });
  }

  on(listener: (m: FromWorker) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(i: number, m: ToWorker): void {
    this.children[i]?.send(m);
  }

  broadcast(m: ToWorker): void {
    for (const c of this.children) c.send(m);
  }

  /** One message of `type` from every worker, ordered by worker index; rejects if a worker fails. */
  collect<T extends FromWorker['type']>(type: T, timeoutMs = 30 * 60_000): Promise<Extract<FromWorker, { type: T }>[]> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const got = new Map<number, Extract<FromWorker, { type: T }>>();
      const timer = setTimeout(() => done(new Error(`workers did not all send ${type} within ${timeoutMs} ms`)), timeoutMs);
      const off = this.on((m) => {
        if (m.type === 'error') return done(this.failure ?? new Error(m.message));
        if (m.type !== type) return;
        got.set(m.index, m as Extract<FromWorker, { type: T }>);
        if (got.size === this.children.length) done();
      });
      const done = (err?: Error) => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve([...got.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m));
      };
    });
  }

  async close(): Promise<void> {
    for (const c of this.children) if (c.connected) c.send({ type: 'close' } satisfies ToWorker);
    await Promise.all(this.children.map((c) => stopChild(c, 5000)));
  }
}
