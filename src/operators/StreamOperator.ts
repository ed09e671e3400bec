import type { KeyedStateBackend } from '../state/KeyedStateBackend.js';
import type { OperatorStateBackend } from '../state/OperatorStateBackend.js';
import type { RuntimeContext } from '../api/functions.js';
import type { TimeDomain, TimerService } from '../api/TimerService.js';

export interface Output<T = unknown> {
  collect(value: T): void;
}

/**
 * What an operator of a chain emits into besides records (Flink's Output): watermarks, watermark status,
 * and side outputs. Records take their timestamp from the task's ElementTimestamp.
 */
export interface ChainOutput<T = unknown> extends Output<T> {
  emitWatermark(watermark: number): void;
  emitWatermarkStatus(idle: boolean): void;
  /** A record for the side output `tag` (OutputTag id); dropped when nothing consumes it. */
  collectSide(tag: string, value: unknown): void;
}

/**
 * The event timestamp of the record being processed, one per task (Flink's StreamRecord timestamp without
 * a wrapper object per record): set before a record enters the chain and read when a record leaves it.
 */
export interface ElementTimestamp {
  timestamp: number | undefined;
}

/** Registers a callback at a processing time, run inside the task (Flink's ProcessingTimeService). */
export interface ProcessingTimeService {
  now(): number;
  schedule(time: number, callback: () => void): void;
}

/** What a task hands each operator of its chain. */
export interface OperatorContext {
  jobId: string;
  operatorId: string;
  taskName: string;
  subtask: number;
  parallelism: number;
  maxParallelism: number;
  attempt: number;
  restored: boolean;
  /**
   * FLIP-147 is on for this task (checkpointing with checkpoints-after-tasks-finish): after endInput a final
   * checkpoint follows, so a two-phase-commit sink pre-commits its last data there and commits it when it
   * completes, instead of committing at end of input.
   */
  waitsForFinalCheckpoint: boolean;
  output: ChainOutput;
  /** The current record's event timestamp; an operator that emits with another time sets it first. */
  element: ElementTimestamp;
  /** pipeline.auto-watermark-interval in ms (0: no periodic watermarks). */
  autoWatermarkInterval: number;
  operatorState: OperatorStateBackend;
  keyed?: KeyedStateBackend;
  runtimeContext: RuntimeContext;
  /** Line-buffered stdout of the task (print sinks), flushed with the task's outputs. */
  stdout: (line: string) => void;
  /** Processing-time callbacks run inside the task, between records; quiesced at the end of input. */
  processingTimeService: ProcessingTimeService;
  /**
   * The operator has room again after `backpressured`: the task goes on feeding it (input, and the barriers and
   * end of input behind it). Not a processing-time callback, which the end of input drops.
   */
  resume: () => void;
  /**
   * Set where timers live outside this process (the Flink runner's worker: in Flink's InternalTimerService): the
   * timer service a keyed operator gets instead of its own (see restoredTimerService).
   */
  timerServiceFactory?: (onTimer: (time: number, domain: TimeDomain) => void) => InternalTimerServiceLike;
  /** Visits the restored entries of one keyed state of this operator (empty when not restored). */
  forEachRestoredKeyedEntry: (stateName: string, visit: (key: unknown, value: unknown) => void) => void;
}

/** What keyed operators use of their timer service (InternalTimerService). */
export interface InternalTimerServiceLike extends TimerService {
  advanceWatermark(watermark: number): void;
}

/**
 * A runtime operator: one link of an operator chain. All calls happen on the task's thread; the
 * synchronous `snapshotState` runs at the barrier, before it is forwarded.
 */
export abstract class StreamOperator<IN = unknown> {
  protected ctx!: OperatorContext;

  setup(ctx: OperatorContext): void {
    this.ctx = ctx;
  }

  initializeState(): void {}

  open(): void {}

  abstract processElement(value: IN): void;

  /** The second input of a two-input operator (connect). */
  processElement2(_value: unknown): void {
    throw new Error(`${this.constructor.name} has no second input`);
  }

  /**
   * The task's combined input watermark advanced (min over its input channels, idle ones excluded).
   * Operators with event-time timers fire them first; then the watermark goes on down the chain.
   */
  processWatermark(watermark: number): void {
    this.ctx.output.emitWatermark(watermark);
  }

  processWatermarkStatus(idle: boolean): void {
    this.ctx.output.emitWatermarkStatus(idle);
  }

  /** All input consumed (bounded streams); a promise delays the task's FINISHED until it settles. */
  endInput(): void | Promise<void> {}

  snapshotState(_checkpointId: number): void {}

  /**
   * The asynchronous part of this operator's snapshot, started right after snapshotState (a sink's flush or
   * pre-commit): the subtask acknowledges the checkpoint only once it resolved, and declines it if it rejects.
   */
  snapshotStateAsync(_checkpointId: number): Promise<void> | undefined {
    return undefined;
  }

  /**
   * True while the operator cannot take more input (a sink with its in-flight limit reached): the task stops
   * feeding it, as when an output channel has no credit. The operator calls `ctx.resume()` once it has room again.
   */
  get backpressured(): boolean {
    return false;
  }

  /**
   * Checkpoint `checkpointId` completed. A promise (a sink's asynchronous commit) is awaited where the end of
   * the commit matters: stop-with-savepoint shuts the tasks down only after it settled.
   */
  notifyCheckpointComplete(_checkpointId: number): void | Promise<void> {}

  notifyCheckpointAborted(_checkpointId: number): void {}

  close(): void {}
}

/** Calls an optional lifecycle method of a user function object. */
export function callHook(fn: unknown, name: string, ...args: unknown[]): void {
  const f = (fn as Record<string, unknown> | null)?.[name];
  if (typeof f === 'function') f.apply(fn, args);
}
