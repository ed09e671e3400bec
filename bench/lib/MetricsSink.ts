import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RichSinkFunction, type SinkFunction } from 'flink-ts';
import { MARK_EVERY } from './steadyRate.js';

/** What each sink subtask reports when its input ends (one JSON file per subtask and attempt). */
export interface SinkReport {
  subtask: number;
  attempt: number;
  count: number;
  /** performance.timeOrigin-based ms of the first record and of the end of input. */
  first: number;
  last: number;
  /** Sampled end-to-end latencies in ms (records that carry an `emitted` time). */
  latencies: number[];
  maxRssKb: number;
  /**
   * CPU ms this subtask's worker thread spent from the first record to the end of input (every task of the
   * slot runs on that thread); absent where /proc/thread-self is not there. A measure that load from other
   * processes inflates far less than the wall clock's.
   */
  threadCpuMs?: number;
  /**
   * ms the same thread was ready to run but waited for a core (/proc/thread-self/schedstat): with `threadCpuMs`,
   * the rest of the span (last - first - cpu - this) is the time the thread had nothing to do.
   */
  threadRunqueueMs?: number;
  /** CPU ms of the whole process (every thread: the JobManager, all workers, V8's GC helpers) over the same span. */
  processCpuMs: number;
  /** performance.timeOrigin-based ms at which this subtask's count reached each multiple of MARK_EVERY (steadyRate.ts). */
  marks: number[];
}

const LATENCY_SAMPLE_EVERY = 16;

/**
 * Counts what reaches the end of the pipeline and when, so that throughput is measured from the first
 * record to the end of input, without the cluster's start-up.
 */
export class MetricsSink<T> extends RichSinkFunction<T> {
  private count = 0;
  private first = 0;
  private latencies: number[] = [];
  private marks: number[] = [];
  private cpuAtFirst: number | undefined;
  private processCpuAtFirst = 0;
  private waitAtFirst: number | undefined;
  private end: number | undefined;

  constructor(private readonly dir: string) {
    super();
  }

  invoke(value: T, _ctx: SinkFunction.Context): void {
    if (this.count === 0) {
      this.first = performance.timeOrigin + performance.now();
      this.cpuAtFirst = threadCpuMs();
      this.processCpuAtFirst = processCpuMs();
      this.waitAtFirst = threadRunqueueMs();
    }
    if (this.count % LATENCY_SAMPLE_EVERY === 0) {
      const emitted = (value as { emitted?: number } | null)?.emitted;
      if (emitted !== undefined) this.latencies.push(performance.timeOrigin + performance.now() - emitted);
    }
    if (++this.count % MARK_EVERY === 0) this.marks.push(performance.timeOrigin + performance.now());
  }

  /** End of input: the span ends here, not at close(), which with checkpoints waits for the final checkpoint (FLIP-147). */
  finish(): void {
    this.end = performance.timeOrigin + performance.now();
  }

  override close(): void {
    const rc = this.getRuntimeContext();
    const report: SinkReport = {
      subtask: rc.getIndexOfThisSubtask(),
      attempt: rc.getAttemptNumber(),
      count: this.count,
      first: this.first,
      last: this.end ?? performance.timeOrigin + performance.now(),
      latencies: this.latencies,
      maxRssKb: process.resourceUsage().maxRSS,
      processCpuMs: processCpuMs() - this.processCpuAtFirst,
      marks: this.marks,
    };
    const cpu = threadCpuMs();
    if (cpu !== undefined && this.cpuAtFirst !== undefined) report.threadCpuMs = cpu - this.cpuAtFirst;
    const wait = threadRunqueueMs();
    if (wait !== undefined && this.waitAtFirst !== undefined) report.threadRunqueueMs = wait - this.waitAtFirst;
    writeFileSync(join(this.dir, `sink-${report.subtask}-${report.attempt}.json`), JSON.stringify(report));
  }
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The calling thread's user + system CPU in ms (Linux: /proc/thread-self/stat, in clock ticks of 10 ms). */
function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime, stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

/** ms the calling thread spent runnable but not running (Linux: the second field of /proc/thread-self/schedstat, in ns). */
function threadRunqueueMs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return undefined;
  }
}
