/**
 * In the spirit of Flink's StateMachineExample: a stream of events per network address drives a small
 * state machine per address (keyed ValueState). Events that are invalid in the current state raise an
 * alert; each completed cycle of the machine is counted.
 *
 * The event stream is a pure function of its index, so a run that is stopped, restored from a
 * savepoint or a checkpoint, or restarted after a failure, must produce exactly the same output as one
 * that was never interrupted.
 *
 *   npx flink run -d examples/StateMachineExample.ts --output /tmp/alerts [--count 200000] [--rate 2000] [--keys 100]
 */
import { DataGeneratorSource, FileSink, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment } from 'flink-ts';
import { eventGenerator, StateMachineMapper, type Event } from './lib/StateMachine.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const keys = params.getInt('keys', 100);
const count = params.getInt('count', Number.MAX_SAFE_INTEGER);
const rate = params.getInt('rate', 1000);
const errorEvery = params.getInt('error-every', 97);

const event = eventGenerator(keys, errorEvery);

const env = StreamExecutionEnvironment.getExecutionEnvironment();

const events = env
  .fromSource(new DataGeneratorSource(event, count, RateLimiterStrategy.perSecond(rate)), undefined, 'Events Generator Source')
  .uid('events-source')
  // One source subtask keeps every address's events in order, like a partitioned log would.
  .setParallelism(1);

const alerts = events
  .keyBy((e: Event) => e.address)
  .process(new StateMachineMapper())
  .name('State machine')
  .uid('state-machine');

if (params.has('output')) {
  alerts.sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build()).name('Alerts sink').uid('alerts-sink');
} else {
  alerts.print();
}

await env.execute('State machine job');
