import type { KeySelectorFn, PartitionerKind, StreamGraph, StreamNode } from '../graph/StreamGraph.js';
import type { StreamOperator } from '../operators/StreamOperator.js';
import {
  fieldAggregator, KeyedProcessOperator, ProcessOperator, StreamFilter, StreamFlatMap, StreamGroupedReduce, StreamMap, StreamSink,
} from '../operators/UdfOperators.js';
import { FileSinkOperator, PrintSinkOperator } from '../operators/SinkOperators.js';
import type {
  Collector, FilterFunction, FlatMapFunction, KeyedProcessFunction, KeySelector, MapFunction, ProcessFunction, ReduceFunction,
  SinkFunction,
} from './functions.js';
import type { FileSink, Sink } from './sinks.js';
import type { KafkaSink } from '../connectors/kafka/KafkaSink.js';
import { KafkaWriterOperator } from '../connectors/kafka/KafkaWriterOperator.js';
import { JdbcSink } from '../connectors/jdbc/JdbcSink.js';
import { JdbcWriterOperator } from '../connectors/jdbc/JdbcWriterOperator.js';
import type { MapStateDescriptor } from './state.js';
import { BroadcastProcessFunction, KeyedBroadcastProcessFunction } from './broadcast.js';
import { CoBroadcastOperator } from '../operators/BroadcastOperators.js';
import { UnionOperator } from '../operators/CoProcessOperators.js';
import { ConnectedStreams, IntervalJoin } from './ConnectedStreams.js';
import { JoinedStreams } from './JoinedStreams.js';
import type { WatermarkStrategy } from './eventtime.js';
import type { OutputTag } from './OutputTag.js';
import { WindowedStream } from './windowing.js';
import type { WindowAssigner } from './windows.js';
import { TimestampsAndWatermarksOperator } from '../operators/TimestampsAndWatermarksOperator.js';
import { SideOutputOperator } from '../operators/SideOutputOperator.js';

type Fn<F, P extends any[], R> = F | ((...args: P) => R);

/** Input wiring of the next operator: partitioner set by keyBy/rebalance/broadcast, else chosen by parallelism. */
interface PendingPartition {
  partitioner?: PartitionerKind;
  keySelector?: KeySelectorFn;
}

/** @internal An upstream node and how its records are partitioned into the operator built on it. */
export interface StreamInput {
  nodeId: number;
  partition: PendingPartition;
}

/** @internal */
export function toKeySelectorFn<T, K>(selector: Fn<KeySelector<T, K>, [T], K>): KeySelectorFn {
  return typeof selector === 'function' ? (selector as KeySelectorFn) : (v) => selector.getKey(v);
}

export class DataStream<T> {
  /** @internal */
  constructor(
    protected readonly graph: StreamGraph,
    /** @internal */ readonly nodeId: number,
    protected readonly partition: PendingPartition = {},
  ) {}

  protected transform<R>(kind: string, name: string, factory: () => StreamOperator, keyed = false): SingleOutputStreamOperator<R> {
    const node = this.graph.addNode({ kind, name, factory, keySelector: keyed ? this.partition.keySelector : undefined });
    this.graph.addEdge({ source: this.nodeId, target: node.id, ...this.partition });
    return new SingleOutputStreamOperator<R>(this.graph, node.id);
  }

  map<R>(fn: Fn<MapFunction<T, R>, [T], R>): SingleOutputStreamOperator<R> {
    return this.transform('map', 'Map', () => new StreamMap(fn));
  }

  filter(fn: Fn<FilterFunction<T>, [T], boolean>): SingleOutputStreamOperator<T> {
    return this.transform('filter', 'Filter', () => new StreamFilter(fn));
  }

  flatMap<R>(fn: Fn<FlatMapFunction<T, R>, [T, Collector<R>], void>): SingleOutputStreamOperator<R> {
    return this.transform('flatMap', 'Flat Map', () => new StreamFlatMap(fn));
  }

  process<R>(fn: ProcessFunction<T, R> | ((value: T, ctx: ProcessFunction.Context, out: Collector<R>) => void)): SingleOutputStreamOperator<R> {
    return this.transform('process', 'Process', () => new ProcessOperator(fn));
  }

