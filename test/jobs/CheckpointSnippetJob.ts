/**
 * The eight lines Flink users copy (issue 20), in TypeScript, in one job; only the directories come from
 * --base so the test can run it. What stays in effect, as in Flink: AT_LEAST_ONCE every 5 s, checkpoints
 * retained on cancellation, and the last backend: RocksDBStateBackend(<base>/rocksdb/ck, incremental), i.e. the
 * embedded backend with incremental checkpoints to <base>/rocksdb/ck; a legacy backend's storage wins
 * over setCheckpointStorage().
 */
import {
  CheckpointingMode, ExternalizedCheckpointCleanup, FileSink, FsStateBackend, HashMapStateBackend, JobManagerCheckpointStorage,
  KeyedProcessFunction, ParameterTool, RocksDBStateBackend, StreamExecutionEnvironment, ValueStateDescriptor, DataGeneratorSource,
  RateLimiterStrategy, type CheckpointConfig, type Collector, type ValueState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const base = params.getRequired('base');
const env = StreamExecutionEnvironment.getExecutionEnvironment();

env.enableCheckpointing(5000, CheckpointingMode.AT_LEAST_ONCE);
const config: CheckpointConfig = env.getCheckpointConfig();
config.enableExternalizedCheckpoints(ExternalizedCheckpointCleanup.RETAIN_ON_CANCELLATION);
env.setStateBackend(new HashMapStateBackend());
env.getCheckpointConfig().setCheckpointStorage(`file://${base}/fs/ck`);
env.getCheckpointConfig().setCheckpointStorage(new JobManagerCheckpointStorage());
env.setStateBackend(new FsStateBackend(`file://${base}/fs/ck`)); // before Flink 1.14
env.setStateBackend(new RocksDBStateBackend(`file://${base}/rocksdb/ck`, true));

class Count extends KeyedProcessFunction<number, number, string> {
  private n!: ValueState<number>;
  override open(): void {
    this.n = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('n'));
  }
  processElement(i: number, ctx: KeyedProcessFunction.Context<number>, out: Collector<string>): void {
    const n = (this.n.value() ?? 0) + 1;
    this.n.update(n);
    out.collect(`${ctx.getCurrentKey()},${i},${n}`);
  }
}

env.fromSource(new DataGeneratorSource((i) => i, params.getInt('count', 1_000_000), RateLimiterStrategy.perSecond(200)), undefined, 'numbers')
  .uid('numbers')
  .keyBy((i: number) => i % 10)
  .process(new Count())
  .uid('count')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Checkpoint snippet job');
