import type { Collector } from '../api/functions.js';
import type { KeyedCoProcessFunction, ProcessJoinFunction } from '../api/co.js';
import { MapStateDescriptor, type MapState } from '../api/state.js';
import { restoredTimerService, type InternalTimerService } from './InternalTimerService.js';
import type { TimeDomain } from '../api/TimerService.js';
import type { OperatorContext } from './StreamOperator.js';
import { StreamOperator } from './StreamOperator.js';
import { UdfOperator } from './UdfOperators.js';

/**
 * Two-input operators behind `a.connect(b)` and the interval join (Flink's CoStreamMap, CoStreamFlatMap,
 * CoProcessOperator, KeyedCoProcessOperator, IntervalJoinOperator). The task calls `processElement` for
 * input 1 and `processElement2` for input 2; on keyed inputs it has set the record's key, taken with
 * that input's own key selector, before either call.
 */

/** `a.union(b, …)`: the records of every input, unchanged. */
export class UnionOperator extends StreamOperator {
  processElement(v: unknown): void {
    this.ctx.output.collect(v);
  }
}

type Fn1<R = void> = (v: unknown, ...rest: any[]) => R;

export class CoStreamMap extends UdfOperator<unknown> {
  private f1!: Fn1<unknown>;
  private f2!: Fn1<unknown>;
  override open(): void {
    super.open();
    this.f1 = this.method('map1');
    this.f2 = this.method('map2');
  }
  processElement(v: unknown): void {
    this.ctx.output.collect(this.f1(v));
  }
  override processElement2(v: unknown): void {
    this.ctx.output.collect(this.f2(v));
  }
}

export class CoStreamFlatMap extends UdfOperator<unknown> {
  private f1!: Fn1;
  private f2!: Fn1;
  override open(): void {
    super.open();
    this.f1 = this.method('flatMap1');
    this.f2 = this.method('flatMap2');
  }
  processElement(v: unknown): void {
    this.f1(v, this.ctx.output);
  }
  override processElement2(v: unknown): void {
    this.f2(v, this.ctx.output);
  }
}

/** Non-keyed `connect(...).process(CoProcessFunction)`. */
export class CoProcessOperator extends UdfOperator<unknown> {
  private f1!: Fn1;
  private f2!: Fn1;
  private readonly pctx = {
    timestamp: () => this.ctx.element.timestamp,
    output: (tag: { id: string }, value: unknown) => this.ctx.output.collectSide(tag.id, value),
  };
  override open(): void {
    super.open();
    this.f1 = this.method('processElement1');
    this.f2 = this.method('processElement2');
  }
  processElement(v: unknown): void {
    this.f1(v, this.pctx, this.ctx.output);
  }
  override processElement2(v: unknown): void {
    this.f2(v, this.pctx, this.ctx.output);
  }
}

/** `keyedA.connect(keyedB).process(KeyedCoProcessFunction)`: keyed state and timers shared by both inputs. */
export class KeyedCoProcessOperator<K> extends UdfOperator<unknown> {
  private f1!: Fn1;
  private f2!: Fn1;
  private kctx!: KeyedCoProcessFunction.Context<K>;
  private timers!: InternalTimerService;

  override open(): void {
    super.open();
    this.f1 = this.method('processElement1');
    this.f2 = this.method('processElement2');
    const keyed = this.ctx.keyed!;
    const onTimer = (this.fn as KeyedCoProcessFunction<K, unknown, unknown, unknown>).onTimer?.bind(this.fn);
    let firing: number | undefined;
    this.timers = restoredTimerService(this.ctx, (time, domain) => {
      if (!onTimer) return;
      firing = time;
      this.ctx.element.timestamp = domain === 'EVENT_TIME' ? time : undefined; // what the timer emits carries its time
      try {
        onTimer(time, { ...this.kctx, timeDomain: () => domain }, this.ctx.output as Collector<unknown>);
      } finally {
        firing = undefined;
      }
    });
    this.kctx = {
      getCurrentKey: () => keyed.getCurrentKey() as K,
      timestamp: () => firing ?? this.ctx.element.timestamp,
      timerService: () => this.timers,
      output: (tag, value) => this.ctx.output.collectSide(tag.id, value),
    };
  }

  processElement(v: unknown): void {
    this.f1(v, this.kctx, this.ctx.output);
  }

  override processElement2(v: unknown): void {
    this.f2(v, this.kctx, this.ctx.output);
  }

  override processWatermark(watermark: number): void {
    this.timers.advanceWatermark(watermark);
    super.processWatermark(watermark);
  }

