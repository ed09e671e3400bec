/**
 * JSON as Flink's Jackson writes it, where JavaScript's JSON.stringify differs: a Java `long` beyond 2^53 (a
 * bigint here, e.g. Long.MAX_VALUE for "no periodic checkpoints") is written digit for digit instead of being
 * rounded out of range, and a NaN double is the string "NaN" (Jackson's default) instead of null.
 */
const MARK = '\u0000javalong:';

export function stringifyJava(body: unknown): string {
  const text = JSON.stringify(body ?? {}, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${MARK}${v.toString()}`;
    if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
    return v;
  });
  // The marker starts with NUL, which JSON.stringify escapes as \u0000: it cannot occur in any other string.
  return text.replace(/"\\u0000javalong:(-?\d+)"/g, '$1');
}
