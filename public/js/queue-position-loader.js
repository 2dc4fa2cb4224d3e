/**
 * The server ships the queue:tick position function as /queue-position.js
 * (window.QueuePosition). Load it when present; otherwise use the protocol
 * formula inline (queue-tracker.js), which computes the same thing.
 */

import { applyTickInline } from './queue-tracker.js';

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(script);
  });
}

/** @returns {Promise<(entry: object, tick: object) => {kind: string, entry: object}>} */
export async function loadQueuePosition() {
  try {
    // A 404 fires the script's error event: the inline formula is used.
    if (!window.QueuePosition) await loadScript('/queue-position.js');
  } catch {
    return applyTickInline;
  }
  return adapt(window.QueuePosition) ?? applyTickInline;
}

/** The shared module's applyTick(entry, tick) → {kind: 'applied' | 'stale' | 'gap', entry} is the tracker's step. */
function adapt(shared) {
  return shared && typeof shared.applyTick === 'function' ? (entry, t) => shared.applyTick(entry, t) : null;
}
