/**
 * Test job of the metrics scenarios: an unthrottled sequence into a sink that takes about --sink-ms per record
 * (a slow external system), in its own vertex (rebalance): the source is backpressured, the sink busy.
 */
import { ParameterTool, StreamExecutionEnvironment } from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const sinkMs = params.getInt('sink-ms', 1);
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(1);
env
  .fromSequence(1, Number.MAX_SAFE_INTEGER)
  .rebalance()
  .addSink(() => {
    const until = performance.now() + sinkMs;
    while (performance.now() < until) { /* waiting on the slow system */ }
  })
  .name('slow-sink');
await env.execute(params.get('name', 'Slow sink job'));
