// @ts-check
/** How numbers look on the page; "—" wherever the JobManager did not report a value. */

export const NONE = '—';

/** @param {unknown} v */
export const known = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** @param {unknown} ms */
export function duration(ms) {
  if (!known(ms)) return NONE;
  const n = /** @type {number} */ (ms);
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(n / 1000);
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  if (d > 0) return `${d}d ${hh}h ${mm}m`;
  if (hh > 0) return `${hh}h ${mm}m ${ss}s`;
  return `${mm}m ${ss}s`;
}

/** Flink's web UI humanizes bytes in powers of 1024. @param {unknown} b */
export function bytes(b) {
  if (!known(b)) return NONE;
  const n = /** @type {number} */ (b);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** @param {unknown} ts */
export function time(ts) {
  if (!known(ts) || ts === 0) return NONE;
  const d = new Date(/** @type {number} */ (ts));
  const p = (/** @type {number} */ x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** @param {unknown} v */
export function num(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return NONE;
  return v >= 100 || Number.isInteger(v) ? Math.round(v).toLocaleString('en') : v.toFixed(1);
}

/** @param {unknown} v */
export function text(v) {
  return v === undefined || v === null || v === '' ? NONE : String(v);
}

/** Flink reports "no watermark yet" as Long.MIN_VALUE. @param {unknown} v */
export function watermark(v) {
  const n = Number(v);
  if (v === undefined || v === null || !Number.isFinite(n) || n <= -9.2e18) return 'No Watermark';
  if (n >= 9.2e18) return 'End of input'; // Long.MAX_VALUE: every window has fired
  return time(n);
}
