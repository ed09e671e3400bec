import type { ListState } from '../api/state.js';
import type { Source, SourceReader, SourceSplit } from '../api/sources.js';
import { WatermarkStrategy } from '../api/eventtime.js';
import { StreamOperator } from './StreamOperator.js';
import { SplitWatermarkGeneration } from './SplitWatermarks.js';
import { WatermarkGeneration } from './TimestampsAndWatermarksOperator.js';

/**
 * Runs a Source's reader in a task; its splits (read positions) are operator list state. The source's
 * WatermarkStrategy assigns the records' timestamps and generates the watermarks: one generator per split
 * for sources with `perSplitWatermarks` (Kafka partitions), else one per subtask.
 */
export class SourceOperator<T> extends StreamOperator<never> {
  private reader!: SourceReader<T, SourceSplit>;
  private splitState!: ListState<SourceSplit>;
  private readonly watermarks: WatermarkGeneration<T>;
  private readonly splitWatermarks?: SplitWatermarkGeneration<T>;
  /** Split starts and ends the reader announced, applied in pollNext (the reader may announce from its fetch loop). */
  private readonly splitEvents: [boolean, string][] = [];
  private emit!: (v: T, ts?: number, split?: string) => void;

  constructor(readonly source: Source<T, SourceSplit>, strategy: WatermarkStrategy<T> = WatermarkStrategy.noWatermarks<T>()) {
    super();
    this.watermarks = new WatermarkGeneration(strategy);
    if (source.perSplitWatermarks && strategy.emitsWatermarks) this.splitWatermarks = new SplitWatermarkGeneration(strategy);
  }

  /** The source's WatermarkStrategy (the Flink runner applies it to a Flink-native source's records in JS). */
  get watermarkStrategy(): WatermarkStrategy<T> {
    return this.watermarks.strategy;
  }

  override initializeState(): void {
    const { subtask, parallelism } = this.ctx;
    const assign = this.source.assignSplits?.bind(this.source);
    this.splitState = assign
      ? this.ctx.operatorState.getUnionListState<SourceSplit>('SourceReaderState')
      : this.ctx.operatorState.getListState<SourceSplit>('SourceReaderState');
    if (!this.ctx.restored) {
      this.splitState.update(this.source.initialSplits(parallelism).filter((_, i) => i % parallelism === subtask));
    } else if (assign) {
      this.splitState.update(assign(this.splitState.get(), subtask, parallelism));
    }
    if (this.splitWatermarks) this.splitWatermarks.initializeState(this.ctx);
    else this.watermarks.initializeState(this.ctx);
  }

  override open(): void {
    const ws = this.watermarks;
    const sw = this.splitWatermarks;
    const el = this.ctx.element;
    // Source records start without a timestamp; without event time they go straight to the chain.
    // A reader may give the record's own time (Kafka's record timestamp), the default event time as in Flink.
    this.emit = sw
      ? (v: T, ts?: number, split?: string) => {
        // Splits announced in this poll first: a record's split must not be the only one its watermark sees.
        if (this.splitEvents.length > 0) this.applySplitEvents();
        el.timestamp = ts;
        sw.collect(v, split ?? '');
      }
      : ws.strategy.emitsWatermarks || ws.strategy.createTimestampAssigner()
        ? (v: T, ts?: number) => { el.timestamp = ts; ws.collect(v); }
        : (v: T, ts?: number) => { el.timestamp = ts; this.ctx.output.collect(v); };
    this.reader = this.source.createReader({
      subtask: this.ctx.subtask,
      parallelism: this.ctx.parallelism,
      ...(sw && {
        splitStarted: (id: string) => this.splitEvents.push([true, id]),
        splitFinished: (id: string) => this.splitEvents.push([false, id]),
      }),
    });
    this.reader.addSplits(this.splitState.get());
    if (sw) sw.open();
    else ws.open();
  }

  pollNext(budget: number): number | 'end' {
    if (this.splitEvents.length > 0) this.applySplitEvents();
    const r = this.reader.pollNext(this.emit, budget);
    if (this.splitEvents.length > 0) this.applySplitEvents();
    return r;
  }

  private applySplitEvents(): void {
    for (const [started, id] of this.splitEvents.splice(0)) {
      if (started) this.splitWatermarks!.addSplit(id);
      else this.splitWatermarks!.releaseSplit(id);
    }
  }

  /** End of input or stop --drain: MAX_WATERMARK, so every event-time timer and window fires. */
  emitFinalWatermark(): void {
    if (this.splitWatermarks) this.splitWatermarks.emitFinalWatermark();
    else this.watermarks.emitFinalWatermark();
  }

  processElement(): void {
    throw new Error('A source has no input');
  }

  override endInput(): void {
    this.emitFinalWatermark();
  }

  override snapshotState(checkpointId: number): void {
    this.splitState.update(this.reader.snapshotState(checkpointId));
    if (this.splitWatermarks) this.splitWatermarks.snapshotState();
    else this.watermarks.snapshotState();
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    this.reader.notifyCheckpointComplete?.(checkpointId);
  }

  override close(): void {
    this.reader?.close?.();
  }
}
