/**
 * A waiter's own exact place in line, kept from one `queue:tick` broadcast per
 * tick (PROTOCOL.md "Live positions"). The arithmetic of one tick is the
 * server's shipped QueuePosition.applyTick:
 *
 *   if t.tick <= tick: ignore                      // already counted
 *   if t.tick > tick + 1: resync with queue:status // missed one
 *   position -= t.admitted + count(x in t.left where x < ticket)
 *   tick = t.tick; eta = position * t.etaSecondsPerPosition
 *
 * This module adds the asking: a gap, a reconnect or a reload asks
 * queue:status; ticks that arrive while a queue:join or queue:status is in
 * flight are kept and applied on top of its answer (those newer than its
 * `tick`), so none is lost or counted twice.
 */

const ADMIT_PUSH_GRACE_MS = 3000;
const MAX_KEPT = 256;

/**
 * @param {object} options
 * @param {() => Promise<object>} options.resync    calls queue:status, resolves a QueueStatus
 * @param {(entry: object) => void} options.onChange called after every change of the entry
 * @param {(err: unknown) => void} options.onError   a resync failed
 * @param {(entry: object, tick: object) => {kind: 'applied' | 'stale' | 'gap', entry: object}} options.step
 *   one step of the formula: the server's shared QueuePosition.applyTick (/queue-position.js)
 */
export function createQueueTracker({ resync, onChange, onError, step }) {
  let entry = null;
  let resyncing = false;
  let buffered = [];
  let holding = false; // a queue:join / queue:status is in flight: keep ticks for its answer
  let admitCheck;
  // Admissions seen for this concert: only then is the server's ETA a measurement (see queue-view.js).
  let measured = false;

  const keep = (t) => {
    buffered.push(t);
    if (buffered.length > MAX_KEPT) buffered.shift();
  };

  const setEntry = (next) => {
    entry = next;
    onChange(entry);
  };

  /**
   * Replace the entry with an authoritative QueueStatus (join, status, reconnect),
   * then apply the ticks kept meanwhile that are newer than it.
   */
  function reset(status) {
    holding = false;
    setEntry({
      concertId: status.concertId,
      status: status.status,
      ticket: status.ticket,
      opensAt: status.opensAt,
      paused: status.paused,
      tick: status.tick,
      position: status.position,
      waiting: status.waiting,
      etaSeconds: status.etaSeconds,
      expiresAt: status.expiresAt,
      measured,
    });
    const kept = buffered.filter((t) => t.concertId === status.concertId).sort((a, b) => a.tick - b.tick);
    buffered = [];
    for (const t of kept) {
      if (!entry || entry.status !== 'WAITING') break;
      if (t.tick <= entry.tick) continue; // already counted in the status
      if (t.tick > entry.tick + 1) {
        keep(t); // still a hole: the next tick asks again
        continue;
      }
      onTick(t);
    }
  }

  function onTick(t) {
    // Pre-queued (no ticket until the opening's draw): keep ticks for the status the draw pushes.
    if (resyncing || holding || !entry || (entry.status === 'WAITING' && entry.ticket === null)) {
      keep(t);
      return;
    }
    if (t.concertId !== entry.concertId) return;
    if (entry.status !== 'WAITING') return;
    const result = step(entry, t);
    if (result.kind === 'stale') return;
    if (t.admitted > 0) measured = true;
    if (result.kind === 'gap') {
      keep(t);
      void refresh();
      return;
    }
    setEntry({ ...result.entry, measured });
    // Admitted at this tick: the queue:admitted push follows. Ask only if it does not come.
    if (result.entry.position <= 0) {
      clearTimeout(admitCheck);
      admitCheck = setTimeout(() => {
        if (entry && entry.status === 'WAITING' && entry.position <= 0) void refresh();
      }, ADMIT_PUSH_GRACE_MS);
    }
  }

  /** Ask the server for the entry (gap, reconnect, reload); ticks arriving meanwhile are kept for reset(). */
  async function refresh() {
    if (resyncing) return;
    resyncing = true;
    let status = null;
    try {
      status = await resync();
    } catch (err) {
      onError(err);
    } finally {
      resyncing = false;
    }
    if (status) reset(status);
  }

  /** Mark admitted / expired from a per-user push. */
  function update(fields) {
    if (entry) setEntry({ ...entry, ...fields });
  }

  return {
    /** Call before asking queue:join / queue:status yourself: ticks are kept for the reset() with its answer. */
    hold() {
      holding = true;
    },
    /** The call failed: stop keeping ticks. */
    release() {
      holding = false;
    },
    reset,
    onTick,
    refresh,
    update,
    get entry() {
      return entry;
    },
    clear() {
      clearTimeout(admitCheck);
      entry = null;
      measured = false;
      holding = false;
      buffered = [];
    },
  };
}
