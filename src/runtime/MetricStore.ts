import { taskKey } from '../core/ids.js';
import type { JobGraph } from '../graph/JobGraph.js';
import type { IOMetrics, SubtaskMetrics } from '../rest/Dispatcher.js';
import type { TaskMetricsReport } from './TaskMetrics.js';

/** Rates are measured over the reports of this long (Flink's MeterView averages over 60 s; a shorter span reacts faster). */
const RATE_WINDOW_MS = 5_000;
/** A subtask whose last report is older than this no longer runs: its rates are 0 (its totals stay). */
const STALE_MS = 3_000;

/**
 * The JobManager's view of its tasks' metrics (Flink's MetricStore, fed by the tasks' periodic reports
 * instead of a fetcher): the latest cumulative counters per subtask of the current attempt, and per-second
 * rates from the reports of the last few seconds.
 */
export class MetricStore {
  private readonly reports = new Map<string, TaskMetricsReport[]>();
  private attempt = 0;

  constructor(private readonly jobGraph: JobGraph) {}

  /** A new attempt (failover): counters start again from 0, as Flink's do for new task executions. */
  reset(attempt: number): void {
    this.attempt = attempt;
    this.reports.clear();
  }

  add(r: TaskMetricsReport): void {
    if (r.attempt !== this.attempt) return; // a late report of a cancelled attempt
    const key = taskKey(r.vertexIndex, r.subtask);
    const list = this.reports.get(key) ?? this.reports.set(key, []).get(key)!;
    list.push(r);
    while (list.length > 2 && r.at - list[0].at > RATE_WINDOW_MS) list.shift();
  }

  /** Per-subtask metrics of a vertex, by Flink's metric names; subtasks that never reported are left out. */
  subtasks(vertexIndex: number, now = Date.now()): SubtaskMetrics[] {
    const hasInput = this.jobGraph.vertices[vertexIndex].inputs.length > 0;
    const v = this.jobGraph.vertices[vertexIndex];
    const out: SubtaskMetrics[] = [];
    for (let s = 0; s < v.parallelism; s++) {
      const list = this.reports.get(taskKey(vertexIndex, s));
      if (!list || list.length === 0) continue;
      const last = list[list.length - 1];
      const first = list[0];
      const span = last.at - first.at;
      const live = now - last.at <= STALE_MS && span > 0;
      const perSecond = (f: (r: TaskMetricsReport) => number) => (live ? ((f(last) - f(first)) * 1000) / span : 0);
      out.push({
        subtask: s,
        attempt: last.attempt,
        // Sources have no input watermark (Flink reports none for them); MIN_WATERMARK before the first one.
        ...(hasInput ? { watermark: last.currentInputWatermark ?? Number.MIN_SAFE_INTEGER } : {}),
        values: {
          numRecordsIn: last.numRecordsIn,
          numRecordsOut: last.numRecordsOut,
          numBytesIn: last.numBytesIn,
          numBytesOut: last.numBytesOut,
          numRecordsInPerSecond: perSecond((r) => r.numRecordsIn),
          numRecordsOutPerSecond: perSecond((r) => r.numRecordsOut),
          numBytesInPerSecond: perSecond((r) => r.numBytesIn),
          numBytesOutPerSecond: perSecond((r) => r.numBytesOut),
          busyTimeMsPerSecond: clampMs(perSecond((r) => r.accumulatedBusyTime)),
          idleTimeMsPerSecond: clampMs(perSecond((r) => r.accumulatedIdleTime)),
          backPressuredTimeMsPerSecond: clampMs(perSecond((r) => r.accumulatedBackPressuredTime)),
          // All of ours is waiting for credit, which Flink calls hard backpressure.
          hardBackPressuredTimeMsPerSecond: clampMs(perSecond((r) => r.accumulatedBackPressuredTime)),
          softBackPressuredTimeMsPerSecond: 0,
          accumulateBusyTimeMs: last.accumulatedBusyTime,
          accumulateIdleTimeMs: last.accumulatedIdleTime,
          accumulateBackPressuredTimeMs: last.accumulatedBackPressuredTime,
        },
      });
    }
    return out;
  }

  /**
   * The vertex's IOMetrics as Flink's job details report them: counts summed over its subtasks, `complete`
   * once every subtask reported; accumulated times are the maximum over the subtasks (the web UI's "(max)").
   */
  ioMetrics(vertexIndex: number): IOMetrics {
    const v = this.jobGraph.vertices[vertexIndex];
    const m: IOMetrics = {
      readRecords: 0, writeRecords: 0, readBytes: 0, writeBytes: 0, complete: true,
      accumulatedBusyTime: 0, accumulatedIdleTime: 0, accumulatedBackPressuredTime: 0,
    };
    for (let s = 0; s < v.parallelism; s++) {
      const list = this.reports.get(taskKey(vertexIndex, s));
      const r = list?.[list.length - 1];
      if (!r) {
        m.complete = false;
        continue;
      }
      m.readRecords += r.numRecordsIn;
      m.writeRecords += r.numRecordsOut;
      m.readBytes += r.numBytesIn;
      m.writeBytes += r.numBytesOut;
      m.accumulatedBusyTime = Math.max(m.accumulatedBusyTime, r.accumulatedBusyTime);
      m.accumulatedIdleTime = Math.max(m.accumulatedIdleTime, r.accumulatedIdleTime);
      m.accumulatedBackPressuredTime = Math.max(m.accumulatedBackPressuredTime, r.accumulatedBackPressuredTime);
    }
    return m;
  }
}

/** Time per second is at most 1000 ms (readings taken a little apart can say slightly more). */
function clampMs(x: number): number {
  return Math.min(1000, Math.max(0, x));
}
