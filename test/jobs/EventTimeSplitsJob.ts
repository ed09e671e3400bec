/**
 * Test job for rescaling an event-time source past its number of splits: a generated source of --count events
 * (DataGeneratorSource: one split per subtask of the first run), event i at time (i mod half)·10 ms, so both
 * halves cover the same time range; a count per key and 1 s tumbling window, exactly-once to --output
 * (`window,<key>,<start>,<count>`). Restored at a higher parallelism, a source subtask gets no split: its
 * watermark must not hold the windows back. With --gate, each source subtask holds after --hold-at events.
 *
 *   flink run test/jobs/EventTimeSplitsJob.ts --output <dir> [--count N] [--gate <file> --hold-at N]
 */
import {
  DataGeneratorSource, FileSink, ParameterTool, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy,
} from 'flink-ts';
import { HeldSource } from './lib/HeldSource.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 2000);
const half = Math.floor(count / 2);
const gate = params.has('gate') ? params.getRequired('gate') : undefined;

type Event = [key: number, ts: number];
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(
    new HeldSource(new DataGeneratorSource((i): Event => [i % 5, (i % half) * 10], count), params.getInt('hold-at', 100), gate),
    WatermarkStrategy.forMonotonousTimestamps<Event>().withTimestampAssigner((e) => e[1]),
    'events',
  )
  .uid('events')
  .keyBy((e: Event) => e[0])
  .window(TumblingEventTimeWindows.of(1000))
  .aggregate({
    createAccumulator: () => [0, 0, 0] as [number, number, number],
    add: (e: Event, [, , n]: [number, number, number]): [number, number, number] => [e[0], Math.floor(e[1] / 1000) * 1000, n + 1],
    getResult: ([k, start, n]: [number, number, number]) => `window,${k},${start},${n}`,
    merge: (a: [number, number, number], b: [number, number, number]): [number, number, number] => [a[0], a[1], a[2] + b[2]],
  })
  .uid('windows')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Event-time splits job');
