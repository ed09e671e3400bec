/** The job-facing API: what `import ... from 'flink-ts'` gives a program. Names follow Flink's DataStream API. */
export { StreamExecutionEnvironment } from './api/StreamExecutionEnvironment.js';
export { CheckpointingMode } from './api/CheckpointingMode.js';
export {
  CheckpointConfig, ExternalizedCheckpointRetention, ExternalizedCheckpointCleanup,
} from './api/CheckpointConfig.js';
export { FileSystemCheckpointStorage, JobManagerCheckpointStorage, type CheckpointStorage } from './api/checkpointStorage.js';
export { MemoryStateBackend, FsStateBackend, RocksDBStateBackend } from './api/legacyStateBackends.js';
export { DataStream, SingleOutputStreamOperator, KeyedStream, DataStreamSink, BroadcastStream, BroadcastConnectedStream } from './api/DataStream.js';
export { ConnectedStreams, IntervalJoin, IntervalJoined } from './api/ConnectedStreams.js';
export {
  CoProcessFunction, KeyedCoProcessFunction, ProcessJoinFunction, RichCoMapFunction, RichCoFlatMapFunction,
  type CoMapFunction, type CoFlatMapFunction,
} from './api/co.js';
export {
  BroadcastProcessFunction, KeyedBroadcastProcessFunction, type BroadcastState, type ReadOnlyBroadcastState,
} from './api/broadcast.js';
export {
  AbstractRichFunction, RichMapFunction, RichFilterFunction, RichFlatMapFunction, ProcessFunction, KeyedProcessFunction,
  RichSinkFunction, DiscardingSink, type SinkFunction,
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
export {
  WatermarkStrategy, Watermark, BoundedOutOfOrdernessWatermarks, AscendingTimestampsWatermarks, WatermarksWithIdleness,
  type WatermarkGenerator, type WatermarkOutput, type TimestampAssigner,
} from './api/eventtime.js';
export { OutputTag } from './api/OutputTag.js';
export {
  Time, TimeWindow, WindowAssigner, TumblingEventTimeWindows, SlidingEventTimeWindows, EventTimeSessionWindows,
  TumblingProcessingTimeWindows, SlidingProcessingTimeWindows, ProcessingTimeSessionWindows, ProcessWindowFunction,
  type WindowAssignerContext,
} from './api/windows.js';
export { WindowedStream } from './api/windowing.js';
export { JoinedStreams, WindowedJoin, type JoinFunction, type FlatJoinFunction, type CoGroupFunction } from './api/JoinedStreams.js';
export { HashMapStateBackend, EmbeddedRocksDBStateBackend, type StateBackend } from './api/stateBackends.js';
export { KafkaSource, KafkaSourceBuilder, type KafkaPartitionSplit } from './connectors/kafka/KafkaSource.js';
export { KafkaSink, KafkaSinkBuilder, KafkaRecordSerializationSchema, DeliveryGuarantee } from './connectors/kafka/KafkaSink.js';
export { OffsetsInitializer, OffsetResetStrategy } from './connectors/kafka/OffsetsInitializer.js';
export { SimpleStringSchema, KafkaRecordDeserializationSchema, type ConsumerRecord } from './connectors/kafka/serialization.js';
export { JdbcSink } from './connectors/jdbc/JdbcSink.js';
export { JdbcExecutionOptions, JdbcExecutionOptionsBuilder } from './connectors/jdbc/JdbcExecutionOptions.js';
export { JdbcExactlyOnceOptions, JdbcExactlyOnceOptionsBuilder } from './connectors/jdbc/JdbcExactlyOnceOptions.js';
export { JdbcConnectionOptions } from './connectors/jdbc/JdbcConnectionOptions.js';
export { type JdbcStatementBuilder, type PreparedStatement } from './connectors/jdbc/JdbcStatement.js';