  /** Replaces the records' timestamps and the watermarks from here on (Flink's TimestampsAndWatermarksOperator). */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    return this.transform('timestampsAndWatermarks', 'Timestamps/Watermarks', () => new TimestampsAndWatermarksOperator<T>(strategy));
  }

  keyBy<K>(selector: Fn<KeySelector<T, K>, [T], K>): KeyedStream<T, K> {
    return new KeyedStream<T, K>(this.graph, this.nodeId, { partitioner: 'hash', keySelector: toKeySelectorFn(selector) });
  }

  rebalance(): DataStream<T> {
    return new DataStream<T>(this.graph, this.nodeId, { partitioner: 'rebalance' });
  }

  /**
   * Without descriptors: every record to every parallel instance downstream. With MapStateDescriptors:
   * a BroadcastStream to `connect` to, whose elements update that broadcast state.
   */
  broadcast(): DataStream<T>;
  broadcast(...descriptors: MapStateDescriptor<any, any>[]): BroadcastStream<T>;
  broadcast(...descriptors: MapStateDescriptor<any, any>[]): DataStream<T> | BroadcastStream<T> {
    if (descriptors.length === 0) return new DataStream<T>(this.graph, this.nodeId, { partitioner: 'broadcast' });
    return new BroadcastStream<T>(this.graph, this.nodeId, descriptors);
  }

  /**
   * With a broadcast stream: `process` gets both inputs and broadcast state. With another stream: a
   * ConnectedStreams whose co-functions (`map`, `flatMap`, `process`) get the records of both.
   */
  connect<T2>(broadcast: BroadcastStream<T2>): BroadcastConnectedStream<T, T2>;
  connect<T2>(other: DataStream<T2>): ConnectedStreams<T, T2>;
  connect<T2>(other: BroadcastStream<T2> | DataStream<T2>): BroadcastConnectedStream<T, T2> | ConnectedStreams<T, T2> {
    if (other instanceof BroadcastStream) return new BroadcastConnectedStream<T, T2>(this.graph, this.nodeId, this.partition, other);
    this.checkSameEnvironment(other);
    return new ConnectedStreams<T, T2>(this.graph, this.input(), other.input());
  }

  /**
   * The records of this stream and of `others` (of the same type) as one stream. Each input keeps its own
   * partitioning (keyBy, rebalance, …) into the union, and inputs may have different parallelisms.
   */
  /** Window join: `join(other).where(k1).equalTo(k2).window(assigner).apply(joinFn)`. */
  join<T2>(other: DataStream<T2>): JoinedStreams<T, T2> {
    this.checkSameEnvironment(other);
    return new JoinedStreams<T, T2>(this, other, 'join');
  }

  /** Window coGroup: like join, but `apply` gets both sides' elements of each key and window at once. */
  coGroup<T2>(other: DataStream<T2>): JoinedStreams<T, T2> {
    this.checkSameEnvironment(other);
    return new JoinedStreams<T, T2>(this, other, 'coGroup');
  }

  union(...others: DataStream<T>[]): DataStream<T> {
    for (const o of others) this.checkSameEnvironment(o);
    const node = this.graph.addNode({ kind: 'union', name: 'Union', factory: () => new UnionOperator() });
    for (const s of [this, ...others]) this.graph.addEdge({ source: s.nodeId, target: node.id, ...s.partition });
    return new DataStream<T>(this.graph, node.id);
  }

  /** @internal */
  input(): StreamInput {
    return { nodeId: this.nodeId, partition: this.partition };
  }

  private checkSameEnvironment(other: DataStream<any>): void {
    if (other.graph !== this.graph) throw new TypeError('Cannot combine streams of different StreamExecutionEnvironments');
  }

  forward(): DataStream<T> {
    return new DataStream<T>(this.graph, this.nodeId, { partitioner: 'forward' });
  }

  print(sinkIdentifier?: string): DataStreamSink<T> {
    return this.sinkOperator('Print to Std. Out', () => new PrintSinkOperator<T>(sinkIdentifier));
  }

  /** Flink's addSink(SinkFunction): a plain function or an object with invoke(value, ctx), rich or not. */
  addSink(fn: Fn<SinkFunction<T>, [T, SinkFunction.Context], void> | JdbcSink<T>): DataStreamSink<T> {
    if (fn instanceof JdbcSink) return this.sinkTo(fn); // Flink's JdbcSink.sink(...) is a SinkFunction
    return this.sinkOperator('Unnamed', () => new StreamSink<T>(fn));
  }

  sinkTo(sink: Sink<T>): DataStreamSink<T> {
    const s = this.sinkToOperator(sink);
    this.graph.node(s.nodeId).connector = sink;
    return s;
  }

  private sinkToOperator(sink: Sink<T>): DataStreamSink<T> {
    if (sink.kind === 'file') return this.sinkOperator(sink.name, () => new FileSinkOperator<T>(sink as FileSink<T>));
    if (sink.kind === 'kafka') {
      const kafka = sink as KafkaSink<T>;
      const op = this.transform<never>('sink', sink.name, () => new KafkaWriterOperator<T>(kafka));
      this.graph.node(op.nodeId).preflight = (ctx) => kafka.preflight(ctx);
      return new DataStreamSink<T>(op);
    }
    if (sink.kind === 'jdbc') {
      const jdbc = sink as JdbcSink<T>;
      const op = this.transform<never>('sink', sink.name, () => new JdbcWriterOperator<T>(jdbc));
      this.graph.node(op.nodeId).preflight = () => jdbc.preflight();
      return new DataStreamSink<T>(op);
    }
    throw new TypeError(`Unsupported sink ${String((sink as Sink<T>).name)}`);
  }

  private sinkOperator(name: string, factory: () => StreamOperator): DataStreamSink<T> {
    const op = this.transform<never>('sink', name, factory);
    return new DataStreamSink<T>(op);
  }
}

