import type { MapStateDescriptor } from './state.js';
import { AbstractRichFunction, type Collector } from './functions.js';
import type { TimerService } from './TimerService.js';

/** Flink's broadcast state: a map every parallel instance holds the same copy of. */
export interface ReadOnlyBroadcastState<K, V> {
  get(key: K): V | undefined;
  contains(key: K): boolean;
  immutableEntries(): [K, V][];
  keys(): K[];
  values(): V[];
  isEmpty(): boolean;
}

export interface BroadcastState<K, V> extends ReadOnlyBroadcastState<K, V> {
  put(key: K, value: V): void;
  putAll(entries: Iterable<readonly [K, V]>): void;
  remove(key: K): void;
  clear(): void;
  entries(): [K, V][];
}

/** Reads broadcast state on the non-broadcast side; only the broadcast side may change it (so all copies stay equal). */
export interface BroadcastReadOnlyContext {
  getBroadcastState<K, V>(desc: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V>;
  timestamp(): number | undefined;
}

export interface BroadcastContext {
  getBroadcastState<K, V>(desc: MapStateDescriptor<K, V>): BroadcastState<K, V>;
  timestamp(): number | undefined;
}

export abstract class BroadcastProcessFunction<IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement(value: IN1, ctx: BroadcastProcessFunction.ReadOnlyContext, out: Collector<OUT>): void;
  abstract processBroadcastElement(value: IN2, ctx: BroadcastProcessFunction.Context, out: Collector<OUT>): void;
}
export namespace BroadcastProcessFunction {
  export type ReadOnlyContext = BroadcastReadOnlyContext;
  export type Context = BroadcastContext;
}

export abstract class KeyedBroadcastProcessFunction<KS, IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement(value: IN1, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext<KS>, out: Collector<OUT>): void;
  abstract processBroadcastElement(value: IN2, ctx: KeyedBroadcastProcessFunction.Context, out: Collector<OUT>): void;
  onTimer?(timestamp: number, ctx: KeyedBroadcastProcessFunction.OnTimerContext<KS>, out: Collector<OUT>): void;
}
export namespace KeyedBroadcastProcessFunction {
  export interface ReadOnlyContext<KS> extends BroadcastReadOnlyContext {
    getCurrentKey(): KS;
    timerService(): TimerService;
  }
  export type Context = BroadcastContext;
  export interface OnTimerContext<KS> extends ReadOnlyContext<KS> {
    timeDomain(): 'EVENT_TIME' | 'PROCESSING_TIME';
  }
}
