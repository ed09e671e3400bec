/**
 * Test job of the catalog scenarios: a keyed running count over a rate-limited sequence, under the job name
 * --name (cron scripts find jobs by name), with no sink, so it runs until cancelled or stopped.
 */
import { DataGeneratorSource, DiscardingSink, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment } from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new DataGeneratorSource((i) => i, params.getInt('count', Number.MAX_SAFE_INTEGER), RateLimiterStrategy.perSecond(params.getInt('rate', 200))), undefined, 'numbers')
  .uid('numbers')
  .setParallelism(1)
  .keyBy((i: number) => i % 10)
  .sum(0)
  .uid('sum')
  .addSink(new DiscardingSink<number>())
  .uid('sink');
await env.execute(params.get('name', 'Named count job'));
