import type { StoredConcert, StoredEntry } from '../../models/queue-entry-repository';

/**
 * A stored room with its recorded draws applied: every entry the draw gave a ticket is under
 * that ticket, whether or not its row had moved before the process stopped. A row already
 * under its ticket is the newer state (changes after the draw are written there) and wins over
 * the pre-queue key's row; a row still under its key is the entry as the draw left it, waiting
 * in the line. Applying a draw twice changes nothing.
 */
export function applyDraws(stored: StoredConcert): StoredConcert {
  if (stored.draws.length === 0) return stored;
  const byKey = new Map<number, StoredEntry>(stored.entries.map((e) => [e.key, e]));
  let seq = stored.room.seq;
  for (const { first, keys } of stored.draws) {
    keys.forEach((preKey, i) => {
      const ticket = first + i;
      const moved = byKey.get(ticket);
      const waiting = byKey.get(preKey);
      byKey.delete(preKey);
      if (moved) byKey.set(ticket, { ...moved, preKey });
      else if (waiting) byKey.set(ticket, { ...waiting, key: ticket, preKey, early: false, inLine: waiting.status === 'WAITING' });
    });
    // The room row went in the draw's write; this only guards a ticket from being issued twice.
    seq = Math.max(seq, first + keys.length - 1);
  }
  return { ...stored, room: { ...stored.room, seq }, entries: [...byKey.values()] };
}
