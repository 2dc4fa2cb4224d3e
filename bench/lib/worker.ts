/**
 * A worker process of the load generator (forked by bench/lib/loadtest-run.ts):
 * holds a slice of the buyers' sockets, so no process passes the ~19,900
 * open-file cap, and ships its measurements to the parent over IPC.
 */
import { createHash } from 'node:crypto';
import { Buyer, type BuyerContext } from './buyer';
import { Semaphore, ack, mapLimit, signup, sleep } from './client';
import type { FromWorker, SaleInit, ToWorker, VerifyResult } from './messages';
import { runSocketsWorker } from './sockets-worker';
import { LoadMeter, PhaseStats } from './stats';
import { BlindSeats, type SeatSource } from './watch';

const send = (m: FromWorker) => process.send?.(m);
/** `reservations:mine` lists at most this many, newest first (PROTOCOL.md). */
const RESERVATIONS_LISTED = 100;

let onMessage: (m: ToWorker) => void = () => undefined;
process.on('message', (m: ToWorker) => onMessage(m));
process.on('disconnect', () => process.exit(0));

function fail(index: number, err: unknown): void {
  send({ type: 'error', index, message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}

onMessage = (m) => {
  if (m.type !== 'init') return;
  if (m.role === 'sockets') onMessage = runSocketsWorker(m, send);
  else void sale(m).catch((err: unknown) => fail(m.index, err));
};

async function sale(init: SaleInit): Promise<void> {
  const o = init.options;
  const signupStarted = Date.now();
  const signupErrors: Record<string, number> = {};
  const users = await mapLimit(Array.from({ length: init.count }, (_, i) => init.from + i), o.signupConcurrency, async (g) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return { g, ...(await signup(init.url, `lt-${init.runId}-${g}`)) };
      } catch (err) {
        const key = String(err instanceof Error ? err.message : err).slice(0, 60);
        signupErrors[key] = (signupErrors[key] ?? 0) + 1;
      }
    }
    return undefined;
  });
  const saleStats = new PhaseStats();
  const stormStats = new PhaseStats();
  let stormIds = { concertId: -1, dateId: -1 };
  let stopping = false;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  const ctx: BuyerContext = {
    url: init.url,
    runId: init.runId,
    options: o,
    concertId: init.concertId,
    dates: init.dates,
    t0: 0,
    totalBuyers: init.totalBuyers,
    connects: new Semaphore(Math.max(1, Math.round(o.connectConcurrency / Math.ceil(init.totalBuyers / init.count)))),
    stopped,
    isStopping: () => stopping,
    statsFor: (kind, id) => ((kind === 'concert' ? stormIds.concertId : stormIds.dateId) === id ? stormStats : saleStats),
    sale: saleStats,
  };
  const buyers = users.flatMap((u) => (u ? [new Buyer(u.g, u.id, u.token, ctx)] : []));
  send({ type: 'ready', index: init.index, userIds: buyers.map((b) => b.userId), signupErrors, signupMs: Date.now() - signupStarted });

  const meter = new LoadMeter();
  let progress: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const startProgress = (stats: PhaseStats) => {
    meter.sample();
    meter.samples.length = 0;
    progress = setInterval(() => {
      const done = buyers.filter((b) => b.outcome !== undefined).length;
      send({ type: 'progress', index: init.index, counts: { ...stats.counts, buyers: buyers.length, done }, load: meter.sample(), holdP99: stats.hists.hold.percentile(99) });
    }, 1000);
  };
  const endProgress = () => {
    if (progress) clearInterval(progress);
    meter.sample();
    return meter.summary();
  };

  onMessage = (m) => {
    switch (m.type) {
      case 'start':
        ctx.t0 = m.t0;
        startProgress(saleStats);
        running = Promise.all(buyers.map((b) => b.run()));
        break;
      case 'stop':
        stopping = true;
        stop();
        void running.then(async () => {
          const load = endProgress();
          // Free every waiting-room slot, so the checker and later phases are admitted at once.
          await mapLimit(buyers, 200, async (b) => Promise.all([...b.queues.values()].map((q) => q.leave())));
          send({ type: 'phase', index: init.index, phase: 'sale', data: saleStats.toJSON(), load });
        });
        break;
      case 'storm': {
        stopping = false;
        ctx.stopped = new Promise<void>((r) => (stop = r));
        stormIds = { concertId: m.concertId, dateId: m.dateId };
        startProgress(stormStats);
        const stormers = buyers.filter((b) => b.socket?.connected).slice(0, m.users);
        void Promise.all(stormers.map((b, i) => enterStorm(b, m, i < m.watchers, stormStats, ctx)))
          .then((sessions) => {
            // Everyone admitted and watching: start the clock for all at once.
            const until = Date.now() + m.seconds * 1000;
            return Promise.all(sessions.flatMap((s) => (s ? [storm(s, m.perUserIntervalMs, until, stormStats)] : [])));
          })
          .then(() => send({ type: 'phase', index: init.index, phase: 'storm', data: stormStats.toJSON(), load: endProgress() }));
        break;
      }
      case 'verify':
        void verify(buyers, o.ackTimeoutMs).then((result) => send({ type: 'verified', index: init.index, result }));
        break;
      case 'close':
        for (const b of buyers) b.socket?.close();
        setTimeout(() => process.exit(0), 100);
        break;
      default:
        break;
    }
  };
}

