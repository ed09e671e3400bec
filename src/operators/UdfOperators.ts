import { ValueStateDescriptor } from '../api/state.js';
import type { Collector, FunctionInitializationContext, KeyedProcessFunction, ProcessFunction, SinkFunction } from '../api/functions.js';
import { callHook, StreamOperator } from './StreamOperator.js';
import { restoredTimerService, type InternalTimerService } from './InternalTimerService.js';
import type { TimeDomain, TimerService } from '../api/TimerService.js';
import { MIN_WATERMARK } from '../api/eventtime.js';

/**
 * Operators that wrap a user function (Flink's AbstractUdfStreamOperator family). The function may be a
 * plain JS function or an object; rich objects get the runtime context, open/close, and the
 * CheckpointedFunction / CheckpointListener hooks.
 */
export abstract class UdfOperator<IN> extends StreamOperator<IN> {
  constructor(protected readonly fn: unknown) {
    super();
  }

  override initializeState(): void {
    callHook(this.fn, 'setRuntimeContext', this.ctx.runtimeContext);
    const ctx = this.ctx;
    const init: FunctionInitializationContext = {
      isRestored: () => ctx.restored,
      getOperatorStateStore: () => ({
        getListState: (d) => ctx.operatorState.getListState(d.name),
        getUnionListState: (d) => ctx.operatorState.getUnionListState(d.name),
      }),
    };
    callHook(this.fn, 'initializeState', init);
  }

  override open(): void {
    callHook(this.fn, 'open', {});
  }

  override snapshotState(checkpointId: number): void {
    callHook(this.fn, 'snapshotState', { getCheckpointId: () => checkpointId });
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    callHook(this.fn, 'notifyCheckpointComplete', checkpointId);
  }

  override close(): void {
    callHook(this.fn, 'close');
  }

  protected method<F extends (...a: any[]) => any>(name: string): F {
    if (typeof this.fn === 'function') return this.fn as F;
    const m = (this.fn as Record<string, unknown>)?.[name];
    if (typeof m !== 'function') throw new TypeError(`The function object passed for this operator has no ${name}() method`);
    return m.bind(this.fn) as F;
  }
}

export class StreamMap<IN, OUT> extends UdfOperator<IN> {
  private f!: (v: IN) => OUT;
  override open(): void {
    super.open();
    this.f = this.method('map');
  }
  processElement(v: IN): void {
    this.ctx.output.collect(this.f(v));
  }
}

export class StreamFilter<IN> extends UdfOperator<IN> {
  private f!: (v: IN) => boolean;
  override open(): void {
    super.open();
    this.f = this.method('filter');
  }
  processElement(v: IN): void {
    if (this.f(v)) this.ctx.output.collect(v);
  }
}

export class StreamFlatMap<IN, OUT> extends UdfOperator<IN> {
  private f!: (v: IN, out: Collector<OUT>) => void;
  override open(): void {
    super.open();
    this.f = this.method('flatMap');
  }
  processElement(v: IN): void {
    this.f(v, this.ctx.output as Collector<OUT>);
  }
}

export class ProcessOperator<IN, OUT> extends UdfOperator<IN> {
  private f!: (v: IN, c: ProcessFunction.Context, out: Collector<OUT>) => void;
  private pctx!: ProcessFunction.Context;
  private watermark = MIN_WATERMARK;
  override open(): void {
    super.open();
    this.f = this.method('processElement');
    const noTimers = () => {
      throw new Error('Setting timers is only supported on a keyed streams.');
    };
    const timerService: TimerService = {
      currentProcessingTime: () => this.ctx.processingTimeService.now(),
      currentWatermark: () => this.watermark,
      registerProcessingTimeTimer: noTimers, registerEventTimeTimer: noTimers,
      deleteProcessingTimeTimer: noTimers, deleteEventTimeTimer: noTimers,
    };
    this.pctx = {
      timestamp: () => this.ctx.element.timestamp,
      timerService: () => timerService,
      output: (tag, value) => this.ctx.output.collectSide(tag.id, value),
    };
  }
  override processWatermark(watermark: number): void {
    this.watermark = watermark;
    super.processWatermark(watermark);
  }
  processElement(v: IN): void {
    this.f(v, this.pctx, this.ctx.output as Collector<OUT>);
  }
}

