/**
 * WordCount, as in Flink's examples: counts the words of a text (a built-in sample, or --input <file|dir>)
 * and prints the running counts, or writes them exactly-once to --output <dir>.
 *
 *   npx flink run examples/WordCount.ts [--input <file or dir>] [--output <dir>]
 */
import { FileSink, ParameterTool, StreamExecutionEnvironment, type Collector } from 'flink-ts';
import { SAMPLE } from './lib/WordCountData.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();

const text = params.has('input')
  ? env.readTextFile(params.getRequired('input')).name('file-input').uid('file-input')
  : env.fromElements(...SAMPLE).name('in-memory-input').uid('in-memory-input');

const counts = text
  .flatMap((line: string, out: Collector<[string, number]>) => {
    for (const word of line.toLowerCase().split(/\W+/)) if (word) out.collect([word, 1]);
  })
  .name('tokenizer')
  .keyBy((t: [string, number]) => t[0])
  .sum(1)
  .name('counter')
  .uid('counter');

if (params.has('output')) {
  counts
    .sinkTo(FileSink.forRowFormat<[string, number]>(params.getRequired('output'), ([w, c]) => `${w},${c}`).build())
    .name('file-sink')
    .uid('file-sink');
} else {
  counts.print();
}

await env.execute('WordCount');
