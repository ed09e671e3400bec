/**
 * The rate after the warm-up: each sink subtask's records after its first third, over the time they took, summed
 * over the subtasks (they run side by side and end within milliseconds of each other). The first third holds the
 * start-up that a whole-run rate counts in: the JIT warming up in each worker (one isolate per worker, so p=2
 * compiles everything twice and on the cores that run the records), the first pass over the keys (every key
 * inserted, the tables growing) and the first old-space collections. Both engines' sinks note the time at every
 * MARK_EVERY records (bench/lib/MetricsSink.ts, jvm/flink-bench MetricsSink.java), so both are measured alike.
 */
export const MARK_EVERY = 1 << 18;

export interface MarkedReport {
  count: number;
  last: number;
  /** The time at which the count reached each multiple of MARK_EVERY. */
  marks?: number[];
}

/** Records per second after each subtask's first third, or undefined when a subtask saw too few records to tell. */
export function steadyRate(reports: MarkedReport[]): number | undefined {
  let rate = 0;
  for (const r of reports) {
    if (r.count === 0) continue;
    const k = Math.ceil(r.count / 3 / MARK_EVERY); // the first mark at or after a third
    const at = r.marks?.[k - 1];
    const after = r.count - k * MARK_EVERY;
    if (at === undefined || after < MARK_EVERY || r.last <= at) return undefined;
    rate += after / ((r.last - at) / 1000);
  }
  return rate > 0 ? rate : undefined;
}