/** A stream produced by an operator whose properties (uid, name, parallelism) can still be set. */
export class SingleOutputStreamOperator<T> extends DataStream<T> {
  private get node(): StreamNode {
    return this.graph.node(this.nodeId);
  }

  /** The stable id that maps this operator's state in savepoints across program changes. */
  uid(uid: string): this {
    if (!uid) throw new TypeError('uid must be a non-empty string');
    this.node.uid = uid;
    return this;
  }

  name(name: string): this {
    this.node.name = name;
    return this;
  }

  setParallelism(parallelism: number): this {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new RangeError(`The parallelism of an operator must be at least 1, got ${parallelism}`);
    if (this.node.nonParallel && parallelism !== 1) throw new RangeError(`The parallelism of non parallel operator '${this.node.name}' must be 1.`);
    this.node.parallelism = parallelism;
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    this.node.maxParallelism = maxParallelism;
    return this;
  }

  disableChaining(): this {
    this.node.chaining = 'NEVER';
    return this;
  }

  startNewChain(): this {
    this.node.chaining = 'HEAD';
    return this;
  }

  /**
   * The records this operator emitted to `tag` (ctx.output(tag, …), sideOutputLateData). A pass-through
   * operator fed by an edge that carries only that tag's records (Flink uses a virtual node instead).
   */
  getSideOutput<X>(tag: OutputTag<X>): SingleOutputStreamOperator<X> {
    const node = this.graph.addNode({ kind: 'sideOutput', name: `SideOutput(${tag.id})`, factory: () => new SideOutputOperator() });
    const parallelism = this.node.parallelism;
    if (parallelism !== undefined) node.parallelism = parallelism;
    this.graph.addEdge({ source: this.nodeId, target: node.id, outputTag: tag.id });
    return new SingleOutputStreamOperator<X>(this.graph, node.id);
  }
}

export class KeyedStream<T, K> extends DataStream<T> {
  override process<R>(fn: KeyedProcessFunction<K, T, R> | ((value: T, ctx: KeyedProcessFunction.Context<K>, out: Collector<R>) => void)): SingleOutputStreamOperator<R> {
    return this.transform('keyedProcess', 'KeyedProcess', () => new KeyedProcessOperator(fn), true);
  }

  override map<R>(fn: Fn<MapFunction<T, R>, [T], R>): SingleOutputStreamOperator<R> {
    return this.transform('map', 'Map', () => new StreamMap(fn), true);
  }

  override filter(fn: Fn<FilterFunction<T>, [T], boolean>): SingleOutputStreamOperator<T> {
    return this.transform('filter', 'Filter', () => new StreamFilter(fn), true);
  }

  override flatMap<R>(fn: Fn<FlatMapFunction<T, R>, [T, Collector<R>], void>): SingleOutputStreamOperator<R> {
    return this.transform('flatMap', 'Flat Map', () => new StreamFlatMap(fn), true);
  }

