/**
 * Test job: examples/StateMachineExample.ts (same events, same state machine, same output) with two switches
 * for the savepoint-compatibility scenarios:
 *
 *   --without-state-machine  drops the keyed state-machine operator (uid 'state-machine'); the events are
 *                            written as they come, so a savepoint of the full job has state nothing claims.
 *   --no-uids                sets no uid on any operator, so their ids are the auto-generated ones.
 *   --slow-ms N              the sink side spends N ms (busy) per line, so records queue up in front of it and a
 *                            checkpoint barrier needs a while to get through: widens the window of a savepoint.
 *
 *   flink run test/jobs/StateMachineVariant.ts --output <dir> [--count N] [--rate R] [--keys K] [--no-uids] [--without-state-machine]
 */
import { DataGeneratorSource, FileSink, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment } from 'flink-ts';
import { eventGenerator, StateMachineMapper, type Event } from '../../examples/lib/StateMachine.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const keys = params.getInt('keys', 100);
const count = params.getInt('count', Number.MAX_SAFE_INTEGER);
const rate = params.getInt('rate', 1000);
const errorEvery = params.getInt('error-every', 97);
const uids = !params.has('no-uids');
const withStateMachine = !params.has('without-state-machine');
const slowMs = params.getInt('slow-ms', 0);

const event = eventGenerator(keys, errorEvery);

const env = StreamExecutionEnvironment.getExecutionEnvironment();

let events = env
  .fromSource(new DataGeneratorSource(event, count, RateLimiterStrategy.perSecond(rate)), undefined, 'Events Generator Source')
  .setParallelism(1);
if (uids) events = events.uid('events-source');

let lines;
if (withStateMachine) {
  lines = events.keyBy((e: Event) => e.address).process(new StateMachineMapper()).name('State machine');
  if (uids) lines = lines.uid('state-machine');
} else {
  lines = events.map((e: Event) => `event,${e.address},${e.type},${e.index}`).name('Format events');
}

if (slowMs > 0) {
  lines = lines.map((line: string) => {
    const until = Date.now() + slowMs;
    while (Date.now() < until) {
      // busy: a slow sink-side operator
    }
    return line;
  }).name('Slow');
  if (uids) lines = lines.uid('slow');
}

const sink = lines.sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build()).name('Alerts sink');
if (uids) sink.uid('alerts-sink');

await env.execute('State machine job');
