/**
 * Test job: one KeyedProcessFunction that uses every keyed state kind (value, list, reducing,
 * aggregating, map), with TTL on some (a century: long enough never to expire in a test nor in a committed fixture, so the TTL format goes
 * through savepoints), a user serializer on one and Date/bigint/Set/Map values in the others. Every
 * output line depends on all five states, so a restore that loses or changes any of them shows.
 *
 * The keyed operator and the sink run at the job's default parallelism (parallelism.default, or -p on the
 * command line: a restore with another -p rescales the keyed state); the source runs at parallelism 1 so
 * every key sees its records in one order.
 *
 * With --gate <file>, events from --hold-at on wait until that file exists (no rate limit then): a test savepoints or
 * cancels the job while it is held at a known event, instead of racing a rate.
 *
 *   flink run test/jobs/StateKindsJob.ts --output <dir> [--count N] [--rate R] [--keys K] [--gate <file> --hold-at N]
 */
import {
  AggregatingStateDescriptor, DataGeneratorSource, FileSink, KeyedProcessFunction, ListStateDescriptor, MapStateDescriptor,
  ParameterTool, RateLimiterStrategy, RichMapFunction, ReducingStateDescriptor, StateTtlConfig, StateVisibility, StreamExecutionEnvironment, UpdateType,
  ValueStateDescriptor, type AggregateFunction, type AggregatingState, type CheckpointListener, type Collector, type ListState, type MapState,
  type ReducingState, type TypeSerializer, type ValueState,
} from 'flink-ts';
import { GatedSequenceSource } from './lib/GatedSequenceSource.js';

interface Event {
  key: string;
  index: number;
  value: number;
}

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 3000);
const rate = params.getInt('rate', 1000);
const keys = params.getInt('keys', 12);

const failAt = params.getInt('fail-at', -1);

// A TTL no test outlives: the committed golden savepoints (test/fixtures/golden/) carry their write time, so a
// TTL of a day made them expire a day after they were written (their restore then started every key afresh).
const CENTURY = 100 * 365 * 24 * 60 * 60 * 1000;

/**
 * With --fail-at: throws once, on the first attempt, at the first event from --fail-at on that follows a
 * completed checkpoint, so the job always restarts from one (not a race between the failure and the checkpoint).
 */
class FailOnce extends RichMapFunction<Event, Event> implements CheckpointListener {
  private checkpointed = false;
  notifyCheckpointComplete(): void {
    this.checkpointed = true;
  }
  map(e: Event): Event {
    if (failAt >= 0 && e.index >= failAt && this.checkpointed && this.getRuntimeContext().getAttemptNumber() === 0) {
      throw new Error(`Injected failure at record ${e.index}`);
    }
    return e;
  }
}

function event(i: number): Event {
  return { key: `key-${i % keys}`, index: i, value: (i * 7919) % 101 };
}

/** A hand-written format for the bigint sum: the snapshot holds its decimal digits. */
const bigintSerializer: TypeSerializer<bigint> = {
  serialize: (v) => new TextEncoder().encode(v.toString()),
  deserialize: (b) => BigInt(new TextDecoder().decode(b)),
};

interface Distinct {
  seen: Set<number>;
  first: Date | null;
}

/** Distinct values seen per key; updates its accumulator in place, as Flink's examples do. */
const distinctValues: AggregateFunction<Event, Distinct, string> = {
  createAccumulator: () => ({ seen: new Set<number>(), first: null }),
  add: (e, acc) => {
    acc.first ??= new Date(Date.UTC(2024, 0, 1) + e.index * 1000);
    acc.seen.add(e.value);
    return acc;
  },
  getResult: (acc) => `${acc.seen.size}@${acc.first?.toISOString()}`,
  merge: (a, b) => ({ seen: new Set([...a.seen, ...b.seen]), first: a.first && b.first && b.first < a.first ? b.first : a.first ?? b.first }),
};

class AllStateKinds extends KeyedProcessFunction<string, Event, string> {
  private count!: ValueState<number>;
  private recent!: ListState<number>;
  private sum!: ReducingState<bigint>;
  private distinct!: AggregatingState<Event, string>;
  private buckets!: MapState<string, Map<string, number>>;

  override open(): void {
    const ctx = this.getRuntimeContext();
    const count = new ValueStateDescriptor<number>('count');
    count.enableTimeToLive(StateTtlConfig.newBuilder(CENTURY).setUpdateType(UpdateType.OnReadAndWrite).cleanupFullSnapshot().build());
    const recent = new ListStateDescriptor<number>('recent');
    recent.enableTimeToLive(StateTtlConfig.newBuilder(CENTURY).setStateVisibility(StateVisibility.ReturnExpiredIfNotCleanedUp).build());
    const buckets = new MapStateDescriptor<string, Map<string, number>>('buckets');
    buckets.enableTimeToLive(StateTtlConfig.newBuilder('36500 d').cleanupFullSnapshot().build());
    this.count = ctx.getState(count);
    this.recent = ctx.getListState(recent);
    this.sum = ctx.getReducingState(new ReducingStateDescriptor<bigint>('sum', (a, b) => a + b, bigintSerializer));
    this.distinct = ctx.getAggregatingState(new AggregatingStateDescriptor('distinct', distinctValues));
    this.buckets = ctx.getMapState(buckets);
  }

  processElement(e: Event, _ctx: KeyedProcessFunction.Context<string>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);

    this.recent.add(e.value);
    const recent = this.recent.get();
    if (recent.length > 3) this.recent.update(recent.slice(-3));

    this.sum.add(BigInt(e.value) * 1_000_000_000_000n);
    this.distinct.add(e);

    // Map values are Maps themselves, updated in place: copy-on-write must keep savepoints exact.
    const bucket = `b${e.value % 4}`;
    const m = this.buckets.get(bucket) ?? new Map<string, number>();
    m.set('n', (m.get('n') ?? 0) + 1);
    m.set('last', e.index);
    this.buckets.put(bucket, m);
    if (n % 10 === 0) this.buckets.remove(`b${(e.value + 1) % 4}`);

    const hist = this.buckets.entries()
      .map(([b, v]) => `${b}=${v.get('n')}/${v.get('last')}`)
      .sort()
      .join(';');
    out.collect([e.key, e.index, n, this.recent.get().join('|'), this.sum.get(), this.distinct.get(), hist].join(','));
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const source = params.has('gate')
  ? new GatedSequenceSource(count, params.getInt('hold-at', Math.floor(count / 2)), params.getRequired('gate'), event)
  : new DataGeneratorSource(event, count, RateLimiterStrategy.perSecond(rate));
env
  .fromSource(source, undefined, 'Events')
  .uid('events')
  .setParallelism(1)
  .map(new FailOnce())
  .uid('fail-once')
  .setParallelism(1) // chained to the source: every key sees its records in one order
  .keyBy((e: Event) => e.key)
  .process(new AllStateKinds())
  .uid('all-state-kinds')
  .name('All state kinds')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('State kinds job');
