/** State handles and descriptors, named like Flink's (org.apache.flink.api.common.state). */
import type { ReduceFunction } from './functions.js';
import { StateTtlConfig } from './StateTtlConfig.js';

export interface State {
  clear(): void;
}

export interface ValueState<T> extends State {
  value(): T | undefined;
  update(value: T | null | undefined): void;
}

export interface ListState<T> extends State {
  /** The elements in insertion order; empty when there are none. */
  get(): T[];
  add(value: T): void;
  addAll(values: T[]): void;
  /** Replaces the list; an empty list clears the state. */
  update(values: T[]): void;
}

/** Flink's AppendingState: values go in with add(), an aggregate comes out of get(). */
export interface AppendingState<IN, OUT> extends State {
  /** The aggregate, or undefined when nothing was added (since the last clear or expiry). */
  get(): OUT | undefined;
  /** Adding null or undefined clears the state, as in Flink. */
  add(value: IN | null | undefined): void;
}

export interface ReducingState<T> extends AppendingState<T, T> {}

export interface AggregatingState<IN, OUT> extends AppendingState<IN, OUT> {}

/** Map keys are compared by value, like keys of a keyed stream. */
export interface MapState<UK, UV> extends State {
  get(key: UK): UV | undefined;
  put(key: UK, value: UV): void;
  putAll(entries: Map<UK, UV> | Iterable<readonly [UK, UV]>): void;
  remove(key: UK): void;
  contains(key: UK): boolean;
  /** Snapshots of the current entries: changing the state while iterating them is safe. */
  entries(): [UK, UV][];
  keys(): UK[];
  values(): UV[];
  isEmpty(): boolean;
}

/** Flink's AggregateFunction: an accumulator per key; add may update the accumulator in place and return it. */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
  merge(a: ACC, b: ACC): ACC;
}

/** A serializer of the user's: snapshots hold serialize(value), restores apply deserialize. */
export interface TypeSerializer<T> {
  serialize(value: T): Uint8Array;
  deserialize(bytes: Uint8Array): T;
}

/**
 * A type hint: the class of the values. Structured clone keeps an instance's data but not its class, so
 * values read back from a snapshot (or copied for one) get this prototype again.
 */
export type TypeHint<T> = abstract new (...args: never[]) => T;

/** What a descriptor may carry about its values: a serializer of the user's or a type hint. */
export type TypeInfo<T> = TypeSerializer<T> | TypeHint<T>;

export function isTypeSerializer(x: unknown): x is TypeSerializer<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as TypeSerializer<unknown>).serialize === 'function' && typeof (x as TypeSerializer<unknown>).deserialize === 'function';
}

export abstract class StateDescriptor<T> {
  abstract readonly kind: string;
  private ttlConfig: StateTtlConfig = StateTtlConfig.DISABLED;

  constructor(readonly name: string) {
    if (!name) throw new Error('A state descriptor needs a non-empty name');
  }

  /** Phantom member so descriptors of different value types stay distinct to the type checker. */
  declare readonly __type?: T;

  enableTimeToLive(ttlConfig: StateTtlConfig): void {
    if (!(ttlConfig instanceof StateTtlConfig)) throw new Error('enableTimeToLive expects a StateTtlConfig (StateTtlConfig.newBuilder(ttl).build())');
    this.ttlConfig = ttlConfig;
  }

  getTtlConfig(): StateTtlConfig {
    return this.ttlConfig;
  }
}

function checkTypeInfo(name: string, t: unknown): void {
  if (t !== undefined && typeof t !== 'function' && !isTypeSerializer(t)) {
    throw new Error(`State descriptor '${name}': expected a serializer ({ serialize, deserialize }) or a class as type hint`);
  }
}

export class ValueStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = 'value';
  /** The default value is Flink's deprecated convenience; prefer handling `undefined`. */
  readonly defaultValue?: T;
  readonly typeInfo?: TypeInfo<T>;

  /**
   * `new ValueStateDescriptor(name, defaultValue?)` or `new ValueStateDescriptor(name, serializerOrClass, defaultValue?)`.
   * A function or a { serialize, deserialize } object can't be a state value (neither is cloneable), so the
   * second argument is never ambiguous.
   */
  constructor(name: string, defaultValue?: T);
  constructor(name: string, typeInfo: TypeInfo<T>, defaultValue?: T);
  constructor(name: string, a?: T | TypeInfo<T>, b?: T) {
    super(name);
    if (typeof a === 'function' || isTypeSerializer(a)) {
      this.typeInfo = a as TypeInfo<T>;
      this.defaultValue = b;
    } else {
      this.defaultValue = a as T | undefined;
    }
  }
}

export class ListStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = 'list';
  /** `elementTypeInfo`: serializer or class of the list's elements. */
  constructor(name: string, readonly elementTypeInfo?: TypeInfo<T>) {
    super(name);
    checkTypeInfo(name, elementTypeInfo);
  }
}

export class ReducingStateDescriptor<T> extends StateDescriptor<T> {
  readonly kind = 'reducing';
  readonly reduceFunction: ReduceFunction<T>;
  constructor(name: string, reduceFunction: ReduceFunction<T> | ((a: T, b: T) => T), readonly typeInfo?: TypeInfo<T>) {
    super(name);
    this.reduceFunction = typeof reduceFunction === 'function' ? { reduce: reduceFunction } : reduceFunction;
    if (typeof this.reduceFunction?.reduce !== 'function') throw new Error(`ReducingStateDescriptor '${name}' needs a reduce function`);
    checkTypeInfo(name, typeInfo);
  }
}

export class AggregatingStateDescriptor<IN, ACC, OUT> extends StateDescriptor<ACC> {
  readonly kind = 'aggregating';
  /** `accumulatorTypeInfo`: serializer or class of the accumulator (what the state holds). */
  constructor(name: string, readonly aggregateFunction: AggregateFunction<IN, ACC, OUT>, readonly accumulatorTypeInfo?: TypeInfo<ACC>) {
    super(name);
    for (const m of ['createAccumulator', 'add', 'getResult', 'merge'] as const) {
      if (typeof aggregateFunction?.[m] !== 'function') throw new Error(`AggregatingStateDescriptor '${name}': the aggregate function has no ${m}()`);
    }
    checkTypeInfo(name, accumulatorTypeInfo);
  }
  declare readonly __in?: IN;
  declare readonly __out?: OUT;
}

export class MapStateDescriptor<UK, UV> extends StateDescriptor<Map<UK, UV>> {
  readonly kind = 'map';
  constructor(name: string, readonly keyTypeInfo?: TypeInfo<UK>, readonly valueTypeInfo?: TypeInfo<UV>) {
    super(name);
    checkTypeInfo(name, keyTypeInfo);
    checkTypeInfo(name, valueTypeInfo);
  }
}
