/**
 * Test job: a keyed running count over a deterministic sequence, written exactly-once to --output.
 * On the first attempt a user function throws once the source has passed --fail-at, so the job must
 * restart from its latest checkpoint and still produce exactly the output of a run without failure.
 */
import { DataGeneratorSource, FileSink, ParameterTool, RateLimiterStrategy, RichMapFunction, StreamExecutionEnvironment } from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 10000);
const failAt = params.getInt('fail-at', -1);
/** How many attempts fail at --fail-at (attempts 0..N-1); the default 1 fails only the first. */
const failAttempts = params.getInt('fail-attempts', 1);
const rate = params.getInt('rate', 5000);

class FailOnce extends RichMapFunction<number, number> {
  map(i: number): number {
    if (i === failAt && this.getRuntimeContext().getAttemptNumber() < failAttempts) throw new Error(`Injected failure at record ${i}`);
    return i;
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new DataGeneratorSource((i) => i, count, RateLimiterStrategy.perSecond(rate)), undefined, 'numbers')
  .uid('numbers')
  .setParallelism(1) // every key sees its records in one order, so running sums are comparable
  .map(new FailOnce())
  .uid('fail-once')
  .setParallelism(1) // chained to the source: each key's records keep one order
  .keyBy((i: number) => i % 10)
  .sum(0)
  .uid('sum')
  .map((s: number) => String(s))
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Fail once job');
