/**
 * A waiter's own exact place in line, kept from one `queue:tick` broadcast per
 * tick (PROTOCOL.md "Live positions"):
 *
 *   if t.tick <= tick: ignore                      // already counted
 *   if t.tick > tick + 1: resync with queue:status // missed one
 *   position -= t.admitted + count(x in t.left where x < ticket)
 *   tick = t.tick; eta = position * t.etaSecondsPerPosition
 *
 * Ticks that arrive while a queue:status is in flight are buffered and applied
 * on top of its answer (those newer than its `tick`), so none is lost or
 * counted twice.
 */

/** The protocol formula, used until the server's shared public/queue-position.js is loaded. */
export function applyTickInline(entry, t) {
  if (t.tick <= entry.tick) return { kind: 'stale', entry };
  if (t.tick > entry.tick + 1) return { kind: 'gap', entry };
  const leftAhead = t.left.reduce((n, x) => (x < entry.ticket ? n + 1 : n), 0);
  const position = entry.position - t.admitted - leftAhead;
  return {
    kind: 'applied',
    entry: { ...entry, position, tick: t.tick, waiting: t.waiting, etaSeconds: Math.max(0, position) * t.etaSecondsPerPosition },
  };
}

/**
 * @param {object} options
 * @param {() => Promise<object>} options.resync    calls queue:status, resolves a QueueStatus
 * @param {(entry: object) => void} options.onChange called after every change of the entry
 * @param {(err: unknown) => void} options.onError   a resync failed
 * @param {(entry: object, tick: object) => {kind: string, entry: object}} [options.step]
 */
export function createQueueTracker({ resync, onChange, onError, step = applyTickInline }) {
  let entry = null;
  let resyncing = false;
  let buffered = [];

  const setEntry = (next) => {
    entry = next;
    onChange(entry);
  };

  /** Replace the entry with an authoritative QueueStatus (join, status, reconnect). */
  function reset(status) {
    const next = {
      concertId: status.concertId,
      status: status.status,
      ticket: status.ticket,
      tick: status.tick,
      position: status.position,
      waiting: status.waiting,
      etaSeconds: status.etaSeconds,
      expiresAt: status.expiresAt,
    };
    setEntry(next);
  }

  function onTick(t) {
    if (!entry || t.concertId !== entry.concertId) {
      if (!entry) buffered.push(t);
      return;
    }
    if (resyncing) {
      buffered.push(t);
      return;
    }
    if (entry.status !== 'WAITING') return;
    const result = step(entry, t);
    if (result.kind === 'stale') return;
    if (result.kind === 'gap') {
      buffered.push(t);
      void refresh();
      return;
    }
    setEntry(result.entry);
    // Counted past the front: the admission push is on its way (or was lost); ask.
    if (result.entry.position <= 0) void refresh();
  }

  /** Ask the server for the entry (gap, reconnect, reload), applying buffered ticks on top. */
  async function refresh() {
    if (resyncing) return;
    resyncing = true;
    try {
      const status = await resync();
      if (status) reset(status);
    } catch (err) {
      onError(err);
    } finally {
      resyncing = false;
    }
    const pending = buffered.sort((a, b) => a.tick - b.tick);
    buffered = [];
    if (!entry) return;
    let expected = entry.tick;
    for (const t of pending) {
      if (t.tick <= expected) continue; // already in the status answer
      if (t.tick > expected + 1) break; // still a hole: the next tick will resync
      onTick(t);
      expected = t.tick;
    }
  }

  /** Mark admitted / expired from a per-user push. */
  function update(fields) {
    if (entry) setEntry({ ...entry, ...fields });
  }

  return {
    reset,
    onTick,
    refresh,
    update,
    get entry() {
      return entry;
    },
    clear() {
      entry = null;
      buffered = [];
    },
  };
}
