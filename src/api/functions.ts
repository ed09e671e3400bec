import type {
  AggregatingState, AggregatingStateDescriptor, ListState, ListStateDescriptor, MapState, MapStateDescriptor, ReducingState,
  ReducingStateDescriptor, StateDescriptor, ValueState,
} from './state.js';
import type { TimeDomain, TimerService } from './TimerService.js';
import type { OutputTag } from './OutputTag.js';

export type { TimeDomain, TimerService };

/** Flink's function interfaces. Every one may also be given as a plain function. */
export interface Collector<T> {
  collect(value: T): void;
}

export interface RuntimeContext {
  getState<T>(desc: StateDescriptor<T>): ValueState<T>;
  getListState<T>(desc: ListStateDescriptor<T>): ListState<T>;
  getReducingState<T>(desc: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(desc: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
  getMapState<UK, UV>(desc: MapStateDescriptor<UK, UV>): MapState<UK, UV>;
  getIndexOfThisSubtask(): number;
  getNumberOfParallelSubtasks(): number;
  getMaxNumberOfParallelSubtasks(): number;
  getAttemptNumber(): number;
  getTaskName(): string;
  getJobId(): string;
}

/** Operator (non-keyed) state access for CheckpointedFunction.initializeState. */
export interface FunctionInitializationContext {
  isRestored(): boolean;
  getOperatorStateStore(): {
    getListState<T>(desc: StateDescriptor<T>): ListState<T>;
    getUnionListState<T>(desc: StateDescriptor<T>): ListState<T>;
  };
}

export interface FunctionSnapshotContext {
  getCheckpointId(): number;
}

export interface CheckpointedFunction {
  snapshotState(ctx: FunctionSnapshotContext): void;
  initializeState(ctx: FunctionInitializationContext): void;
}

export interface CheckpointListener {
  notifyCheckpointComplete(checkpointId: number): void;
}

export interface MapFunction<T, R> {
  map(value: T): R;
}
export interface FilterFunction<T> {
  filter(value: T): boolean;
}
export interface FlatMapFunction<T, R> {
  flatMap(value: T, out: Collector<R>): void;
}
export interface ReduceFunction<T> {
  reduce(a: T, b: T): T;
}
export interface KeySelector<T, K> {
  getKey(value: T): K;
}

/** Base of the rich variants: the runtime hands in the context before open(). */
export abstract class AbstractRichFunction {
  private runtimeContext?: RuntimeContext;

  setRuntimeContext(ctx: RuntimeContext): void {
    this.runtimeContext = ctx;
  }

  getRuntimeContext(): RuntimeContext {
    if (!this.runtimeContext) throw new Error('The runtime context has not been initialized yet (use it in open() or later)');
    return this.runtimeContext;
  }

  open(_parameters?: unknown): void {}
  close(): void {}
}

export abstract class RichMapFunction<T, R> extends AbstractRichFunction implements MapFunction<T, R> {
  abstract map(value: T): R;
}
export abstract class RichFilterFunction<T> extends AbstractRichFunction implements FilterFunction<T> {
  abstract filter(value: T): boolean;
}
export abstract class RichFlatMapFunction<T, R> extends AbstractRichFunction implements FlatMapFunction<T, R> {
  abstract flatMap(value: T, out: Collector<R>): void;
}

/** Flink's SinkFunction: called once per record; a rich one also gets open/close and the runtime context. */
export interface SinkFunction<T> {
  invoke(value: T, context: SinkFunction.Context): void;
  /** The end of data (a bounded input is done): flush what is buffered. Before a final checkpoint and close(), as in Flink. */
  finish?(): void;
}
export namespace SinkFunction {
  export interface Context {
    /** Processing time on this task's clock, in epoch milliseconds. */
    currentProcessingTime(): number;
    timestamp(): number | undefined;
  }
}
export abstract class RichSinkFunction<T> extends AbstractRichFunction implements SinkFunction<T> {
  abstract invoke(value: T, context: SinkFunction.Context): void;
}
/** Drops every record, like Flink's DiscardingSink: for benchmarks and jobs kept only for their side effects. */
export class DiscardingSink<T> implements SinkFunction<T> {
  invoke(_value: T, _context: SinkFunction.Context): void {}
}

export abstract class ProcessFunction<I, O> extends AbstractRichFunction {
  abstract processElement(value: I, ctx: ProcessFunction.Context, out: Collector<O>): void;
}
export namespace ProcessFunction {
  export interface Context {
    /** The element's event timestamp, undefined when it has none. */
    timestamp(): number | undefined;
    /** Current processing time and watermark; timers need a keyed stream. */
    timerService(): TimerService;
    /** Emits to the side output `tag`. */
    output<X>(tag: OutputTag<X>, value: X): void;
  }
}

export abstract class KeyedProcessFunction<K, I, O> extends AbstractRichFunction {
  abstract processElement(value: I, ctx: KeyedProcessFunction.Context<K>, out: Collector<O>): void;
  /** Called when a timer set with ctx.timerService() fires, with the timer's key as the current key. */
  onTimer?(timestamp: number, ctx: KeyedProcessFunction.OnTimerContext<K>, out: Collector<O>): void;
}
export namespace KeyedProcessFunction {
  export interface Context<K> {
    getCurrentKey(): K;
    timestamp(): number | undefined;
    timerService(): TimerService;
    output<X>(tag: OutputTag<X>, value: X): void;
  }
  export interface OnTimerContext<K> extends Context<K> {
    timeDomain(): TimeDomain;
  }
}
