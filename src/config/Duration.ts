import { FlinkError } from '../core/FlinkError.js';

/** What a duration should look like, for error messages. */
export const DURATION_EXPECTED = "a duration such as '10 s', '1 min' or '500 ms'";

// Unit labels as accepted by Flink's TimeUtils (plus 'us', an ASCII spelling of 'µs'), in milliseconds.
const UNIT_MS = new Map<string, number>();
for (const [ms, labels] of [
  [1e-6, ['ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds']],
  [1e-3, ['us', 'µs', 'micro', 'micros', 'microsecond', 'microseconds']],
  [1, ['ms', 'milli', 'millis', 'millisecond', 'milliseconds']],
  [1000, ['s', 'sec', 'secs', 'second', 'seconds']],
  [60_000, ['m', 'min', 'minute', 'minutes']],
  [3_600_000, ['h', 'hour', 'hours']],
  [86_400_000, ['d', 'day', 'days']],
] as const) {
  for (const label of labels) UNIT_MS.set(label, ms);
}

/** Milliseconds, or undefined when `text` is not a duration. Like Flink, only whole non-negative amounts. */
export function tryParseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*(\p{L}*)$/u.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  const unit = m[2] === '' ? 1 : UNIT_MS.get(m[2]);
  if (unit === undefined) return undefined;
  const amount = Number(m[1]);
  // Whole units multiply exactly; sub-millisecond units divide so 1000 us is exactly 1 ms.
  const ms = unit >= 1 ? amount * unit : amount / Math.round(1 / unit);
  return ms <= Number.MAX_SAFE_INTEGER ? ms : undefined;
}

/** Parses a Flink duration (`10 s`, `1min`, `500`) into milliseconds; a bare number means milliseconds. */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined) throw new FlinkError('config', `Invalid duration '${text}': expected ${DURATION_EXPECTED}`);
  return ms;
}

const FORMAT_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000], ['ms', 1],
];

/** Formats with the largest unit that represents `ms` exactly, like Flink's TimeUtils.formatWithHighestUnit. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`not a duration: ${ms}`);
  if (ms === 0) return '0 ms';
  for (const [label, size] of FORMAT_UNITS) {
    if (ms % size === 0) return `${ms / size} ${label}`;
  }
  const us = ms * 1000;
  return Number.isInteger(us) ? `${us} us` : `${Math.round(ms * 1e6)} ns`;
}
