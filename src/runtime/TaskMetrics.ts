import { performance } from 'node:perf_hooks';

/**
 * What a subtask reports to the JobManager about its I/O and time, cumulative since the attempt started
 * (Flink's task IOMetrics and TaskIOMetricGroup counters). Rates are derived by the JobManager from two reports.
 */
export interface TaskMetricsReport {
  vertexIndex: number;
  subtask: number;
  attempt: number;
  /** When the reading was taken (epoch ms): rates are per second between two readings. */
  at: number;
  numRecordsIn: number;
  numRecordsOut: number;
  /** Bytes serialized between task slots; batches handed over by reference inside a slot carry none. */
  numBytesIn: number;
  numBytesOut: number;
  accumulatedBusyTime: number;
  accumulatedIdleTime: number;
  accumulatedBackPressuredTime: number;
  /** The task's input watermark (its valve's output); undefined before the first one (Flink's Long.MIN_VALUE). */
  currentInputWatermark?: number;
}

/** Why a task is not running a slice: waiting for input, or for output credit (backpressure). */
type Waiting = 'idle' | 'backpressured';

/**
 * The counters of one subtask. Records are counted per batch (one integer add per record on output, where
 * records leave the chain one by one anyway); time is split into busy (inside a processing slice),
 * backpressured (stopped for output credit or an operator's own backpressure) and idle (everything else:
 * no input, or the worker's event loop running other tasks), as Flink's busy/idle/backPressured time.
 */
export class TaskMetrics {
  numRecordsIn = 0;
  numRecordsOut = 0;
  numBytesIn = 0;
  private busyMs = 0;
  private backPressuredMs = 0;
  private readonly startedAt = performance.now();
  private sliceStart = -1;
  private waiting?: Waiting;
  private waitingSince = 0;

  /** A processing slice begins: whatever the task waited for ends here. */
  beginSlice(): void {
    const now = performance.now();
    this.endWait(now);
    this.sliceStart = now;
  }

  /** The slice ends; `why` says what the task now waits for (undefined: it rescheduled itself, not waiting). */
  endSlice(why?: Waiting): void {
    const now = performance.now();
    if (this.sliceStart >= 0) this.busyMs += now - this.sliceStart;
    this.sliceStart = -1;
    if (why) {
      this.waiting = why;
      this.waitingSince = now;
    }
  }

  private endWait(now: number): void {
    if (this.waiting === 'backpressured') this.backPressuredMs += now - this.waitingSince;
    this.waiting = undefined;
  }

  report(vertexIndex: number, subtask: number, attempt: number, numBytesOut: number, watermark: number | undefined): TaskMetricsReport {
    const now = performance.now();
    // Time spent in the current state counts up to now (without ending it).
    const busy = this.busyMs + (this.sliceStart >= 0 ? now - this.sliceStart : 0);
    const bp = this.backPressuredMs + (this.waiting === 'backpressured' ? now - this.waitingSince : 0);
    const idle = Math.max(0, now - this.startedAt - busy - bp);
    return {
      vertexIndex, subtask, attempt, at: Date.now(),
      numRecordsIn: this.numRecordsIn, numRecordsOut: this.numRecordsOut, numBytesIn: this.numBytesIn, numBytesOut,
      accumulatedBusyTime: Math.round(busy), accumulatedIdleTime: Math.round(idle), accumulatedBackPressuredTime: Math.round(bp),
      ...(watermark !== undefined ? { currentInputWatermark: watermark } : {}),
    };
  }
}
