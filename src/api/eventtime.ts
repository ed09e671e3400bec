/**
 * Event time in the shape of Flink's org.apache.flink.api.common.eventtime: a WatermarkStrategy makes a
 * TimestampAssigner (element → event time) and a WatermarkGenerator (events and a periodic tick →
 * watermarks). Durations are milliseconds.
 */

/** Flink's Long.MIN_VALUE / Long.MAX_VALUE watermarks, as safe integers. */
export const MIN_WATERMARK = Number.MIN_SAFE_INTEGER;
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;

export class Watermark {
  static readonly MAX_WATERMARK = new Watermark(MAX_WATERMARK);
  constructor(readonly timestamp: number) {}
  getTimestamp(): number {
    return this.timestamp;
  }
}

export interface WatermarkOutput {
  emitWatermark(watermark: Watermark): void;
  /** No more events for a while: downstream operators stop waiting for this input's watermark. */
  markIdle(): void;
  markActive(): void;
}

export interface WatermarkGenerator<T> {
  onEvent(event: T, eventTimestamp: number, output: WatermarkOutput): void;
  /** Called every `pipeline.auto-watermark-interval`. */
  onPeriodicEmit(output: WatermarkOutput): void;
  /**
   * flink-ts extension: the generator's state for checkpoints (Flink re-creates generators on restore;
   * keeping their state is what makes a restored run's watermarks equal an uninterrupted run's).
   */
  snapshotState?(): unknown;
  restoreState?(state: unknown): void;
}

export interface TimestampAssigner<T> {
  extractTimestamp(element: T, recordTimestamp: number): number;
}

export type TimestampAssignerFn<T> = (element: T, recordTimestamp: number) => number;

/** Watermarks that trail the highest timestamp seen by the bound (Flink's BoundedOutOfOrdernessWatermarks). */
export class BoundedOutOfOrdernessWatermarks<T> implements WatermarkGenerator<T> {
  private maxTimestamp: number;
  constructor(private readonly outOfOrdernessMillis: number) {
    if (!(outOfOrdernessMillis >= 0)) throw new RangeError('maxOutOfOrderness cannot be negative');
    this.maxTimestamp = MIN_WATERMARK + outOfOrdernessMillis + 1;
  }
  onEvent(_event: T, eventTimestamp: number, _output?: WatermarkOutput): void {
    if (eventTimestamp > this.maxTimestamp) this.maxTimestamp = eventTimestamp;
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    output.emitWatermark(new Watermark(this.maxTimestamp - this.outOfOrdernessMillis - 1));
  }
  snapshotState(): unknown {
    return this.maxTimestamp;
  }
  restoreState(state: unknown): void {
    if (typeof state === 'number') this.maxTimestamp = state;
  }
}

/** Timestamps never decrease (Flink's AscendingTimestampsWatermarks). */
export class AscendingTimestampsWatermarks<T> extends BoundedOutOfOrdernessWatermarks<T> {
  constructor() {
    super(0);
  }
}

export class NoWatermarksGenerator<T> implements WatermarkGenerator<T> {
  onEvent(): void {}
  onPeriodicEmit(): void {}
}

/**
 * Marks the output idle when no event arrived for `idleTimeoutMillis` of processing time (Flink's
 * WatermarksWithIdleness); the next event makes it active again.
 */
export class WatermarksWithIdleness<T> implements WatermarkGenerator<T> {
  private lastActivity: number;
  private idle = false;
  constructor(
    private readonly watermarks: WatermarkGenerator<T>,
    private readonly idleTimeoutMillis: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(idleTimeoutMillis > 0)) throw new RangeError('idleTimeout must be greater than zero');
    this.lastActivity = clock();
  }
  onEvent(event: T, eventTimestamp: number, output: WatermarkOutput): void {
    this.watermarks.onEvent(event, eventTimestamp, output);
    this.lastActivity = this.clock();
    if (this.idle) {
      this.idle = false;
      output.markActive();
    }
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    if (this.clock() - this.lastActivity >= this.idleTimeoutMillis) {
      if (!this.idle) output.markIdle();
      this.idle = true;
    } else {
      this.watermarks.onPeriodicEmit(output);
    }
  }
  snapshotState(): unknown {
    return this.watermarks.snapshotState?.();
  }
  restoreState(state: unknown): void {
    this.watermarks.restoreState?.(state);
  }
}

export type WatermarkGeneratorSupplier<T> = () => WatermarkGenerator<T>;

/** Flink's WatermarkStrategy: immutable; `with…` returns a new strategy. */
export class WatermarkStrategy<T> {
  private constructor(
    private readonly generator: WatermarkGeneratorSupplier<T>,
    private readonly assigner?: TimestampAssignerFn<T>,
    private readonly idleTimeout?: number,
    /** noWatermarks: no generator runs, no periodic tick. */
    readonly emitsWatermarks = true,
  ) {}

  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new AscendingTimestampsWatermarks<T>());
  }

  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMillis: number): WatermarkStrategy<T> {
    if (!(maxOutOfOrdernessMillis >= 0)) throw new RangeError('maxOutOfOrderness cannot be negative');
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrdernessWatermarks<T>(maxOutOfOrdernessMillis));
  }

  static forGenerator<T>(supplier: WatermarkGeneratorSupplier<T> | { createWatermarkGenerator(): WatermarkGenerator<T> }): WatermarkStrategy<T> {
    const s = typeof supplier === 'function' ? supplier : () => supplier.createWatermarkGenerator();
    return new WatermarkStrategy<T>(s);
  }

  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new NoWatermarksGenerator<T>(), undefined, undefined, false);
  }

  withTimestampAssigner(assigner: TimestampAssigner<T> | TimestampAssignerFn<T>): WatermarkStrategy<T> {
    const fn: TimestampAssignerFn<T> = typeof assigner === 'function' ? assigner : (e, ts) => assigner.extractTimestamp(e, ts);
    return new WatermarkStrategy<T>(this.generator, fn, this.idleTimeout, this.emitsWatermarks);
  }

  withIdleness(idleTimeoutMillis: number): WatermarkStrategy<T> {
    if (!(idleTimeoutMillis > 0)) throw new RangeError('idleTimeout must be greater than zero');
    return new WatermarkStrategy<T>(this.generator, this.assigner, idleTimeoutMillis, this.emitsWatermarks);
  }

  createWatermarkGenerator(): WatermarkGenerator<T> {
    const g = this.generator();
    return this.idleTimeout !== undefined ? new WatermarksWithIdleness(g, this.idleTimeout) : g;
  }

  /** The assigner; without one the record keeps the timestamp it has (Flink's RecordTimestampAssigner). */
  createTimestampAssigner(): TimestampAssignerFn<T> | undefined {
    return this.assigner;
  }
}
