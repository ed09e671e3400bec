/**
 * The chaos harness's job: a deterministic keyed running count and sum over a generated sequence, written
 * exactly-once by the FileSink. Each output line `key,count,sum` is unique and depends on the keyed state,
 * so a lost record, a replayed one, or lost state shows in the committed output.
 *
 * The source runs at parallelism 1 (every key sees its records in one order); the keyed operator and the sink
 * at the job's default parallelism, so every checkpoint has several state files.
 *
 * With --crash-worker-at N the first attempt throws an uncaught error from a timer of the task slot's thread
 * once record N passes: the worker thread dies (not just the task), and the job must fail over.
 *
 *   flink run test/chaos/ChaosJob.ts --output <dir> [--count N] [--rate R] [--keys K] [--crash-worker-at N [--crash-gate <file>]]
 */
import { existsSync } from 'node:fs';
import {
  DataGeneratorSource, FileSink, KeyedProcessFunction, ParameterTool, RateLimiterStrategy, RichMapFunction, StreamExecutionEnvironment,
  ValueStateDescriptor, type CheckpointListener, type Collector, type ValueState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 20000);
const rate = params.getInt('rate', 2000);
const keys = params.getInt('keys', 16);
const crashAt = params.getInt('crash-worker-at', -1);
const crashGate = params.has('crash-gate') ? params.getRequired('crash-gate') : undefined;

/**
 * The crash comes at the first record from --crash-worker-at on that follows a completed checkpoint (so failover
 * always has one to restore), and with --crash-gate only once that file exists (a test prepares something first).
 */
class CrashWorkerOnce extends RichMapFunction<number, number> implements CheckpointListener {
  private checkpointed = false;
  private crashed = false;
  notifyCheckpointComplete(): void {
    this.checkpointed = true;
  }
  map(i: number): number {
    if (crashAt >= 0 && i >= crashAt && !this.crashed && this.checkpointed && this.getRuntimeContext().getAttemptNumber() === 0
      && (crashGate === undefined || existsSync(crashGate))) {
      this.crashed = true;
      setTimeout(() => {
        throw new Error(`Injected uncaught error in the task slot thread at record ${i}`);
      }, 0);
    }
    return i;
  }
}

class RunningCount extends KeyedProcessFunction<number, number, string> {
  private count!: ValueState<number>;
  private sum!: ValueState<number>;
  override open(): void {
    this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('count'));
    this.sum = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('sum'));
  }
  processElement(i: number, ctx: KeyedProcessFunction.Context<number>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1;
    const s = (this.sum.value() ?? 0) + i;
    this.count.update(n);
    this.sum.update(s);
    out.collect(`${ctx.getCurrentKey()},${n},${s}`);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new DataGeneratorSource((i) => i, count, RateLimiterStrategy.perSecond(rate)), undefined, 'numbers')
  .uid('numbers')
  .setParallelism(1)
  .map(new CrashWorkerOnce())
  .uid('crash-worker-once')
  .setParallelism(1)
  .keyBy((i: number) => i % keys)
  .process(new RunningCount())
  .uid('running-count')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Chaos job');
