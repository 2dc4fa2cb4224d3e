import type { Logger } from '../../logger';
import type { SessionRepository } from '../../models/session-repository';
import { Ticker } from '../../timers/ticker';

export interface SessionPurgeOptions {
  sessions: Pick<SessionRepository, 'purge'>;
  log: Logger;
  /** 0: never purge. */
  intervalSeconds: number;
  afterHours: number;
  batch: number;
}

// A backlog (the first run after an upgrade) is worked off over several runs, so one run never
// holds a connection for long.
const MAX_BATCHES_PER_RUN = 100;

/**
 * Session rows are never needed once dead: a row expired or revoked more than
 * `afterHours` ago is deleted, in batches, every `intervalSeconds`, on every
 * instance (the batches skip each other's rows). The first run is one
 * interval after start, so a restart loop cannot turn into a purge loop.
 */
export class SessionPurge {
  private readonly ticker?: Ticker;

  constructor(private readonly options: SessionPurgeOptions) {
    if (options.intervalSeconds > 0) {
      this.ticker = new Ticker(options.intervalSeconds * 1000, async () => void (await this.run()), (err) => options.log.warn({ err }, 'session purge failed; retried at the next interval'));
    }
  }

  start(): void {
    this.ticker?.start();
  }

  stop(): Promise<void> {
    return this.ticker?.stop() ?? Promise.resolve();
  }

  /** One run: batches until one comes back short; resolves with the rows deleted. */
  async run(): Promise<number> {
    const { sessions, afterHours, batch, log } = this.options;
    let deleted = 0;
    for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
      const n = await sessions.purge(afterHours, batch);
      deleted += n;
      if (n < batch) break;
    }
    if (deleted > 0) log.info({ deleted }, 'purged dead sessions');
    return deleted;
  }
}
