/**
 * Test job: the keyed state kinds (value, list, reducing, aggregating, map) in one KeyedProcessFunction,
 * behind a RichMapFunction that throws once, on the first attempt, at record --fail-at. The job must
 * restart from its latest completed checkpoint and still produce exactly the output of a run without
 * failure: every output line depends on all five states, so state restored wrongly (or records replayed
 * into state that already counted them) shows.
 *
 * The source and the failing map run at parallelism 1 (one chain), so every key sees its records in one
 * order; the keyed operator and the sink follow the job's parallelism.
 *
 *   flink run test/jobs/StateKindsFailOnceJob.ts --output <dir> [--count N] [--rate R] [--keys K] [--fail-at I]
 */
import {
  AggregatingStateDescriptor, DataGeneratorSource, FileSink, KeyedProcessFunction, ListStateDescriptor, MapStateDescriptor,
  ParameterTool, RateLimiterStrategy, ReducingStateDescriptor, RichMapFunction, StreamExecutionEnvironment, ValueStateDescriptor,
  type AggregateFunction, type AggregatingState, type Collector, type ListState, type MapState, type ReducingState, type ValueState,
} from 'flink-ts';

interface Event {
  key: string;
  index: number;
  value: number;
}

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 1000);
const rate = params.getInt('rate', 500);
const keys = params.getInt('keys', 7);
const failAt = params.getInt('fail-at', -1);

function event(i: number): Event {
  return { key: `k${i % keys}`, index: i, value: (i * 7919) % 53 };
}

class FailOnce extends RichMapFunction<Event, Event> {
  map(e: Event): Event {
    if (e.index === failAt && this.getRuntimeContext().getAttemptNumber() === 0) throw new Error(`Injected failure at record ${e.index}`);
    return e;
  }
}

/** Mean of the values as `sum/n`; the accumulator is a fresh object per add (no in-place updates). */
const mean: AggregateFunction<Event, { sum: number; n: number }, string> = {
  createAccumulator: () => ({ sum: 0, n: 0 }),
  add: (e, acc) => ({ sum: acc.sum + e.value, n: acc.n + 1 }),
  getResult: (acc) => `${acc.sum}/${acc.n}`,
  merge: (a, b) => ({ sum: a.sum + b.sum, n: a.n + b.n }),
};

class StateKinds extends KeyedProcessFunction<string, Event, string> {
  private count!: ValueState<number>;
  private lastValues!: ListState<number>;
  private max!: ReducingState<number>;
  private mean!: AggregatingState<Event, string>;
  private perResidue!: MapState<number, number[]>;

  override open(): void {
    const ctx = this.getRuntimeContext();
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
    this.lastValues = ctx.getListState(new ListStateDescriptor<number>('last-values'));
    this.max = ctx.getReducingState(new ReducingStateDescriptor<number>('max', (a, b) => Math.max(a, b)));
    this.mean = ctx.getAggregatingState(new AggregatingStateDescriptor('mean', mean));
    this.perResidue = ctx.getMapState(new MapStateDescriptor<number, number[]>('per-residue'));
  }

  processElement(e: Event, ctx: KeyedProcessFunction.Context<string>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);

    this.lastValues.add(e.value);
    const last = this.lastValues.get();
    if (last.length > 4) this.lastValues.update(last.slice(-4));

    this.max.add(e.value);
    this.mean.add(e);

    // Arrays as map values, appended in place and trimmed: copy-on-write has to keep snapshots exact.
    const r = e.value % 3;
    const list = this.perResidue.get(r) ?? [];
    list.push(e.index);
    if (list.length > 3) list.shift();
    this.perResidue.put(r, list);
    if (n % 9 === 0) this.perResidue.remove((r + 1) % 3);
    const residues = this.perResidue.entries().map(([k, v]) => `${k}:${v.join('.')}`).sort().join(';');

    out.collect([ctx.getCurrentKey(), e.index, n, this.lastValues.get().join('|'), this.max.get(), this.mean.get(), residues].join(','));
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new DataGeneratorSource(event, count, RateLimiterStrategy.perSecond(rate)), undefined, 'Events')
  .uid('events')
  .setParallelism(1)
  .map(new FailOnce())
  .uid('fail-once')
  .setParallelism(1) // chained to the source: one channel per keyed subtask keeps each key's events in order
  .keyBy((e: Event) => e.key)
  .process(new StateKinds())
  .uid('state-kinds')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('State kinds fail-once job');
