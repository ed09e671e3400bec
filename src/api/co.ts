import { AbstractRichFunction, type Collector, type KeyedProcessFunction, type ProcessFunction } from './functions.js';

/** Flink's two-input functions: the `…1` method gets the first input of `a.connect(b)`, `…2` the second. */
export interface CoMapFunction<IN1, IN2, OUT> {
  map1(value: IN1): OUT;
  map2(value: IN2): OUT;
}

export interface CoFlatMapFunction<IN1, IN2, OUT> {
  flatMap1(value: IN1, out: Collector<OUT>): void;
  flatMap2(value: IN2, out: Collector<OUT>): void;
}

export abstract class RichCoMapFunction<IN1, IN2, OUT> extends AbstractRichFunction implements CoMapFunction<IN1, IN2, OUT> {
  abstract map1(value: IN1): OUT;
  abstract map2(value: IN2): OUT;
}

export abstract class RichCoFlatMapFunction<IN1, IN2, OUT> extends AbstractRichFunction implements CoFlatMapFunction<IN1, IN2, OUT> {
  abstract flatMap1(value: IN1, out: Collector<OUT>): void;
  abstract flatMap2(value: IN2, out: Collector<OUT>): void;
}

export abstract class CoProcessFunction<IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement1(value: IN1, ctx: CoProcessFunction.Context, out: Collector<OUT>): void;
  abstract processElement2(value: IN2, ctx: CoProcessFunction.Context, out: Collector<OUT>): void;
}
export namespace CoProcessFunction {
  /** `timestamp()`: the event timestamp of the current record, undefined when it has none. */
  export type Context = ProcessFunction.Context;
}

/** `keyedA.connect(keyedB).process(...)`: both inputs keyed the same way, with keyed state and timers per key. */
export abstract class KeyedCoProcessFunction<K, IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement1(value: IN1, ctx: KeyedCoProcessFunction.Context<K>, out: Collector<OUT>): void;
  abstract processElement2(value: IN2, ctx: KeyedCoProcessFunction.Context<K>, out: Collector<OUT>): void;
  /** Called when a timer set with ctx.timerService() fires, with the timer's key as the current key. */
  onTimer?(timestamp: number, ctx: KeyedCoProcessFunction.OnTimerContext<K>, out: Collector<OUT>): void;
}
export namespace KeyedCoProcessFunction {
  /** The same contexts as a KeyedProcessFunction's: current key, timestamp, timer service. */
  export type Context<K> = KeyedProcessFunction.Context<K>;
  export type OnTimerContext<K> = KeyedProcessFunction.OnTimerContext<K>;
}

/** `keyedA.intervalJoin(keyedB).between(lower, upper).process(...)`: called once per joined pair. */
export abstract class ProcessJoinFunction<IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement(left: IN1, right: IN2, ctx: ProcessJoinFunction.Context, out: Collector<OUT>): void;
}
export namespace ProcessJoinFunction {
  export interface Context {
    getLeftTimestamp(): number;
    getRightTimestamp(): number;
    /** The pair's timestamp: the larger of the two. */
    getTimestamp(): number;
  }
}