export class KeyedProcessOperator<K, IN, OUT> extends UdfOperator<IN> {
  private f!: (v: IN, c: KeyedProcessFunction.Context<K>, out: Collector<OUT>) => void;
  private kctx!: KeyedProcessFunction.Context<K>;
  private timers!: InternalTimerService;

  override open(): void {
    super.open();
    this.f = this.method('processElement');
    const keyed = this.ctx.keyed!;
    const out = this.ctx.output as Collector<OUT>;
    const onTimer = typeof this.fn === 'object' && this.fn !== null ? (this.fn as KeyedProcessFunction<K, IN, OUT>).onTimer?.bind(this.fn) : undefined;
    let firing: { time: number; domain: TimeDomain } | undefined;
    this.timers = restoredTimerService(this.ctx, (time, domain) => {
      if (!onTimer) return;
      firing = { time, domain };
      // As in Flink: output of an event-time timer carries the timer's time, of a processing-time one none.
      this.ctx.element.timestamp = domain === 'EVENT_TIME' ? time : undefined;
      try {
        onTimer(time, { ...this.kctx, timestamp: () => time, timeDomain: () => domain }, out);
      } finally {
        firing = undefined;
      }
    });
    this.kctx = {
      getCurrentKey: () => keyed.getCurrentKey() as K,
      timestamp: () => (firing ? firing.time : this.ctx.element.timestamp),
      timerService: () => this.timers,
      output: (tag, value) => this.ctx.output.collectSide(tag.id, value),
    };
  }

  override processWatermark(watermark: number): void {
    this.timers.advanceWatermark(watermark);
    super.processWatermark(watermark);
  }

  processElement(v: IN): void {
    this.f(v, this.kctx, this.ctx.output as Collector<OUT>);
  }

  /** End of a bounded input: Flink's final watermark fires every event-time timer. */
  override endInput(): void {
    this.timers.advanceWatermark(Number.MAX_SAFE_INTEGER);
  }
}

/** Streaming reduce on a keyed stream: emits the new reduced value for every input, like Flink. */
export class StreamGroupedReduce<T> extends UdfOperator<T> {
  private f!: (a: T, b: T) => T;
  private state!: ReturnType<NonNullable<StreamOperator['ctx']['keyed']>['getState']>;
  override open(): void {
    super.open();
    this.f = this.method('reduce');
    this.state = this.ctx.keyed!.getState(new ValueStateDescriptor<T>('_op_state'));
  }
  processElement(v: T): void {
    const cur = this.state.value() as T | undefined;
    const next = cur === undefined ? v : this.f(cur, v);
    this.state.update(next);
    this.ctx.output.collect(next);
  }
}

/** sum(field) / min / max on keyed streams as a reduce over one field of arrays (tuples) or objects. */
export function fieldAggregator<T>(field: number | string, agg: 'sum' | 'min' | 'max'): (a: T, b: T) => T {
  return (a: T, b: T) => {
    // Scalars aggregate themselves (Flink allows position 0 on a stream of basic types).
    const scalar = typeof a !== 'object' || a === null;
    const av = scalar ? a : (a as any)[field];
    const bv = scalar ? b : (b as any)[field];
    const r = agg === 'sum' ? av + bv : agg === 'min' ? (bv < av ? bv : av) : bv > av ? bv : av;
    if (Array.isArray(a)) {
      const out = [...a];
      out[field as number] = r;
      return out as T;
    }
    if (typeof a === 'object' && a !== null) return { ...(a as object), [field]: r } as T;
    return r as T;
  };
}

/** addSink(SinkFunction): the user function is the end of the chain. */
export class StreamSink<IN> extends UdfOperator<IN> {
  private f!: (v: IN, c: SinkFunction.Context) => void;
  private readonly sctx: SinkFunction.Context = { currentProcessingTime: () => Date.now(), timestamp: () => undefined };
  override open(): void {
    super.open();
    this.f = this.method('invoke');
  }
  processElement(v: IN): void {
    this.f(v, this.sctx);
  }

  /** Flink's SinkFunction.finish(): the end of data, before any final checkpoint and close(). */
  override endInput(): void {
    callHook(this.fn, 'finish');
  }
}
