/**
 * WordCount, as in Flink's examples: counts the words of a text (a built-in sample, or --input <file|dir>)
 * and prints the running counts, or writes them exactly-once to --output <dir>.
 *
 *   npx flink run examples/WordCount.ts [--input <file or dir>] [--output <dir>]
 */
import { FileSink, ParameterTool, StreamExecutionEnvironment } from 'flink-ts';

// A few lines from Hamlet, like Flink's WordCountData.
const SAMPLE = [
  'To be, or not to be,--that is the question:--',
  'Whether \'tis nobler in the mind to suffer',
  'The slings and arrows of outrageous fortune',
  'Or to take arms against a sea of troubles,',
  'And by opposing end them?--To die,--to sleep,--',
  'No more; and by a sleep to say we end',
  'The heartache, and the thousand natural shocks',
  'That flesh is heir to,--\'tis a consummation',
  'Devoutly to be wish\'d. To die,--to sleep;--',
  'To sleep! perchance to dream:--ay, there\'s the rub;',
];

const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();

const text = params.has('input')
  ? env.readTextFile(params.getRequired('input')).name('file-input').uid('file-input')
  : env.fromElements(...SAMPLE).name('in-memory-input').uid('in-memory-input');

const counts = text
  .flatMap((line: string, out) => {
    for (const word of line.toLowerCase().split(/\W+/)) if (word) out.collect([word, 1] as [string, number]);
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
