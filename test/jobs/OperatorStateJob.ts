/**
 * Test job for operator (non-keyed) state through rescaling: the numbers 0..count-1 from a
 * DataGeneratorSource (contiguous ranges, one split per subtask of the first run, checkpointed as split
 * positions) go round robin to a RichFlatMapFunction that implements CheckpointedFunction:
 *
 * - `buffer` (operator list state, split evenly on restore): numbers are held back and emitted in groups
 *   of --group, so a restore that loses or duplicates buffered numbers shows in the output.
 * - `seen-subtasks` (union list state, all of it to every subtask on restore): every subtask adds
 *   `g<generation>/s<subtask>of<parallelism>`; a generation is one deployment from a snapshot. The first
 *   record a subtask sees after it starts makes it emit `seen,g<gen>,s<i>of<p>,<what it restored>`, so the
 *   output shows that each new subtask got the entries of every old one.
 *
 * There is no end-of-input hook for user functions, so the last --tail numbers of each of the --splits
 * initial splits flush the whole buffer; with --tail >= the flatMap's parallelism, round robin hands one
 * of them to every subtask after everything else it gets from that source subtask.
 *
 * Data lines are `data,<n>`: an exact run has each number exactly once.
 *
 *   flink run test/jobs/OperatorStateJob.ts --output <dir> [--count N] [--rate R] [--splits S] [--group G]
 *     [--tail K] [--source-parallelism P]
 *
 * --splits must be the parallelism of the source in the first run (the run that created the splits).
 * Without --source-parallelism the source follows the job's parallelism (-p), so a rescaled restore
 * redistributes its splits; with it, only the flatMap and the sink rescale.
 */
import {
  DataGeneratorSource, FileSink, ListStateDescriptor, ParameterTool, RateLimiterStrategy, RichFlatMapFunction, StreamExecutionEnvironment,
  type CheckpointedFunction, type Collector, type FunctionInitializationContext, type ListState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 3000);
const rate = params.getInt('rate', 1000);
const splits = params.getInt('splits', 2);
const group = params.getInt('group', 20);
const tail = params.getInt('tail', 8);

/** The numbers that flush every buffer: the last `tail` of each initial split (the source's own arithmetic). */
const flushers = new Set<number>();
for (let i = 0; i < splits; i++) {
  const start = Math.floor((count * i) / splits);
  const end = Math.floor((count * (i + 1)) / splits) - 1;
  for (let n = Math.max(start, end - tail + 1); n <= end; n++) flushers.add(n);
}

class BufferingFlatMap extends RichFlatMapFunction<number, string> implements CheckpointedFunction {
  private bufferState!: ListState<number>;
  private seenState!: ListState<string>;
  private buffer: number[] = [];
  private restoredSeen: string[] = [];
  private generation = 0;
  private announced = false;

  initializeState(ctx: FunctionInitializationContext): void {
    const store = ctx.getOperatorStateStore();
    this.bufferState = store.getListState(new ListStateDescriptor<number>('buffer'));
    this.seenState = store.getUnionListState(new ListStateDescriptor<string>('seen-subtasks'));
    this.buffer = [...this.bufferState.get()];
    this.restoredSeen = [...new Set(this.seenState.get())].sort();
    if (ctx.isRestored()) {
      this.generation = 1 + Math.max(-1, ...this.restoredSeen.map((s) => Number(/^g(\d+)\//.exec(s)?.[1] ?? -1)));
    }
    const rc = this.getRuntimeContext();
    const me = `g${this.generation}/s${rc.getIndexOfThisSubtask()}of${rc.getNumberOfParallelSubtasks()}`;
    this.seenState.update([...this.restoredSeen, me]);
  }

  snapshotState(): void {
    this.bufferState.update(this.buffer);
  }

  flatMap(n: number, out: Collector<string>): void {
    if (!this.announced) {
      this.announced = true;
      const rc = this.getRuntimeContext();
      out.collect(`seen,g${this.generation},s${rc.getIndexOfThisSubtask()}of${rc.getNumberOfParallelSubtasks()},${this.restoredSeen.join(' ')}`);
    }
    this.buffer.push(n);
    if (flushers.has(n)) {
      for (const b of this.buffer) out.collect(`data,${b}`);
      this.buffer = [];
    } else if (this.buffer.length >= group) {
      // Emit the older half only: after the first group a subtask always holds numbers in list state,
      // so every savepoint tests the restore of buffered numbers.
      const half = Math.ceil(group / 2);
      for (const b of this.buffer.slice(0, half)) out.collect(`data,${b}`);
      this.buffer = this.buffer.slice(half);
    }
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const numbers = env
  .fromSource(new DataGeneratorSource((i) => i, count, RateLimiterStrategy.perSecond(rate)), undefined, 'Numbers')
  .uid('numbers');
if (params.has('source-parallelism')) numbers.setParallelism(params.getInt('source-parallelism'));
numbers
  .rebalance()
  .flatMap(new BufferingFlatMap())
  .uid('buffering')
  .name('Buffering flatMap')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Operator state job');
