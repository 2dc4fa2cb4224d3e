/**
 * Money, times and durations for people, in the page's language. Times are
 * shown in the venue's time zone (Asia/Seoul unless a concert names another)
 * and say which zone they are in: a buyer abroad must not misread a start time.
 */

import { lang, locale, t } from './i18n.js';

export const DEFAULT_TIME_ZONE = 'Asia/Seoul';

const cache = new Map();
function formatter(kind, options) {
  const key = `${kind}|${locale()}|${options.timeZone ?? ''}`;
  if (!cache.has(key)) cache.set(key, new Intl.DateTimeFormat(locale(), options));
  return cache.get(key);
}

const groups = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Korean: "55,000원"; English: "₩55,000". */
export const formatMoney = (amount) => (lang() === 'ko' ? `${groups.format(amount)}원` : `₩${groups.format(amount)}`);

/** "₩55,000 ~ ₩154,000", or one price when every seat costs the same. */
export const formatPriceRange = (min, max) => (min === max ? formatMoney(min) : `${formatMoney(min)} ~ ${formatMoney(max)}`);

/** The zone's name for people: "한국 시간" / "Seoul time", else the short zone name Intl gives. */
function zoneLabel(timeZone) {
  const named = t(`zone.${timeZone}`);
  if (named !== `zone.${timeZone}`) return named;
  const part = new Intl.DateTimeFormat(locale(), { timeZone, timeZoneName: 'short' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
  return part ? part.value : timeZone;
}

/** "2026년 12월 7일 (월) 오후 7:00 (한국 시간)" / "Mon, Dec 7, 2026, 7:00 PM (Seoul time)". */
export function formatDate(iso, timeZone = DEFAULT_TIME_ZONE) {
  const date = formatter('date', { timeZone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: 'numeric', minute: '2-digit' }).format(new Date(iso));
  return `${date} (${zoneLabel(timeZone)})`;
}

/** A moment today or soon, e.g. an opening time: "오후 7:00 (한국 시간)" / "7:00 PM (Seoul time)", with the day when not today. */
export function formatTime(iso, timeZone = DEFAULT_TIME_ZONE) {
  const at = new Date(iso);
  const day = formatter('day', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
  if (day.format(at) !== day.format(new Date())) return formatDate(iso, timeZone);
  return `${formatter('time', { timeZone, hour: 'numeric', minute: '2-digit' }).format(at)} (${zoneLabel(timeZone)})`;
}

/** "Seat 5", "Seats 5 and 7" / "5번 좌석", "5, 7번 좌석". */
export function formatSeatList(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const and = lang() === 'ko' ? ', ' : ' and ';
  const list = sorted.length === 1 ? String(sorted[0]) : `${sorted.slice(0, -1).join(', ')}${and}${sorted[sorted.length - 1]}`;
  return t('seat.list', { count: sorted.length, list });
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
  if (!Number.isFinite(seconds) || seconds < 0) return t('queue.measuring');
  if (seconds < 10) return t('eta.less10');
  if (seconds < 60) return t('eta.seconds', { n: Math.round(seconds / 5) * 5 });
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return t('eta.minutes', { n: minutes });
  return t('eta.hours', { n: Math.round(minutes / 60) });
}

/** A booking number people can read out: "T00000042" (ids are opaque: a non-numeric one is shown as it is). */
export const bookingNumber = (id) => (/^\d+$/.test(String(id)) ? `T${String(id).padStart(8, '0')}` : String(id).toUpperCase());
