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
import {
  DataGeneratorSource, FileSink, KeyedProcessFunction, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment,
  ValueStateDescriptor, type Collector, type ValueState,
} from 'flink-ts';

interface Event {
  address: string;
  type: string;
  index: number;
}

/** The valid path through the machine: Initial -a-> W -b-> X -c-> Y -d-> Z -e-> (cycle complete). */
const CYCLE = 'abcde';
const STATES = ['Initial', 'W', 'X', 'Y', 'Z'];

const params = ParameterTool.fromArgs(process.argv.slice(2));
const keys = params.getInt('keys', 100);
const count = params.getInt('count', Number.MAX_SAFE_INTEGER);
const rate = params.getInt('rate', 1000);
const errorEvery = params.getInt('error-every', 97);

/** Deterministic: the j-th event of each address follows the cycle, except injected invalid ones. */
function event(i: number): Event {
  const k = i % keys;
  const j = Math.floor(i / keys);
  const invalid = (i * 2654435761) % errorEvery === 0;
  return { address: `10.0.${Math.floor(k / 256)}.${k % 256}`, type: invalid ? 'g' : CYCLE[j % CYCLE.length], index: i };
}

class StateMachineMapper extends KeyedProcessFunction<string, Event, string> {
  private state!: ValueState<number>;
  private cycles!: ValueState<number>;

  override open(): void {
    this.state = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('state'));
    this.cycles = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('cycles'));
  }

  processElement(e: Event, _ctx: KeyedProcessFunction.Context<string>, out: Collector<string>): void {
    const current = this.state.value() ?? 0;
    if (e.type !== CYCLE[current]) {
      out.collect(`alert,${e.address},${STATES[current]},${e.type},${e.index}`);
      return; // an invalid event leaves the machine where it was
    }
    const next = (current + 1) % CYCLE.length;
    this.state.update(next);
    if (next === 0) {
      const n = (this.cycles.value() ?? 0) + 1;
      this.cycles.update(n);
      out.collect(`cycle,${e.address},${n}`);
    }
  }
}

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
