/**
 * Exact waiting-room positions from the `queue:tick` broadcast (PROTOCOL.md,
 * "Live positions: one broadcast per tick"). The server sends one message per
 * tick to everyone waiting; each client keeps its own position with it:
 *
 *   if t.tick <= tick: ignore                      // already counted
 *   if t.tick > tick + 1: resync with queue:status // missed one
 *   position -= t.admitted + count(x in t.left where x < ticket)
 *   tick = t.tick; eta = position * t.etaSecondsPerPosition
 *
 * One file for browsers (<script src="/queue-position.js"> → window.QueuePosition)
 * and Node (require): no dependencies, no build step. The server's tests
 * check it against the server's own positions.
 */
(function (root, factory) {
  var api = factory();
  if (typeof module === 'object' && module && module.exports) module.exports = api;
  else root.QueuePosition = api;
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  var MAX_BUFFERED = 256;

  /**
   * One step of the formula. `entry` is a QueueStatus (or the entry a previous
   * step returned); it is not modified.
   * Returns {kind: 'applied' | 'stale' | 'gap', entry}: 'stale' and 'gap' return
   * the entry unchanged, and 'gap' means "ask queue:status again".
   * A position that reaches 0 means the user was admitted at this tick; the
   * `queue:admitted` push with `expiresAt` follows.
   */
  function applyTick(entry, t) {
    if (t.tick <= entry.tick) return { kind: 'stale', entry: entry };
    if (t.tick > entry.tick + 1) return { kind: 'gap', entry: entry };
    var ahead = 0;
    for (var i = 0; i < t.left.length; i++) if (t.left[i] < entry.ticket) ahead++;
    var position = Math.max(0, entry.position - t.admitted - ahead);
    var next = {};
    for (var key in entry) if (Object.prototype.hasOwnProperty.call(entry, key)) next[key] = entry[key];
    next.position = position;
    next.tick = t.tick;
    next.waiting = t.waiting;
    if (t.paused !== undefined) next.paused = t.paused;
    // Paused: no estimate (null) until admissions resume.
    next.etaSeconds = t.etaSecondsPerPosition === null ? null : Math.ceil(position * t.etaSecondsPerPosition);
    return { kind: 'applied', entry: next };
  }

  /**
   * Keeps one waiter's position. Ticks that arrive before the first status, or
   * after a gap, are kept and applied on top of the next `reset(status)`, so
   * none is lost or counted twice.
   *
   *   var tracker = QueuePosition.createTracker();
   *   socket.on('queue:tick', function (t) {
   *     if (tracker.onTick(t) === 'gap') socket.emit('queue:status', { queueToken: token }, function (r) { if (r.ok) tracker.reset(r.data); });
   *   });
   *   socket.emit('queue:join', { concertId: 1 }, function (r) { if (r.ok) tracker.reset(r.data); });
   */
  function createTracker(status) {
    var entry = null;
    var pending = [];

    function onTick(t) {
      if (entry && t.concertId !== entry.concertId) return 'ignored';
      // Pre-queued (no ticket until the opening's draw): keep ticks for the status the draw pushes.
      if (!entry || (entry.status === 'WAITING' && entry.ticket === null)) return buffer(t);
      if (entry.status !== 'WAITING') return 'ignored';
      var step = applyTick(entry, t);
      if (step.kind === 'gap') buffer(t);
      entry = step.entry;
      return step.kind;
    }

    function buffer(t) {
      pending.push(t);
      if (pending.length > MAX_BUFFERED) pending.shift();
      return 'buffered';
    }

    /** Takes an authoritative QueueStatus (join, status, reconnect) and replays newer kept ticks. */
    function reset(s) {
      entry = {
        concertId: s.concertId,
        status: s.status,
        ticket: s.ticket,
        opensAt: s.opensAt,
        paused: s.paused,
        tick: s.tick,
        position: s.position,
        waiting: s.waiting,
        etaSeconds: s.etaSeconds,
      };
      if (s.expiresAt !== undefined) entry.expiresAt = s.expiresAt;
      var kept = pending.sort(function (a, b) { return a.tick - b.tick; });
      pending = [];
      for (var i = 0; i < kept.length; i++) {
        if (kept[i].tick > entry.tick + 1) {
          pending = kept.slice(i);
          break;
        }
        onTick(kept[i]);
      }
      return entry;
    }

    if (status) reset(status);
    return {
      onTick: onTick,
      reset: reset,
      /** The tracked entry (null before the first status). */
      get entry() { return entry; },
      get position() { return entry ? entry.position : null; },
    };
  }

  return { applyTick: applyTick, createTracker: createTracker };
});