  /** Flink's interval join of two keyed streams on event time; the interval is set with `between`. */
  intervalJoin<T2>(other: KeyedStream<T2, K>): IntervalJoin<T, T2, K> {
    return new IntervalJoin<T, T2, K>(this.connect(other));
  }

  /** Windows of this keyed stream; `reduce`, `aggregate` or `process` then compute one result per window. */
  window(assigner: WindowAssigner<T> | WindowAssigner): WindowedStream<T, K> {
    return new WindowedStream<T, K>(assigner as WindowAssigner<T>, <R>(name: string, factory: () => StreamOperator) =>
      this.transform<R>('window', name, factory, true));
  }

  reduce(fn: Fn<ReduceFunction<T>, [T, T], T>): SingleOutputStreamOperator<T> {
    return this.transform('reduce', 'Keyed Reduce', () => new StreamGroupedReduce<T>(fn), true);
  }

  /** Running sum of a tuple index or object field per key, like Flink's sum(position|field). */
  sum(field: number | string): SingleOutputStreamOperator<T> {
    return this.aggregate(field, 'sum');
  }

  min(field: number | string): SingleOutputStreamOperator<T> {
    return this.aggregate(field, 'min');
  }

  max(field: number | string): SingleOutputStreamOperator<T> {
    return this.aggregate(field, 'max');
  }

  private aggregate(field: number | string, agg: 'sum' | 'min' | 'max'): SingleOutputStreamOperator<T> {
    return this.transform('reduce', 'Keyed Aggregation', () => new StreamGroupedReduce<T>(fieldAggregator<T>(field, agg)), true);
  }
}

/** A stream whose elements go to every parallel instance of the operator it is connected to, with broadcast state. */
export class BroadcastStream<T> {
  /** @internal */
  constructor(
    /** @internal */ readonly graph: StreamGraph,
    /** @internal */ readonly nodeId: number,
    /** @internal */ readonly descriptors: MapStateDescriptor<any, any>[],
  ) {}
}

/** The result of `stream.connect(broadcastStream)`: keyed when the first stream was keyed. */
export class BroadcastConnectedStream<IN1, IN2> {
  /** @internal */
  constructor(
    private readonly graph: StreamGraph,
    private readonly nodeId: number,
    private readonly partition: PendingPartition,
    private readonly broadcastStream: BroadcastStream<IN2>,
  ) {}

  process<OUT>(fn: KeyedBroadcastProcessFunction<any, IN1, IN2, OUT> | BroadcastProcessFunction<IN1, IN2, OUT>): SingleOutputStreamOperator<OUT> {
    const keyed = this.partition.partitioner === 'hash';
    if (keyed && fn instanceof BroadcastProcessFunction) throw new TypeError('A keyed stream connected to a broadcast stream needs a KeyedBroadcastProcessFunction');
    if (!keyed && fn instanceof KeyedBroadcastProcessFunction) throw new TypeError('A non-keyed stream connected to a broadcast stream needs a BroadcastProcessFunction');
    const descriptors = this.broadcastStream.descriptors;
    const node = this.graph.addNode({
      kind: 'broadcastProcess',
      name: 'Co-Process-Broadcast' + (keyed ? '-Keyed' : ''),
      keySelector: keyed ? this.partition.keySelector : undefined,
      factory: () => new CoBroadcastOperator(fn, descriptors),
    });
    this.graph.addEdge({ source: this.nodeId, target: node.id, ...this.partition, typeNumber: 1 });
    this.graph.addEdge({ source: this.broadcastStream.nodeId, target: node.id, partitioner: 'broadcast', typeNumber: 2 });
    return new SingleOutputStreamOperator<OUT>(this.graph, node.id);
  }
}

export class DataStreamSink<T> {
  /** @internal */
  constructor(private readonly op: SingleOutputStreamOperator<never>) {}

  /** @internal The stream node of this sink. */
  get nodeId(): number {
    return this.op.nodeId;
  }

  uid(uid: string): this {
    this.op.uid(uid);
    return this;
  }

  name(name: string): this {
    this.op.name(name);
    return this;
  }

  setParallelism(parallelism: number): this {
    this.op.setParallelism(parallelism);
    return this;
  }

  disableChaining(): this {
    this.op.disableChaining();
    return this;
  }
}
