/**
 * WindowWordCount: word counts per event-time window. Each line of the text is stamped with an event time
 * (line i at i seconds, as if the lines arrived over time); the counts are per word and per tumbling window
 * of --window seconds (default 3). Words longer than --long characters (default 9) also go to a side output.
 *
 *   npx flink run examples/WindowWordCount.ts [--window <seconds>] [--output <dir>]
 *
 * With --output the window counts are written exactly-once to <dir>, the long words to <dir>-long.
 */
import {
  FileSink, OutputTag, ParameterTool, ProcessFunction, ProcessWindowFunction, StreamExecutionEnvironment, Time, TumblingEventTimeWindows,
  WatermarkStrategy, type Collector,
} from 'flink-ts';
import { SAMPLE } from './lib/WordCountData.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const windowSeconds = params.getInt('window', 3);
const longWord = params.getInt('long', 9);
const longWords = new OutputTag<string>('long-words');

type Line = [second: number, text: string];
type Count = [word: string, count: number];

/** Splits a line into (word, 1); words longer than --long also go to the side output. */
class Tokenizer extends ProcessFunction<Line, Count> {
  processElement([, text]: Line, ctx: ProcessFunction.Context, out: Collector<Count>): void {
    for (const word of text.toLowerCase().split(/\W+/)) {
      if (!word) continue;
      out.collect([word, 1]); // keeps the line's timestamp (ctx.timestamp())
      if (word.length > longWord) ctx.output(longWords, `${word}@${ctx.timestamp()}`);
    }
  }
}

/** Adds the window's bounds to the pre-aggregated count. */
class WithWindow extends ProcessWindowFunction<Count, string, string> {
  process(word: string, ctx: ProcessWindowFunction.Context<any>, counts: Count[], out: Collector<string>): void {
    out.collect(`[${ctx.window().getStart()},${ctx.window().getEnd()}) ${word},${counts[0][1]}`);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const lines = env
  .fromElements<Line>(...SAMPLE.map((text, i): Line => [i * 1000, text]))
  .name('in-memory-input')
  .uid('in-memory-input')
  .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Line>().withTimestampAssigner(([second]) => second))
  .uid('timestamps');

const tokens = lines.process(new Tokenizer()).name('tokenizer').uid('tokenizer');
const counts = tokens
  .keyBy(([word]: Count) => word)
  .window(TumblingEventTimeWindows.of(Time.seconds(windowSeconds)))
  .reduce((a: Count, b: Count): Count => [a[0], a[1] + b[1]], new WithWindow())
  .name('window-counter')
  .uid('window-counter');
const long = tokens.getSideOutput(longWords);

if (params.has('output')) {
  const out = params.getRequired('output');
  counts.sinkTo(FileSink.forRowFormat<string>(out).build()).name('file-sink').uid('file-sink');
  long.sinkTo(FileSink.forRowFormat<string>(`${out}-long`).build()).name('long-words-sink').uid('long-words-sink');
} else {
  counts.print();
  long.print('long');
}

await env.execute('WindowWordCount');
