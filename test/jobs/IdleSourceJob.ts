/**
 * Test job for idle inputs: a source with two subtasks; subtask 0 emits --count events (event time i*10 ms)
 * and finishes, subtask 1 emits nothing and only finishes once the file --release exists. The window
 * operator downstream reads both. With --idleness <ms> (withIdleness) subtask 1 goes idle and the windows
 * fire while it waits; with --idleness 0 its watermark stays at the minimum and holds every window back
 * until it finishes. Output: `window,<start>,<count>` per 100 ms tumbling window, exactly-once to --output.
 */
import { existsSync } from 'node:fs';
import {
  FileSink, ParameterTool, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy, type Source, type SourceReader,
  type SourceSplit,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 200);
const release = params.getRequired('release');
const idleness = params.getInt('idleness', 500);

interface Split extends SourceSplit {
  next: number;
}

class EventsAndIdleSource implements Source<number, Split> {
  readonly name = 'events-and-idle';
  readonly bounded = true;
  initialSplits(): Split[] {
    return [{ id: 'events', next: 0 }, { id: 'idle', next: 0 }];
  }
  createReader(): SourceReader<number, Split> {
    let split: Split | undefined;
    return {
      addSplits: (s) => void (split = s[0]),
      pollNext: (emit, budget) => {
        if (!split) return 'end';
        if (split.id === 'idle') return existsSync(release) ? 'end' : 50;
        const n = Math.min(budget, 20, count - split.next);
        for (let i = 0; i < n; i++) emit(split.next++);
        return split.next >= count ? 'end' : 10;
      },
      snapshotState: () => (split ? [{ ...split }] : []),
    };
  }
}

let strategy = WatermarkStrategy.forBoundedOutOfOrderness<number>(0).withTimestampAssigner((i) => i * 10);
if (idleness > 0) strategy = strategy.withIdleness(idleness);
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new EventsAndIdleSource(), strategy, 'events-and-idle')
  .uid('source')
  .setParallelism(2)
  .keyBy(() => 0)
  .window(TumblingEventTimeWindows.of(100))
  .aggregate({
    createAccumulator: () => [Number.MAX_SAFE_INTEGER, 0] as [number, number],
    add: (i: number, [start, n]: [number, number]): [number, number] => [Math.min(start, Math.floor(i / 10) * 100), n + 1],
    getResult: ([start, n]: [number, number]) => `window,${start},${n}`,
    merge: (a: [number, number], b: [number, number]): [number, number] => [Math.min(a[0], b[0]), a[1] + b[1]],
  })
  .uid('windows')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Idle source job');
