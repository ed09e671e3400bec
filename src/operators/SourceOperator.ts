import type { ListState } from '../api/state.js';
import type { Source, SourceReader, SourceSplit } from '../api/sources.js';
import { WatermarkStrategy } from '../api/eventtime.js';
import { StreamOperator } from './StreamOperator.js';
import { WatermarkGeneration } from './TimestampsAndWatermarksOperator.js';

/**
 * Runs a Source's reader in a task; its splits (read positions) are operator list state. The source's
 * WatermarkStrategy assigns the records' timestamps and generates the watermarks (one generator per
 * subtask, not per split).
 */
export class SourceOperator<T> extends StreamOperator<never> {
  private reader!: SourceReader<T, SourceSplit>;
  private splitState!: ListState<SourceSplit>;
  private readonly watermarks: WatermarkGeneration<T>;
  private emit!: (v: T, ts?: number) => void;

  constructor(readonly source: Source<T, SourceSplit>, strategy: WatermarkStrategy<T> = WatermarkStrategy.noWatermarks<T>()) {
    super();
    this.watermarks = new WatermarkGeneration(strategy);
  }

  override initializeState(): void {
    this.splitState = this.ctx.operatorState.getListState<SourceSplit>('SourceReaderState');
    if (!this.ctx.restored) {
      const { subtask, parallelism } = this.ctx;
      this.splitState.update(this.source.initialSplits(parallelism).filter((_, i) => i % parallelism === subtask));
    }
    this.watermarks.initializeState(this.ctx);
  }

  override open(): void {
    const ws = this.watermarks;
    const el = this.ctx.element;
    // Source records start without a timestamp; without event time they go straight to the chain.
    // A reader may give the record's own time (Kafka's record timestamp), the default event time as in Flink.
    this.emit = ws.strategy.emitsWatermarks || ws.strategy.createTimestampAssigner()
      ? (v: T, ts?: number) => { el.timestamp = ts; ws.collect(v); }
      : (v: T, ts?: number) => { el.timestamp = ts; this.ctx.output.collect(v); };
    this.reader = this.source.createReader({ subtask: this.ctx.subtask, parallelism: this.ctx.parallelism });
    this.reader.addSplits(this.splitState.get());
    ws.open();
  }

  pollNext(budget: number): number | 'end' {
    return this.reader.pollNext(this.emit, budget);
  }

  /** End of input or stop --drain: MAX_WATERMARK, so every event-time timer and window fires. */
  emitFinalWatermark(): void {
    this.watermarks.emitFinalWatermark();
  }

  processElement(): void {
    throw new Error('A source has no input');
  }

  override endInput(): void {
    this.emitFinalWatermark();
  }

  override snapshotState(checkpointId: number): void {
    this.splitState.update(this.reader.snapshotState(checkpointId));
    this.watermarks.snapshotState();
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    this.reader.notifyCheckpointComplete?.(checkpointId);
  }

  override close(): void {
    this.reader?.close?.();
  }
}
