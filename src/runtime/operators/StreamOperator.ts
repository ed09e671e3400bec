import type { HeapKeyedStateBackend } from '../../state/HeapKeyedStateBackend.js';
import type { OperatorStateBackend } from '../../state/OperatorStateBackend.js';
import type { RuntimeContext } from '../../api/functions.js';
import type { ProcessingTimeService } from './InternalTimerService.js';

export interface Output<T = unknown> {
  collect(value: T): void;
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
  output: Output;
  operatorState: OperatorStateBackend;
  keyed?: HeapKeyedStateBackend;
  runtimeContext: RuntimeContext;
  /** Line-buffered stdout of the task (print sinks), flushed with the task's outputs. */
  stdout: (line: string) => void;
  /** Processing-time callbacks run inside the task, between records. */
  processingTimeService: ProcessingTimeService;
  /**
   * Event timestamp of the record being processed (or undefined when it has none): the one way operators
   * read record timestamps, whatever way the task receives them.
   */
  currentTimestamp: () => number | undefined;
  /** Visits the restored entries of one keyed state of this operator (empty when not restored). */
  forEachRestoredKeyedEntry: (stateName: string, visit: (key: unknown, value: unknown) => void) => void;
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

  /** All input consumed (bounded streams). */
  endInput(): void {}

  snapshotState(_checkpointId: number): void {}

  notifyCheckpointComplete(_checkpointId: number): void {}

  notifyCheckpointAborted(_checkpointId: number): void {}

  close(): void {}
}

/** Calls an optional lifecycle method of a user function object. */
export function callHook(fn: unknown, name: string, ...args: unknown[]): void {
  const f = (fn as Record<string, unknown> | null)?.[name];
  if (typeof f === 'function') f.apply(fn, args);
}
