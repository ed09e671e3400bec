/**
 * Test job for barrier alignment and checkpointing modes: a parallel source (2 subtasks) keyed into a running
 * count (2 subtasks), so every count subtask has two input channels and aligns barriers. Each key gets its
 * records from one source subtask only (the key includes the source half), so the output
 * `<key>,<i>,<count>` is deterministic. --slow-us busy-waits per record before the sink: backpressure.
 */
import {
  DataGeneratorSource, FileSink, KeyedProcessFunction, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment,
  ValueStateDescriptor, type Collector, type ValueState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 20000);
const keys = params.getInt('keys', 10);
const slowUs = params.getInt('slow-us', 0);
const half = Math.floor(count / 2); // the split boundary of a 2-subtask source

class RunningCount extends KeyedProcessFunction<number, number, string> {
  private count!: ValueState<number>;
  override open(): void {
    this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(i: number, ctx: KeyedProcessFunction.Context<number>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(`${ctx.getCurrentKey()},${i},${n}`);
  }
}

/** A deliberately slow last stage: the sink cannot keep up, buffers fill, barriers queue behind data. */
function slow(line: string): string {
  if (slowUs > 0) {
    const until = performance.now() + slowUs / 1000;
    while (performance.now() < until) { /* busy */ }
  }
  return line;
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new DataGeneratorSource((i) => i, count, RateLimiterStrategy.perSecond(params.getInt('rate', 4000))), undefined, 'numbers')
  .uid('numbers')
  .setParallelism(2)
  .keyBy((i: number) => (i < half ? 0 : 1000) + (i % keys))
  .process(new RunningCount())
  .uid('count')
  .setParallelism(params.getInt('count-parallelism', 2))
  .map(slow)
  .uid('slow')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Alignment job');
