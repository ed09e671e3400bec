import type { ListState } from '../../api/state.js';
import type { Source, SourceReader, SourceSplit } from '../../api/sources.js';
import { StreamOperator } from './StreamOperator.js';

/** Runs a Source's reader in a task; its splits (read positions) are operator list state. */
export class SourceOperator<T> extends StreamOperator<never> {
  private reader!: SourceReader<T, SourceSplit>;
  private splitState!: ListState<SourceSplit>;
  private readonly emit = (v: T) => this.ctx.output.collect(v);

  constructor(readonly source: Source<T, SourceSplit>) {
    super();
  }

  override initializeState(): void {
    this.splitState = this.ctx.operatorState.getListState<SourceSplit>('SourceReaderState');
    if (!this.ctx.restored) {
      const { subtask, parallelism } = this.ctx;
      this.splitState.update(this.source.initialSplits(parallelism).filter((_, i) => i % parallelism === subtask));
    }
  }

  override open(): void {
    this.reader = this.source.createReader({ subtask: this.ctx.subtask, parallelism: this.ctx.parallelism });
    this.reader.addSplits(this.splitState.get());
  }

  pollNext(budget: number): number | 'end' {
    return this.reader.pollNext(this.emit, budget);
  }

  processElement(): void {
    throw new Error('A source has no input');
  }

  override snapshotState(): void {
    this.splitState.update(this.reader.snapshotState());
  }

  override close(): void {
    this.reader?.close?.();
  }
}