  /** End of bounded input: Flink's final watermark fires every event-time timer. */
  override endInput(): void {
    this.timers.advanceWatermark(Number.MAX_SAFE_INTEGER);
  }
}

export interface IntervalJoinBounds {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
}

/**
 * Flink's IntervalJoinOperator: joins a left record at time t with every right record of the same key in
 * [t + lower, t + upper]. Both sides are buffered in keyed MapState (timestamp → records), so buffers are
 * in every snapshot and rescale with their key group; an event-time timer per buffered timestamp removes a
 * bucket once the watermark has passed the last time a record of the other side could still join it.
 * Records need event timestamps (`ctx.element`); records behind the watermark are dropped.
 */
export class IntervalJoinOperator extends UdfOperator<unknown> {
  static readonly LEFT_BUFFER = 'LEFT_BUFFER';
  static readonly RIGHT_BUFFER = 'RIGHT_BUFFER';
  private readonly lower: number;
  private readonly upper: number;
  private f!: (l: unknown, r: unknown, c: ProcessJoinFunction.Context, out: Collector<unknown>) => void;
  private left!: MapState<number, unknown[]>;
  private right!: MapState<number, unknown[]>;
  private timers!: InternalTimerService;

  constructor(fn: unknown, bounds: IntervalJoinBounds) {
    super(fn);
    // Exclusive bounds become inclusive ones on integral milliseconds, as in Flink.
    this.lower = bounds.lowerInclusive ? bounds.lower : bounds.lower + 1;
    this.upper = bounds.upperInclusive ? bounds.upper : bounds.upper - 1;
  }

  override open(): void {
    super.open();
    this.f = this.method('processElement');
    const keyed = this.ctx.keyed!;
    this.left = keyed.getMapState(new MapStateDescriptor<number, unknown[]>(IntervalJoinOperator.LEFT_BUFFER));
    this.right = keyed.getMapState(new MapStateDescriptor<number, unknown[]>(IntervalJoinOperator.RIGHT_BUFFER));
    this.timers = restoredTimerService(this.ctx, (time) => this.cleanUp(time));
  }

  processElement(v: unknown): void {
    this.join(v, true);
  }

  override processElement2(v: unknown): void {
    this.join(v, false);
  }

  private join(value: unknown, isLeft: boolean): void {
    const ts = this.ctx.element.timestamp;
    if (ts === undefined) {
      throw new Error('Elements used in an interval join need event timestamps: assign them with a WatermarkStrategy (withTimestampAssigner) before the join');
    }
    if (ts < this.timers.currentWatermark()) return; // late: nothing it could join with is left
    const [ours, theirs] = isLeft ? [this.left, this.right] : [this.right, this.left];
    // Bounds relative to this record: the right side sees the interval mirrored.
    const relLower = isLeft ? this.lower : -this.upper;
    const relUpper = isLeft ? this.upper : -this.lower;
    ours.put(ts, [...(ours.get(ts) ?? []), value]); // a new array: never mutate what a snapshot may hold
    for (const [t, others] of theirs.entries()) {
      if (t < ts + relLower || t > ts + relUpper) continue;
      for (const other of others) {
        if (isLeft) this.emit(value, other, ts, t);
        else this.emit(other, value, t, ts);
      }
    }
    this.timers.registerEventTimeTimer(relUpper > 0 ? ts + relUpper : ts);
  }

  private emit(l: unknown, r: unknown, lt: number, rt: number): void {
    const ctx: ProcessJoinFunction.Context = { getLeftTimestamp: () => lt, getRightTimestamp: () => rt, getTimestamp: () => Math.max(lt, rt) };
    this.ctx.element.timestamp = Math.max(lt, rt); // Flink: a joined pair carries the later of its two timestamps
    this.f(l, r, ctx, this.ctx.output as Collector<unknown>);
  }

  /**
   * A timer at `time` is the cleanup time of exactly one left and one right bucket; either may be the one it
   * was registered for, and the other has expired at that watermark as well (timers carry no namespace here).
   */
  private cleanUp(time: number): void {
    this.left.remove(this.upper <= 0 ? time : time - this.upper);
    this.right.remove(this.lower <= 0 ? time + this.lower : time);
  }

  override processWatermark(watermark: number): void {
    this.timers.advanceWatermark(watermark);
    super.processWatermark(watermark);
  }

  override endInput(): void {
    this.timers.advanceWatermark(Number.MAX_SAFE_INTEGER);
  }
}
