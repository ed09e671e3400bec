/**
 * Test job for rescaling a file source: reads every file of --input (one split per file, its byte offset is the
 * checkpointed position) and writes each line exactly-once to --output. With --gate <file>, each source subtask
 * stops after --hold-at lines (mid-file) until that file exists, so a test savepoints there and restores at
 * another parallelism: the remaining files and the rest of the partly read ones must be read exactly once.
 *
 *   flink run test/jobs/TextFilesJob.ts --input <dir> --output <dir> [--gate <file> --hold-at N]
 */
import { existsSync } from 'node:fs';
import { FileSink, ParameterTool, StreamExecutionEnvironment, TextFileSource, type Source, type SourceReader, type SourceSplit } from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const gate = params.has('gate') ? params.getRequired('gate') : undefined;
const holdAt = params.getInt('hold-at', 100);

/** Another source's reader, held after `holdAt` records per reader until `gate` exists. */
class Held<T, S extends SourceSplit> implements Source<T, S> {
  readonly bounded: boolean;
  readonly name: string;
  constructor(private readonly inner: Source<T, S>) {
    this.bounded = inner.bounded;
    this.name = inner.name;
  }
  initialSplits(parallelism: number): S[] {
    return this.inner.initialSplits(parallelism);
  }
  createReader(ctx: Parameters<Source<T, S>['createReader']>[0]): SourceReader<T, S> {
    const r = this.inner.createReader(ctx);
    let n = 0;
    let open = gate === undefined;
    return {
      addSplits: (s) => r.addSplits(s),
      pollNext: (emit, budget) => {
        if (!open && n >= holdAt) {
          if (!existsSync(gate!)) return 20;
          open = true;
        }
        return r.pollNext((v) => (n++, emit(v)), open ? budget : Math.min(budget, holdAt - n));
      },
      snapshotState: () => r.snapshotState(),
      close: () => r.close?.(),
    };
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new Held(new TextFileSource(params.getRequired('input'))), undefined, 'files')
  .uid('files')
  .map((line: string) => `line,${line}`)
  .uid('format')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Text files job');
