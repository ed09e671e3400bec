/**
 * Test job for rescaling a file source: reads every file of --input (one split per file, its byte offset is the
 * checkpointed position) and writes each line exactly-once to --output. With --gate <file>, each source subtask
 * stops after --hold-at lines (mid-file) until that file exists, so a test savepoints there and restores at
 * another parallelism: the remaining files and the rest of the partly read ones must be read exactly once.
 *
 *   flink run test/jobs/TextFilesJob.ts --input <dir> --output <dir> [--gate <file> --hold-at N]
 */
import { FileSink, ParameterTool, StreamExecutionEnvironment, TextFileSource } from 'flink-ts';
import { HeldSource } from './lib/HeldSource.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const gate = params.has('gate') ? params.getRequired('gate') : undefined;
const holdAt = params.getInt('hold-at', 100);

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new HeldSource(new TextFileSource(params.getRequired('input')), holdAt, gate), undefined, 'files')
  .uid('files')
  .map((line: string) => `line,${line}`)
  .uid('format')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Text files job');