async function enterStorm(b: Buyer, m: { concertId: number; dateId: number; seats: number }, watch: boolean, stats: PhaseStats, ctx: BuyerContext) {
  const q = b.queue(m.concertId);
  const joined = await q.join(ctx.stopped, 0);
  if (joined !== 'ACTIVE') return void stats.count(`storm-join:${joined}`);
  if (!watch) {
    // Blind: random seats, corrected only by SEAT_UNAVAILABLE (conflicts are rare on a big date).
    return { b, q, session: new BlindSeats(m.dateId, m.seats) as SeatSource, ctx };
  }
  const session: SeatSource | undefined = await b.watch(m.dateId, q, stats);
  return session ? { b, q, session, ctx } : undefined;
}

/**
 * Hold one seat, cancel it, repeat: durable date-room commands, either as fast
 * as the server answers (closed loop) or one hold per user every
 * `perUserIntervalMs` (open loop: a fixed offered rate; a turn that comes while
 * the last pair still runs is skipped and counted, so a slow server shows).
 */
async function storm(
  { b, q, session, ctx }: NonNullable<Awaited<ReturnType<typeof enterStorm>>>,
  every: number,
  until: number,
  stats: PhaseStats,
): Promise<void> {
  let next = Date.now() + Math.random() * every;
  while (Date.now() < until) {
    if (every > 0) {
      await sleep(next - Date.now());
      next += every;
      while (next < Date.now()) {
        stats.count('storm-turns-skipped');
        next += every;
      }
    }
    const held = await b.hold(session, q, stats, 1);
    if (typeof held === 'string') return stats.count(`storm-stop:${held}`);
    await b.cancel(held, stats);
  }
  await q.leave();
  if (!ctx.options.stayWatching) await b.unwatchAll();
}

/** The end-of-run view of each buyer: seat maps, wallet and reservations against what it was told. */
async function verify(buyers: Buyer[], timeoutMs: number): Promise<VerifyResult> {
  const result: VerifyResult = { maps: {}, brokenSessions: 0, walletChecked: 0, walletMismatches: [], reservationsChecked: 0, reservationMismatches: [] };
  for (const b of buyers) {
    result.walletMismatches.push(...b.mismatches);
    for (const s of b.sessions.values()) {
      if (!s.ready) continue;
      if (s.broken) {
        result.brokenSessions++;
        continue;
      }
      const print = createHash('sha1').update(s.fingerprint()).digest('hex');
      const byDate = (result.maps[s.dateId] ??= {});
      byDate[print] = (byDate[print] ?? 0) + 1;
    }
  }
  await mapLimit(
    buyers.filter((b) => b.socket?.connected),
    100,
    async (b) => {
      const socket = b.socket;
      if (!socket) return;
      if (b.money.known) {
        const w = await ack(socket, 'wallet:get', {}, timeoutMs);
        if (w.ok) {
          result.walletChecked++;
          const m = b.money;
          const expected = m.charged - m.paid + m.refunded;
          const history = (w.data.history ?? []) as { kind: string; amount: number }[];
          const ledger = history.reduce((s, h) => s + (h.kind === 'PAYMENT' ? -h.amount : h.amount), 0);
          if (w.data.balance !== expected || ledger !== w.data.balance) {
            result.walletMismatches.push(`buyer ${b.g} (user ${b.userId}): balance ${w.data.balance}, history sums to ${ledger}, buyer expects ${expected}`);
          }
        }
      }
      if (b.expected.size === 0) return;
      const r = await ack(socket, 'reservations:mine', {}, timeoutMs);
      if (!r.ok) return;
      result.reservationsChecked++;
      const listed = (r.data.reservations ?? []) as { id: number; status: string }[];
      const byId = new Map<unknown, string>(listed.map((x) => [x.id, x.status]));
      // The API lists a user's newest 100: a storm buyer's older ones are past the end, not lost.
      const oldestListed = listed.length >= RESERVATIONS_LISTED ? Math.min(...listed.map((x) => x.id)) : 0;
      for (const [id, told] of b.expected) {
        if (id < oldestListed) continue;
        // Every hold has lapsed by now (the parent waited past the last expiresAt).
        const status = told === 'HELD' ? 'EXPIRED' : told;
        if (byId.get(id) !== status) result.reservationMismatches.push(`buyer ${b.g}: reservation ${id} is ${byId.get(id) ?? 'missing'}, expected ${status}`);
      }
    },
  );
  result.walletMismatches = result.walletMismatches.slice(0, 20);
  result.reservationMismatches = result.reservationMismatches.slice(0, 20);
  return result;
}
