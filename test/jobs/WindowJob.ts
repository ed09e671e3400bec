/**
 * Test job for event-time windows: a deterministic stream of out-of-order events (key, timestamp, value)
 * with bursts separated by gaps (so sessions end) and some events far behind the watermark (late data).
 * --kind picks the window: tumbling (reduce + ProcessWindowFunction, allowed lateness: late firings),
 * sliding (aggregate + ProcessWindowFunction) or session (ProcessWindowFunction over all elements).
 * Results go exactly-once to --output, late events (side output) to --late.
 *
 * Watermarks are generated per event (a punctuated generator): with one source subtask the position of
 * every watermark among the records is fixed, so which events are late is the same in every run, and a
 * restored run (whose source re-emits its checkpointed watermark first) must produce exactly the same.
 * --fail-at throws in a user function on the first attempt, at the first event from that one on after a completed checkpoint.
 * --fail-on-drain <marker> (session windows): the first window fired by the end-of-time watermark of `stop --drain`
 * throws, once: the marker file records that it did, so the restarted job drains normally.
 */
import { existsSync, writeFileSync } from 'node:fs';
import {
  AbstractRichFunction, DataGeneratorSource, EventTimeSessionWindows, FileSink, OutputTag, ParameterTool, ProcessWindowFunction,
  RateLimiterStrategy, RichMapFunction, SlidingEventTimeWindows, StreamExecutionEnvironment, TumblingEventTimeWindows, Watermark,
  WatermarkStrategy, type AggregateFunction, type CheckpointListener, type Collector, type WatermarkGenerator, type WatermarkOutput,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const kind = params.get('kind', 'tumbling');
const count = params.getInt('count', 3000);
const keys = params.getInt('keys', 5);
const failAt = params.getInt('fail-at', -1);
const failOnDrain = params.get('fail-on-drain', '');
const BOUND = 300;

type Event = [key: number, ts: number, value: number];

/** Event i: 10 ms apart, jittered up to 120 ms back, a 1 s gap after every 60 events; every 97th is 2 s late. */
function event(i: number): Event {
  const base = i * 10 + Math.floor(i / 60) * 1000;
  const jitter = ((i * 7919) % 13) * 10;
  const late = i % 97 === 50 ? 2000 : 0;
  return [i % keys, base - jitter - late, i];
}

/** Emits a watermark after every event: deterministic positions among the records. */
class PerEventWatermarks implements WatermarkGenerator<Event> {
  private max = Number.MIN_SAFE_INTEGER + BOUND + 1;
  onEvent(_e: Event, ts: number, out: WatermarkOutput): void {
    if (ts > this.max) this.max = ts;
    out.emitWatermark(new Watermark(this.max - BOUND - 1));
  }
  onPeriodicEmit(): void {}
  snapshotState(): unknown {
    return this.max;
  }
  restoreState(s: unknown): void {
    this.max = s as number;
  }
}

/**
 * Throws on the first attempt at the first event from --fail-at on that follows a completed checkpoint, so the
 * restart always restores one (not a race between the failure and the first checkpoint).
 */
class FailOnce extends RichMapFunction<Event, Event> implements CheckpointListener {
  private checkpointed = false;
  notifyCheckpointComplete(): void {
    this.checkpointed = true;
  }
  map(e: Event): Event {
    if (failAt >= 0 && e[2] >= failAt && this.checkpointed && this.getRuntimeContext().getAttemptNumber() === 0) {
      throw new Error(`Injected failure at event ${e[2]}`);
    }
    return e;
  }
}

class Describe extends ProcessWindowFunction<unknown, string, number> {
  process(key: number, ctx: ProcessWindowFunction.Context<any>, elements: unknown[], out: Collector<string>): void {
    const w = ctx.window();
    out.collect(`${kind},${key},${w.getStart()},${w.getEnd()},${JSON.stringify(elements)}`);
  }
}

const countAndSum: AggregateFunction<Event, [number, number], [number, number]> = {
  createAccumulator: () => [0, 0],
  add: (e, acc) => [acc[0] + 1, acc[1] + e[2]],
  getResult: (acc) => acc,
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
};

/** The session's values, sorted: the order of elements within a window is not part of the result. */
class SessionValues extends AbstractRichFunction {
  process(key: number, ctx: ProcessWindowFunction.Context<any>, elements: Event[], out: Collector<string>): void {
    const w = ctx.window();
    if (failOnDrain !== '' && ctx.currentWatermark() >= Watermark.MAX_WATERMARK.getTimestamp() && !existsSync(failOnDrain)) {
      writeFileSync(failOnDrain, `session ${key} ${w.getStart()}\n`);
      throw new Error(`Injected failure while draining, in session window [${w.getStart()}, ${w.getEnd()}) of key ${key}`);
    }
    const values = elements.map((e) => e[2]).sort((a, b) => a - b);
    out.collect(`${kind},${key},${w.getStart()},${w.getEnd()},${values.length},${values.join(' ')}`);
  }
}

const lateTag = new OutputTag<Event>('late');
const env = StreamExecutionEnvironment.getExecutionEnvironment();
const events = env
  .fromSource(
    new DataGeneratorSource(event, count, RateLimiterStrategy.perSecond(params.getInt('rate', 1000))),
    WatermarkStrategy.forGenerator<Event>(() => new PerEventWatermarks()).withTimestampAssigner((e) => e[1]),
    'events',
  )
  .uid('events')
  .setParallelism(1)
  .map(new FailOnce())
  .uid('fail-once')
  .setParallelism(1)
  .keyBy((e: Event) => e[0]);

let results;
if (kind === 'tumbling') {
  results = events
    .window(TumblingEventTimeWindows.of(500))
    .allowedLateness(200)
    .sideOutputLateData(lateTag)
    .reduce((a: Event, b: Event): Event => [a[0], Math.max(a[1], b[1]), a[2] + b[2]], new Describe());
} else if (kind === 'sliding') {
  results = events
    .window(SlidingEventTimeWindows.of(600, 200))
    .sideOutputLateData(lateTag)
    .aggregate(countAndSum, new Describe());
} else {
  const sessions = new SessionValues();
  results = events
    .window(EventTimeSessionWindows.withGap(400))
    .sideOutputLateData(lateTag)
    .process((k: number, c: ProcessWindowFunction.Context<any>, els: Event[], out: Collector<string>) => sessions.process(k, c, els, out));
}
results.uid('windows');
results.sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build()).uid('sink');
results
  .getSideOutput(lateTag)
  .map((e: Event) => `late,${e.join(',')}`)
  .sinkTo(FileSink.forRowFormat<string>(params.get('late', params.getRequired('output') + '-late')).build())
  .uid('late-sink');
await env.execute(`Window job (${kind})`);
