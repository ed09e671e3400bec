import {
  MAX_WATERMARK, MIN_WATERMARK, Watermark, type TimestampAssignerFn, type WatermarkGenerator, type WatermarkOutput, type WatermarkStrategy,
} from '../api/eventtime.js';
import type { ListState } from '../api/state.js';
import { StreamOperator, type OperatorContext } from './StreamOperator.js';

/** Operator list state of a watermark generator: its last emitted watermark and its own state. */
export const WATERMARK_GENERATOR_STATE = 'WatermarkGeneratorState';

interface GeneratorSnapshot {
  watermark: number;
  generator?: unknown;
}

/**
 * Runs a WatermarkStrategy inside an operator (a source, or assignTimestampsAndWatermarks): assigns each
 * record's timestamp, feeds the generator, ticks it every auto-watermark interval and emits watermarks
 * that only ever increase. Its last watermark and the generator's state are checkpointed, and a restored
 * instance re-emits that watermark before its first record, so downstream operators judge late data after
 * a restore exactly as in an uninterrupted run.
 */
export class WatermarkGeneration<T> implements WatermarkOutput {
  private readonly generator: WatermarkGenerator<T>;
  private readonly assigner?: TimestampAssignerFn<T>;
  private lastEmitted = MIN_WATERMARK;
  private idle = false;
  private state?: ListState<GeneratorSnapshot>;
  private ctx!: OperatorContext;

  constructor(readonly strategy: WatermarkStrategy<T>) {
    this.generator = strategy.createWatermarkGenerator();
    this.assigner = strategy.createTimestampAssigner();
  }

  get currentWatermark(): number {
    return this.lastEmitted;
  }

  initializeState(ctx: OperatorContext): void {
    this.ctx = ctx;
    if (!this.strategy.emitsWatermarks) return;
    this.state = ctx.operatorState.getListState<GeneratorSnapshot>(WATERMARK_GENERATOR_STATE);
    const restored = this.state.get();
    if (restored.length > 0) {
      // Rescaled to fewer subtasks a subtask may get several: the lowest watermark is the safe one.
      this.lastEmitted = Math.min(...restored.map((r) => r.watermark));
      if (restored[0].generator !== undefined) this.generator.restoreState?.(restored[0].generator);
    }
  }

  open(): void {
    if (!this.strategy.emitsWatermarks) return;
    if (this.lastEmitted > MIN_WATERMARK) this.ctx.output.emitWatermark(this.lastEmitted);
    const interval = this.ctx.autoWatermarkInterval;
    if (interval > 0) {
      const pts = this.ctx.processingTimeService;
      const tick = () => {
        this.generator.onPeriodicEmit(this);
        pts.schedule(pts.now() + interval, tick);
      };
      pts.schedule(pts.now() + interval, tick);
    }
  }

  /** Assigns the record's timestamp, emits the record, then lets the generator see it (Flink's order). */
  collect(value: T): void {
    const el = this.ctx.element;
    if (this.assigner) el.timestamp = this.assigner(value, el.timestamp ?? MIN_WATERMARK);
    if (this.idle) this.markActive();
    this.ctx.output.collect(value);
    if (el.timestamp !== undefined) this.generator.onEvent(value, el.timestamp, this);
  }

  snapshotState(): void {
    this.state?.update([{ watermark: this.lastEmitted, generator: this.generator.snapshotState?.() }]);
  }

  emitWatermark(watermark: Watermark): void {
    const ts = watermark.getTimestamp();
    if (ts <= this.lastEmitted) return;
    if (this.idle) this.markActive();
    this.lastEmitted = ts;
    this.ctx.output.emitWatermark(ts);
  }

  markIdle(): void {
    if (this.idle) return;
    this.idle = true;
    this.ctx.output.emitWatermarkStatus(true);
  }

  markActive(): void {
    if (!this.idle) return;
    this.idle = false;
    this.ctx.output.emitWatermarkStatus(false);
  }

  /** End of input or stop --drain: Flink's MAX_WATERMARK. */
  emitFinalWatermark(): void {
    this.emitWatermark(Watermark.MAX_WATERMARK);
  }
}

/**
 * `stream.assignTimestampsAndWatermarks(strategy)` (Flink's TimestampsAndWatermarksOperator): replaces
 * the records' timestamps and generates its own watermarks; upstream watermarks are dropped except the
 * final MAX_WATERMARK, which still means end of input.
 */
export class TimestampsAndWatermarksOperator<T> extends StreamOperator<T> {
  private readonly generation: WatermarkGeneration<T>;

  constructor(strategy: WatermarkStrategy<T>) {
    super();
    this.generation = new WatermarkGeneration(strategy);
  }

  override initializeState(): void {
    this.generation.initializeState(this.ctx);
  }

  override open(): void {
    this.generation.open();
  }

  processElement(value: T): void {
    this.generation.collect(value);
  }

  override processWatermark(watermark: number): void {
    if (watermark >= MAX_WATERMARK) this.generation.emitFinalWatermark();
  }

  override processWatermarkStatus(): void {}

  override endInput(): void {
    this.generation.emitFinalWatermark();
  }

  override snapshotState(): void {
    this.generation.snapshotState();
  }
}
