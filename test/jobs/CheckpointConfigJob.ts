/**
 * Test job for the program-side checkpoint configuration: every setting comes from an argument and is set
 * through env.enableCheckpointing / env.getCheckpointConfig() / env.setStateBackend, never the configuration.
 *
 * Dataflow: a 2-subtask source of records {i, t: emission time} keyed into a running count (2 subtasks,
 * each with one input channel per source subtask, so it aligns barriers), written exactly-once to --output
 * as `<key>,<i>,<count>,<subtask>,<latency ms>`. Keys include the source half, so counts are deterministic.
 * --stall-ms: source subtask 1 takes that long to snapshot (a chained map's snapshotState busy-waits), so
 * its barrier leaves late: an aligning count subtask 0 then holds source 0's records back meanwhile.
 * --fail-at: the count throws once at that record on the first attempt. --pad: bytes of keyed state per key.
 */
import {
  CheckpointingMode, DataGeneratorSource, EmbeddedRocksDBStateBackend, ExternalizedCheckpointRetention, FileSink,
  FsStateBackend, HashMapStateBackend, JobManagerCheckpointStorage, KeyedProcessFunction, MemoryStateBackend,
  ParameterTool, RateLimiterStrategy, RichMapFunction, RocksDBStateBackend, StreamExecutionEnvironment,
  ValueStateDescriptor, type CheckpointedFunction, type Collector, type ValueState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 4000);
const keys = 10;
const half = Math.floor(count / 2);
const stallMs = params.getInt('stall-ms', 0);
const failAt = params.getInt('fail-at', -1);
const pad = 'x'.repeat(params.getInt('pad', 0));

type Rec = { i: number; t: number };

class RunningCount extends KeyedProcessFunction<number, Rec, string> {
  private count!: ValueState<[number, string]>;
  override open(): void {
    this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<[number, string]>('count'));
  }
  processElement(r: Rec, ctx: KeyedProcessFunction.Context<number>, out: Collector<string>): void {
    const rc = this.getRuntimeContext();
    if (r.i === failAt && rc.getAttemptNumber() === 0) throw new Error(`Injected failure at record ${r.i}`);
    const n = (this.count.value()?.[0] ?? 0) + 1;
    this.count.update([n, pad]);
    out.collect(`${ctx.getCurrentKey()},${r.i},${n},${rc.getIndexOfThisSubtask()},${Date.now() - r.t}`);
  }
}

/** Chained to the source: on subtask 1, the snapshot (and so the barrier) takes --stall-ms. */
class SlowSnapshot extends RichMapFunction<Rec, Rec> implements CheckpointedFunction {
  map(r: Rec): Rec {
    return r;
  }
  snapshotState(): void {
    if (stallMs > 0 && this.getRuntimeContext().getIndexOfThisSubtask() === 1) {
      const until = Date.now() + stallMs;
      while (Date.now() < until) { /* busy: nothing else runs in this task slot */ }
    }
  }
  initializeState(): void {}
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const interval = params.getInt('interval', 200);
const mode = params.get('mode');
if (mode === undefined) env.enableCheckpointing(interval);
else env.enableCheckpointing(interval, mode === 'AT_LEAST_ONCE' ? CheckpointingMode.AT_LEAST_ONCE : CheckpointingMode.EXACTLY_ONCE);
const cc = env.getCheckpointConfig();
if (params.has('timeout')) cc.setCheckpointTimeout(params.getInt('timeout'));
if (params.has('min-pause')) cc.setMinPauseBetweenCheckpoints(params.getInt('min-pause'));
if (params.has('max-concurrent')) cc.setMaxConcurrentCheckpoints(params.getInt('max-concurrent'));
if (params.has('unaligned')) cc.enableUnalignedCheckpoints(params.get('unaligned') === 'true');
if (params.has('aligned-timeout')) cc.setAlignedCheckpointTimeout(params.getInt('aligned-timeout'));
if (params.has('tolerable')) cc.setTolerableCheckpointFailureNumber(params.getInt('tolerable'));
const retention = params.get('retention');
if (retention) cc.setExternalizedCheckpointRetention(ExternalizedCheckpointRetention[retention as keyof typeof ExternalizedCheckpointRetention]);
const storage = params.get('storage');
if (storage === 'jobmanager') cc.setCheckpointStorage(params.has('max-state-size') ? new JobManagerCheckpointStorage(params.getInt('max-state-size')) : new JobManagerCheckpointStorage());
else if (storage) cc.setCheckpointStorage(storage);
const backend = params.get('backend');
if (backend === 'hashmap') env.setStateBackend(new HashMapStateBackend());
if (backend === 'embedded') env.setStateBackend(new EmbeddedRocksDBStateBackend(params.get('incremental') === 'true'));
if (backend === 'memory') env.setStateBackend(new MemoryStateBackend());
if (backend === 'fs') env.setStateBackend(new FsStateBackend(params.getRequired('backend-dir')));
if (backend === 'rocksdb') env.setStateBackend(new RocksDBStateBackend(params.getRequired('backend-dir'), params.get('incremental') === 'true'));

env
  .fromSource(new DataGeneratorSource((i): Rec => ({ i, t: Date.now() }), count, RateLimiterStrategy.perSecond(params.getInt('rate', 1000))), undefined, 'numbers')
  .uid('numbers')
  .setParallelism(2)
  .map(new SlowSnapshot())
  .uid('slow-snapshot')
  .setParallelism(2)
  .keyBy((r: Rec) => (r.i < half ? 0 : 1000) + (r.i % keys))
  .process(new RunningCount())
  .uid('count')
  .setParallelism(2)
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Checkpoint config job');
