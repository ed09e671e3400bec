import type { StreamGraph } from '../graph/StreamGraph.js';
import type { StreamOperator } from '../operators/StreamOperator.js';
import {
  CoProcessOperator, CoStreamFlatMap, CoStreamMap, IntervalJoinOperator, KeyedCoProcessOperator,
} from '../operators/CoProcessOperators.js';
import { KeyedCoProcessFunction, type CoProcessFunction, type CoFlatMapFunction, type CoMapFunction, type ProcessJoinFunction } from './co.js';
import type { KeySelector } from './functions.js';
import { SingleOutputStreamOperator, toKeySelectorFn, type StreamInput } from './DataStream.js';

/**
 * The result of `a.connect(b)` on two ordinary streams (Flink's ConnectedStreams): one operator with two
 * inputs, each keeping its own partitioning. Keyed when both streams are keyed (`keyedA.connect(keyedB)`
 * or `connect(...).keyBy(k1, k2)`): each input's records are keyed by its own selector, and keyed state
 * and timers are shared by both inputs per key.
 */
export class ConnectedStreams<IN1, IN2> {
  /** @internal */
  constructor(
    private readonly graph: StreamGraph,
    private readonly input1: StreamInput,
    private readonly input2: StreamInput,
  ) {}

  /** Both inputs keyed, so the operator has keyed state. */
  get isKeyed(): boolean {
    return this.input1.partition.partitioner === 'hash' && this.input2.partition.partitioner === 'hash';
  }

  /** Keys both inputs, each by its own selector; the keys must be of one type for records to meet. */
  keyBy<K>(key1: KeySelector<IN1, K> | ((v: IN1) => K), key2: KeySelector<IN2, K> | ((v: IN2) => K)): ConnectedStreams<IN1, IN2> {
    const keyed = (input: StreamInput, key: KeySelector<any, K> | ((v: any) => K)): StreamInput =>
      ({ nodeId: input.nodeId, partition: { partitioner: 'hash', keySelector: toKeySelectorFn(key) } });
    return new ConnectedStreams<IN1, IN2>(this.graph, keyed(this.input1, key1), keyed(this.input2, key2));
  }

  map<R>(fn: CoMapFunction<IN1, IN2, R>): SingleOutputStreamOperator<R> {
    return this.transform('coMap', 'Co-Map', () => new CoStreamMap(fn));
  }

  flatMap<R>(fn: CoFlatMapFunction<IN1, IN2, R>): SingleOutputStreamOperator<R> {
    return this.transform('coFlatMap', 'Co-Flat Map', () => new CoStreamFlatMap(fn));
  }

  process<R>(fn: CoProcessFunction<IN1, IN2, R> | KeyedCoProcessFunction<any, IN1, IN2, R>): SingleOutputStreamOperator<R> {
    if (fn instanceof KeyedCoProcessFunction && !this.isKeyed) {
      throw new TypeError('KeyedCoProcessFunction can only be used when both input streams are of type KeyedStream.');
    }
    // A CoProcessFunction on keyed inputs still gets keyed state, as in Flink.
    if (this.isKeyed) return this.transform('keyedCoProcess', 'KeyedCoProcess', () => new KeyedCoProcessOperator(fn));
    return this.transform('coProcess', 'Co-Process', () => new CoProcessOperator(fn));
  }

  /** @internal */
  transform<R>(kind: string, name: string, factory: () => StreamOperator): SingleOutputStreamOperator<R> {
    const keyed = this.isKeyed;
    const node = this.graph.addNode({
      kind, name, factory,
      keySelector: keyed ? this.input1.partition.keySelector : undefined,
      keySelector2: keyed ? this.input2.partition.keySelector : undefined,
    });
    this.graph.addEdge({ source: this.input1.nodeId, target: node.id, ...this.input1.partition, typeNumber: 1 });
    this.graph.addEdge({ source: this.input2.nodeId, target: node.id, ...this.input2.partition, typeNumber: 2 });
    return new SingleOutputStreamOperator<R>(this.graph, node.id);
  }
}

/** `keyedA.intervalJoin(keyedB)`: set the interval with `between`. */
export class IntervalJoin<IN1, IN2, K> {
  /** @internal */
  constructor(private readonly connected: ConnectedStreams<IN1, IN2>) {}

  /**
   * Joins a left record at time t with the right records of its key whose timestamps lie in
   * [t + lowerBound, t + upperBound] (milliseconds, both inclusive unless made exclusive).
   */
  between(lowerBound: number, upperBound: number): IntervalJoined<IN1, IN2, K> {
    if (!Number.isFinite(lowerBound) || !Number.isFinite(upperBound)) throw new TypeError('Interval join bounds must be numbers of milliseconds');
    if (lowerBound > upperBound) throw new RangeError('lowerBound <= upperBound must be fulfilled');
    return new IntervalJoined<IN1, IN2, K>(this.connected, lowerBound, upperBound);
  }
}

export class IntervalJoined<IN1, IN2, K> {
  private lowerInclusive = true;
  private upperInclusive = true;

  /** @internal */
  constructor(private readonly connected: ConnectedStreams<IN1, IN2>, private readonly lower: number, private readonly upper: number) {}

  lowerBoundExclusive(): this {
    this.lowerInclusive = false;
    return this;
  }

  upperBoundExclusive(): this {
    this.upperInclusive = false;
    return this;
  }

  process<R>(fn: ProcessJoinFunction<IN1, IN2, R>): SingleOutputStreamOperator<R> {
    const bounds = { lower: this.lower, upper: this.upper, lowerInclusive: this.lowerInclusive, upperInclusive: this.upperInclusive };
    return this.connected.transform('intervalJoin', 'Interval Join', () => new IntervalJoinOperator(fn, bounds));
  }
}
