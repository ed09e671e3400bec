import { MIN_WATERMARK, Watermark, type TimestampAssignerFn, type WatermarkGenerator, type WatermarkOutput, type WatermarkStrategy } from '../api/eventtime.js';
import type { ListState } from '../api/state.js';
import type { OperatorContext } from './StreamOperator.js';

/** Union list state of the per-split generators: every subtask sees all entries and keeps its splits'. */
export const SPLIT_WATERMARK_STATE = 'SplitWatermarkState';

interface SplitSnapshot {
  split: string;
  watermark: number;
  generator?: unknown;
}

/** One split's watermark and idleness (Flink's split-local output of the WatermarkOutputMultiplexer). */
class SplitOutput implements WatermarkOutput {
  watermark = MIN_WATERMARK;
  idle = false;
  constructor(readonly generator: WatermarkGenerator<unknown>, private readonly changed: () => void) {}
  emitWatermark(w: Watermark): void {
    const ts = w.getTimestamp();
    // As in Flink, a watermark makes an idle output active again.
    if (ts <= this.watermark && !this.idle) return;
    this.watermark = Math.max(this.watermark, ts);
    this.idle = false;
    this.changed();
  }
  markIdle(): void {
    if (this.idle) return;
    this.idle = true;
    this.changed();
  }
  markActive(): void {
    if (!this.idle) return;
    this.idle = false;
    this.changed();
  }
}

/**
 * Flink's per-split watermarks for sources whose splits are independent streams (Kafka partitions): every
 * split gets its own generator from the strategy, with its own idleness; the subtask emits the minimum
 * watermark of its active splits, and is idle when all its splits are. A finished split stops holding the
 * watermark back. Split outputs exist from the moment a split is assigned, so an empty partition holds the
 * watermark back until it is idle (withIdleness), as in Flink.
 *
 * Each split's watermark and generator state are checkpointed (union state), so a split restored on another
 * subtask, also after rescaling, continues with the watermark it had.
 */
export class SplitWatermarkGeneration<T> {
  private readonly assigner?: TimestampAssignerFn<T>;
  private readonly outputs = new Map<string, SplitOutput>();
  private restored = new Map<string, SplitSnapshot>();
  private lastEmitted = MIN_WATERMARK;
  private idle = false;
  private state!: ListState<SplitSnapshot>;
  private ctx!: OperatorContext;
  /** Set while all generators tick: one combined update after the tick, not one per split. */
  private ticking = false;

  constructor(readonly strategy: WatermarkStrategy<T>) {
    this.assigner = strategy.createTimestampAssigner();
  }

  get currentWatermark(): number {
    return this.lastEmitted;
  }

  initializeState(ctx: OperatorContext): void {
    this.ctx = ctx;
    this.state = ctx.operatorState.getUnionListState<SplitSnapshot>(SPLIT_WATERMARK_STATE);
    for (const s of this.state.get()) this.restored.set(s.split, s);
  }

  open(): void {
    const interval = this.ctx.autoWatermarkInterval;
    if (interval > 0) {
      const pts = this.ctx.processingTimeService;
      const tick = () => {
        this.ticking = true;
        for (const o of this.outputs.values()) o.generator.onPeriodicEmit(o);
        this.ticking = false;
        this.combine();
        pts.schedule(pts.now() + interval, tick);
      };
      pts.schedule(pts.now() + interval, tick);
    }
  }

  /** A split was assigned to this subtask: from now on it holds the watermark back. */
  addSplit(split: string): void {
    if (this.outputs.has(split)) return;
    const out = new SplitOutput(this.strategy.createWatermarkGenerator() as WatermarkGenerator<unknown>, () => this.ticking || this.combine());
    const r = this.restored.get(split);
    if (r) {
      out.watermark = r.watermark;
      if (r.generator !== undefined) out.generator.restoreState?.(r.generator);
    }
    this.outputs.set(split, out);
    this.combine();
  }

  /** A split finished (bounded end, or reassigned): it no longer holds the watermark back. */
  releaseSplit(split: string): void {
    if (this.outputs.delete(split)) this.combine();
  }

  /** Assigns the record's timestamp, emits it, then lets its split's generator see it (Flink's order). */
  collect(value: T, split: string): void {
    const el = this.ctx.element;
    if (this.assigner) el.timestamp = this.assigner(value, el.timestamp ?? MIN_WATERMARK);
    let out = this.outputs.get(split);
    if (!out) {
      this.addSplit(split);
      out = this.outputs.get(split)!;
    }
    if (out.idle) out.markActive();
    this.ctx.output.collect(value);
    if (el.timestamp !== undefined) out.generator.onEvent(value, el.timestamp, out);
  }

  snapshotState(): void {
    this.state.update([...this.outputs].map(([split, o]) => ({ split, watermark: o.watermark, generator: o.generator.snapshotState?.() })));
  }

  /** End of input or stop --drain: Flink's MAX_WATERMARK, whatever the splits say. */
  emitFinalWatermark(): void {
    this.emit(Watermark.MAX_WATERMARK.getTimestamp());
  }

  private combine(): void {
    if (this.outputs.size === 0) return;
    let min = Infinity;
    for (const o of this.outputs.values()) if (!o.idle && o.watermark < min) min = o.watermark;
    if (min === Infinity) {
      if (!this.idle) {
        this.idle = true;
        this.ctx.output.emitWatermarkStatus(true);
      }
      return;
    }
    if (this.idle) {
      this.idle = false;
      this.ctx.output.emitWatermarkStatus(false);
    }
    this.emit(min);
  }

  private emit(ts: number): void {
    if (ts <= this.lastEmitted) return;
    if (this.idle) {
      this.idle = false;
      this.ctx.output.emitWatermarkStatus(false);
    }
    this.lastEmitted = ts;
    this.ctx.output.emitWatermark(ts);
  }
}
