/**
 * Flink's StatsSummary: minimum, maximum and average over every value since the job started, and quantiles
 * over a window of the latest values (Flink keeps 10,000 in a histogram; quantiles as commons-math's
 * Percentile computes them by default). With no values yet, min/max/avg are 0 and the quantiles NaN, as in Flink.
 */
export interface StatsSummarySnapshot {
  count: number;
  min: number;
  max: number;
  /** Integer average (Flink's is sum / count in long arithmetic). */
  avg: number;
  quantile(q: number): number;
}

export const HISTOGRAM_WINDOW_SIZE = 10_000;

export class StatsSummary {
  private count = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly window: number[] = [];
  private next = 0;

  constructor(private readonly windowSize = HISTOGRAM_WINDOW_SIZE) {}

  add(value: number): void {
    // Flink ignores negative values (unknown sizes and durations are reported as -1).
    if (!(value >= 0)) return;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.window.length < this.windowSize) this.window.push(value);
    else this.window[this.next] = value;
    this.next = (this.next + 1) % this.windowSize;
  }

  snapshot(): StatsSummarySnapshot {
    const sorted = [...this.window].sort((a, b) => a - b);
    const count = this.count;
    return {
      count,
      min: count === 0 ? 0 : this.min,
      max: count === 0 ? 0 : this.max,
      avg: count === 0 ? 0 : Math.floor(this.sum / count),
      quantile: (q) => legacyPercentile(sorted, q * 100),
    };
  }

  /** A summary of the given values at once (per-subtask statistics of one checkpoint). */
  static of(values: Iterable<number>): StatsSummarySnapshot {
    const s = new StatsSummary(Number.MAX_SAFE_INTEGER);
    for (const v of values) s.add(v);
    return s.snapshot();
  }
}

/** commons-math3 Percentile, estimation type LEGACY (its default): position p(n+1)/100, linear in between. */
function legacyPercentile(sorted: number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0]!;
  const pos = (p * (n + 1)) / 100;
  const fpos = Math.floor(pos);
  if (pos < 1) return sorted[0]!;
  if (pos >= n) return sorted[n - 1]!;
  const lower = sorted[fpos - 1]!;
  const upper = sorted[fpos]!;
  return lower + (pos - fpos) * (upper - lower);
}
