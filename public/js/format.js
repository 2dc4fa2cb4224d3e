/** Formatting of money, times and durations for people. */

const won = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'KRW', maximumFractionDigits: 0 });
const when = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

export const formatMoney = (amount) => won.format(amount);
export const formatDate = (iso) => when.format(new Date(iso));

/** "Seat 5", "Seats 5 and 7", "Seats 5, 7 and 9". */
export function formatSeatList(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  if (sorted.length === 1) return `Seat ${sorted[0]}`;
  return `Seats ${sorted.slice(0, -1).join(', ')} and ${sorted[sorted.length - 1]}`;
}

/** A countdown: "4:59", "0:07", "1:02:03". */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A waiting-time estimate: "less than 10 seconds", "about 40 seconds", "about 3 minutes". */
export function formatEta(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return 'calculating…';
  if (seconds < 10) return 'less than 10 seconds';
  if (seconds < 60) return `about ${Math.round(seconds / 5) * 5} seconds`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `about ${Math.round(minutes / 60)} hours`;
}
