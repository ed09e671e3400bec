/** The job-facing API: what `import ... from 'flink-ts'` gives a program. Names follow Flink's DataStream API. */
export { StreamExecutionEnvironment, WatermarkStrategy, type CheckpointingMode } from './api/StreamExecutionEnvironment.js';
export { DataStream, SingleOutputStreamOperator, KeyedStream, DataStreamSink, BroadcastStream, BroadcastConnectedStream } from './api/DataStream.js';
export {
  BroadcastProcessFunction, KeyedBroadcastProcessFunction, type BroadcastState, type ReadOnlyBroadcastState,
} from './api/broadcast.js';
export {
  AbstractRichFunction, RichMapFunction, RichFilterFunction, RichFlatMapFunction, ProcessFunction, KeyedProcessFunction,
  type Collector, type RuntimeContext, type MapFunction, type FilterFunction, type FlatMapFunction, type ReduceFunction,
  type KeySelector, type CheckpointedFunction, type CheckpointListener, type FunctionInitializationContext,
  type FunctionSnapshotContext,
} from './api/functions.js';
export { ValueStateDescriptor, ListStateDescriptor, type ValueState, type ListState, type State } from './api/state.js';
export {
  DataGeneratorSource, RateLimiterStrategy, NumberSequenceSource, TextFileSource, FromElementsSource,
  type Source, type SourceReader, type SourceSplit,
} from './api/sources.js';
export { FileSink, SimpleStringEncoder, type Encoder, type Sink } from './api/sinks.js';
export { ParameterTool } from './api/ParameterTool.js';
export type { JobExecutionResult } from './api/ProgramContext.js';
export {
  ReducingStateDescriptor, AggregatingStateDescriptor, MapStateDescriptor, type ReducingState, type AggregatingState,
  type AppendingState, type MapState, type AggregateFunction, type TypeSerializer, type TypeHint, type TypeInfo,
} from './api/state.js';
export { StateTtlConfig, StateTtlConfigBuilder, UpdateType, StateVisibility, TtlTimeCharacteristic } from './api/StateTtlConfig.js';
export { HashMapStateBackend, EmbeddedRocksDBStateBackend, type StateBackend } from './api/stateBackends.js';
