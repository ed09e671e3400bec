/**
 * Test job for moving state between flink-ts and Flink (test/e2e/savepoint-convert.test.ts): every state kind the
 * Flink runner's layout maps, in one job whose output is exact across a savepoint, a conversion and a restore.
 *
 * - `events` (GatedSequenceSource, the data generator's `{id, next, end}` splits): indices 0..count-1, held at
 *   --hold-at until the --gate file exists; parallelism 1, so every key sees its events in one order.
 * - `stateful` (KeyedBroadcastProcessFunction, number keys i % --keys): keyed ValueState `count`, ListState
 *   `recent` (the last 3), MapState `buckets` (sum per i % 3), an event-time timer per key registered at its first
 *   event (they fire at the end of input, so a restore must have kept them), and broadcast MapState `rules` fed
 *   by the events below --rules. Events from --hold-at on report the rules they see: only the restored
 *   broadcast state has them then.
 * - `tally` (RichMapFunction + CheckpointedFunction, parallelism of the job): operator list state `seen` (how
 *   many records this subtask passed) and union list state `subtasks`; it passes records through unchanged.
 * - `sink` (FileSink --output).
 *
 *   flink run test/jobs/GraduateJob.ts --output <dir> [--count N] [--keys K] [--rules R] [--hold-at H --gate <file>]
 */
import {
  FileSink, KeyedBroadcastProcessFunction, ListStateDescriptor, MapStateDescriptor, ParameterTool, RichMapFunction, StreamExecutionEnvironment,
  ValueStateDescriptor, type CheckpointedFunction, type Collector, type FunctionInitializationContext, type ListState, type MapState,
  type ValueState,
} from 'flink-ts';
import { GatedSequenceSource } from './lib/GatedSequenceSource.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 3000);
const keys = params.getInt('keys', 7);
const rules = params.getInt('rules', 5);
const holdAt = params.getInt('hold-at', count);
const gate = params.has('gate') ? params.getRequired('gate') : undefined;
const RULES = new MapStateDescriptor<number, string>('rules');
const TIMER_BASE = 1e12;

class Stateful extends KeyedBroadcastProcessFunction<number, number, number, string> {
  private count!: ValueState<number>;
  private recent!: ListState<number>;
  private buckets!: MapState<number, number>;

  override open(): void {
    const ctx = this.getRuntimeContext();
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
    this.recent = ctx.getListState(new ListStateDescriptor<number>('recent'));
    this.buckets = ctx.getMapState(new MapStateDescriptor<number, number>('buckets'));
  }

  processElement(i: number, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext<number>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    if (n === 1) ctx.timerService().registerEventTimeTimer(TIMER_BASE + ctx.getCurrentKey());
    this.recent.add(i);
    const recent = this.recent.get();
    if (recent.length > 3) this.recent.update(recent.slice(-3));
    this.buckets.put(i % 3, (this.buckets.get(i % 3) ?? 0) + i);
    const buckets = [...this.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, s]) => `${b}=${s}`).join(';');
    const seen = i >= holdAt ? `,rules=${[...ctx.getBroadcastState(RULES).immutableEntries()].map(([k, v]) => `${k}:${v}`).sort().join(';')}` : '';
    out.collect(`event,${i},${ctx.getCurrentKey()},${n},${this.recent.get().join(' ')},${buckets}${seen}`);
  }

  processBroadcastElement(j: number, ctx: KeyedBroadcastProcessFunction.Context): void {
    ctx.getBroadcastState(RULES).put(j, `rule-${j}`);
  }

  override onTimer(ts: number, ctx: KeyedBroadcastProcessFunction.OnTimerContext<number>, out: Collector<string>): void {
    out.collect(`timer,${ctx.getCurrentKey()},${ts},${this.count.value()}`);
  }
}

class Tally extends RichMapFunction<string, string> implements CheckpointedFunction {
  private seenState!: ListState<number>;
  private subtasksState!: ListState<string>;
  private seen = 0;

  initializeState(ctx: FunctionInitializationContext): void {
    const store = ctx.getOperatorStateStore();
    this.seenState = store.getListState(new ListStateDescriptor<number>('seen'));
    this.subtasksState = store.getUnionListState(new ListStateDescriptor<string>('subtasks'));
    this.seen = this.seenState.get().reduce((a, b) => a + b, 0);
    const me = `s${this.getRuntimeContext().getIndexOfThisSubtask()}`;
    this.subtasksState.update([...new Set([...this.subtasksState.get(), me])].sort());
  }

  snapshotState(): void {
    this.seenState.update([this.seen]);
  }

  map(line: string): string {
    this.seen++;
    return line;
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const events = env.fromSource(new GatedSequenceSource(count, holdAt, gate), undefined, 'Events').uid('events').setParallelism(1);
const ruleStream = events.filter((i: number) => i < rules).setParallelism(1).broadcast(RULES);
events
  .keyBy((i: number) => i % keys)
  .connect(ruleStream)
  .process(new Stateful())
  .uid('stateful')
  .map(new Tally())
  .uid('tally')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Graduate job');
