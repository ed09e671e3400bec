/**
 * Flink's WindowedStream: the `keyBy(...).window(...)` builder, which turns a window function into the
 * runtime's WindowOperator. The window model it builds from (TimeWindow, assigners, Time) is in windows.ts.
 */
import type { Collector, ReduceFunction } from './functions.js';
import type { OutputTag } from './OutputTag.js';
import { ProcessWindowFunction, TimeWindow, toMillis, type TimeLike, type WindowAssigner } from './windows.js';
import type { AggregateFunction } from './state.js';
import type { StreamOperator } from '../operators/StreamOperator.js';
import { WindowOperator, type WindowFunctionSpec } from '../operators/WindowOperator.js';
import type { SingleOutputStreamOperator } from './DataStream.js';

type ProcessWindowFn<IN, OUT, KEY> =
  | ProcessWindowFunction<IN, OUT, KEY>
  | ((key: KEY, context: ProcessWindowFunction.Context<TimeWindow>, elements: IN[], out: Collector<OUT>) => void);

function processFn<IN, OUT, KEY>(f: ProcessWindowFn<IN, OUT, KEY>) {
  return typeof f === 'function' ? f : f.process.bind(f);
}

/**
 * `keyedStream.window(assigner)`: window contents are keyed state (per key, a map window → accumulator)
 * and the window timers live in the operator's timer service, so both are in every snapshot.
 */
export class WindowedStream<T, K> {
  private lateness = 0;
  private lateTag?: OutputTag<T>;

  /** @internal */
  constructor(
    private readonly assigner: WindowAssigner<T>,
    private readonly build: <R>(name: string, factory: () => StreamOperator) => SingleOutputStreamOperator<R>,
  ) {}

  /** Elements up to `lateness` behind the watermark still update (and re-fire) their windows. */
  allowedLateness(lateness: TimeLike): this {
    const ms = toMillis(lateness, 'allowedLateness');
    if (ms < 0) throw new RangeError('The allowed lateness cannot be negative.');
    if (ms > 0 && !this.assigner.isEventTime()) throw new RangeError('Cannot use allowedLateness with a processing-time window assigner.');
    this.lateness = ms;
    return this;
  }

  /** Elements dropped as late go to this side output instead of being discarded. */
  sideOutputLateData(tag: OutputTag<T>): this {
    this.lateTag = tag;
    return this;
  }

  reduce<R = T>(fn: ReduceFunction<T> | ((a: T, b: T) => T), windowFn?: ProcessWindowFn<T, R, K>): SingleOutputStreamOperator<R> {
    const f = typeof fn === 'function' ? fn : fn.reduce.bind(fn);
    const pw = windowFn && processFn(windowFn);
    return this.create<T, R>('ReduceFunction', [fn, windowFn], {
      add: (acc, v) => (acc === undefined ? (v as T) : f(acc, v as T)),
      merge: (a, b) => f(a, b),
      emit: (key, ctx, acc, out) => (pw ? pw(key as K, ctx, [acc], out) : out.collect(acc as unknown as R)),
    });
  }

  aggregate<ACC, V, R = V>(fn: AggregateFunction<T, ACC, V>, windowFn?: ProcessWindowFn<V, R, K>): SingleOutputStreamOperator<R> {
    const pw = windowFn && processFn(windowFn);
    return this.create<ACC, R>('AggregateFunction', [fn, windowFn], {
      add: (acc, v) => fn.add(v as T, acc === undefined ? fn.createAccumulator() : acc),
      merge: (a, b) => fn.merge(a, b),
      emit: (key, ctx, acc, out) => {
        const r = fn.getResult(acc);
        if (pw) pw(key as K, ctx, [r], out);
        else out.collect(r as unknown as R);
      },
    });
  }

  process<R>(windowFn: ProcessWindowFn<T, R, K>): SingleOutputStreamOperator<R> {
    const pw = processFn(windowFn);
    return this.create<T[], R>('ProcessWindowFunction', [windowFn], {
      add: (acc, v) => {
        const list = acc ?? [];
        list.push(v as T);
        return list;
      },
      merge: (a, b) => a.concat(b),
      emit: (key, ctx, acc, out) => pw(key as K, ctx, acc, out),
    });
  }

  private create<ACC, R>(fnName: string, userFns: unknown[], spec: Omit<WindowFunctionSpec<ACC, R>, 'userFunctions'>): SingleOutputStreamOperator<R> {
    const { assigner, lateness, lateTag } = this;
    const name = `Window(${assigner.toString()}, ${assigner.isEventTime() ? 'EventTimeTrigger' : 'ProcessingTimeTrigger'}, ${fnName})`;
    return this.build<R>(name, () => new WindowOperator<ACC, R>(assigner, { ...spec, userFunctions: userFns.filter((f) => f !== undefined) }, lateness, lateTag?.id));
  }
}
