/**
 * Windows in the shape of Flink's org.apache.flink.streaming.api.windowing: TimeWindow, the time window
 * assigners (tumbling, sliding, session; event time and processing time), Time, and ProcessWindowFunction.
 * Sizes and offsets are milliseconds or a Time. The runtime's WindowOperator uses this model; the
 * WindowedStream builder (windowing.ts) uses both.
 */
import { AbstractRichFunction, type Collector } from './functions.js';
import type { OutputTag } from './OutputTag.js';

/** Flink's Time (1.x API): a duration; every window method also takes plain milliseconds. */
export class Time {
  private constructor(private readonly ms: number) {}
  static milliseconds(n: number): Time {
    return new Time(n);
  }
  static seconds(n: number): Time {
    return new Time(n * 1000);
  }
  static minutes(n: number): Time {
    return new Time(n * 60_000);
  }
  static hours(n: number): Time {
    return new Time(n * 3_600_000);
  }
  toMilliseconds(): number {
    return this.ms;
  }
}

export type TimeLike = number | Time | { toMillis(): number };

export function toMillis(t: TimeLike, what: string): number {
  const ms = typeof t === 'number' ? t : 'toMilliseconds' in t ? t.toMilliseconds() : t.toMillis();
  if (!Number.isFinite(ms)) throw new RangeError(`${what} must be a finite number of milliseconds`);
  return ms;
}

/** A window of time [start, end): end is exclusive, so its last timestamp is end - 1. */
export class TimeWindow {
  constructor(readonly start: number, readonly end: number) {}
  getStart(): number {
    return this.start;
  }
  getEnd(): number {
    return this.end;
  }
  maxTimestamp(): number {
    return this.end - 1;
  }
  /** Windows that overlap or touch (Flink's intersects): session windows merge them. */
  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start;
  }
  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end));
  }
  equals(other: TimeWindow): boolean {
    return this.start === other.start && this.end === other.end;
  }
  toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`;
  }
  /** Flink's TimeWindow.getWindowStartWithOffset. */
  static getWindowStartWithOffset(timestamp: number, offset: number, windowSize: number): number {
    const remainder = (timestamp - offset) % windowSize;
    // Java and JS keep the sign of the dividend: shift negative remainders into [0, size).
    return remainder < 0 ? timestamp - (remainder + windowSize) : timestamp - remainder;
  }
}

export interface WindowAssignerContext {
  getCurrentProcessingTime(): number;
}

export abstract class WindowAssigner<T = unknown> {
  abstract assignWindows(element: T, timestamp: number, context: WindowAssignerContext): TimeWindow[];
  abstract isEventTime(): boolean;
  /** Session windows: windows that intersect are merged into one. */
  isMerging(): boolean {
    return false;
  }
  abstract toString(): string;
}

/** The time a window assigner uses: the element's timestamp or the clock. */
function timeOf(eventTime: boolean, timestamp: number, ctx: WindowAssignerContext): number {
  return eventTime ? timestamp : ctx.getCurrentProcessingTime();
}

/** Tumbling windows of either time domain (the two public classes differ only in it). */
abstract class TumblingWindows extends WindowAssigner {
  protected constructor(private readonly size: number, private readonly offset: number, private readonly eventTime: boolean) {
    super();
    if (!(size > 0) || Math.abs(offset) >= size) throw new RangeError(`${this.constructor.name} parameters must satisfy abs(offset) < size`);
  }
  assignWindows(_e: unknown, timestamp: number, ctx: WindowAssignerContext): TimeWindow[] {
    const start = TimeWindow.getWindowStartWithOffset(timeOf(this.eventTime, timestamp, ctx), this.offset, this.size);
    return [new TimeWindow(start, start + this.size)];
  }
  isEventTime(): boolean {
    return this.eventTime;
  }
  toString(): string {
    return `${this.constructor.name}(${this.size})`;
  }
}

export class TumblingEventTimeWindows extends TumblingWindows {
  static of(size: TimeLike, offset: TimeLike = 0): TumblingEventTimeWindows {
    return new TumblingEventTimeWindows(toMillis(size, 'size'), toMillis(offset, 'offset'), true);
  }
}

export class TumblingProcessingTimeWindows extends TumblingWindows {
  static of(size: TimeLike, offset: TimeLike = 0): TumblingProcessingTimeWindows {
    return new TumblingProcessingTimeWindows(toMillis(size, 'size'), toMillis(offset, 'offset'), false);
  }
}

/** Sliding windows of either time domain: every window of `size` starting at a multiple of `slide` (+ offset). */
abstract class SlidingWindows extends WindowAssigner {
  protected constructor(private readonly size: number, private readonly slide: number, private readonly offset: number, private readonly eventTime: boolean) {
    super();
    if (!(size > 0) || !(slide > 0) || Math.abs(offset) >= slide) {
      throw new RangeError('SlidingWindowAssigner parameters must satisfy abs(offset) < slide and size > 0');
    }
  }
  assignWindows(_e: unknown, timestamp: number, ctx: WindowAssignerContext): TimeWindow[] {
    const t = timeOf(this.eventTime, timestamp, ctx);
    const windows: TimeWindow[] = [];
    const lastStart = TimeWindow.getWindowStartWithOffset(t, this.offset, this.slide);
    for (let start = lastStart; start > t - this.size; start -= this.slide) windows.push(new TimeWindow(start, start + this.size));
    return windows;
  }
  isEventTime(): boolean {
    return this.eventTime;
  }
  toString(): string {
    return `${this.constructor.name}(${this.size}, ${this.slide})`;
  }
}

export class SlidingEventTimeWindows extends SlidingWindows {
  static of(size: TimeLike, slide: TimeLike, offset: TimeLike = 0): SlidingEventTimeWindows {
    return new SlidingEventTimeWindows(toMillis(size, 'size'), toMillis(slide, 'slide'), toMillis(offset, 'offset'), true);
  }
}

export class SlidingProcessingTimeWindows extends SlidingWindows {
  static of(size: TimeLike, slide: TimeLike, offset: TimeLike = 0): SlidingProcessingTimeWindows {
    return new SlidingProcessingTimeWindows(toMillis(size, 'size'), toMillis(slide, 'slide'), toMillis(offset, 'offset'), false);
  }
}

/** Session windows of either time domain: [t, t + gap) per element, merged when they intersect. */
abstract class SessionWindows extends WindowAssigner {
  protected constructor(private readonly gap: number, private readonly eventTime: boolean) {
    super();
    if (!(gap > 0)) throw new RangeError(`${this.constructor.name} parameters must satisfy 0 < size`);
  }
  assignWindows(_e: unknown, timestamp: number, ctx: WindowAssignerContext): TimeWindow[] {
    const t = timeOf(this.eventTime, timestamp, ctx);
    return [new TimeWindow(t, t + this.gap)];
  }
  isEventTime(): boolean {
    return this.eventTime;
  }
  override isMerging(): boolean {
    return true;
  }
  toString(): string {
    return `${this.constructor.name}(${this.gap})`;
  }
}

export class EventTimeSessionWindows extends SessionWindows {
  static withGap(gap: TimeLike): EventTimeSessionWindows {
    return new EventTimeSessionWindows(toMillis(gap, 'gap'), true);
  }
}

export class ProcessingTimeSessionWindows extends SessionWindows {
  static withGap(gap: TimeLike): ProcessingTimeSessionWindows {
    return new ProcessingTimeSessionWindows(toMillis(gap, 'gap'), false);
  }
}

/**
 * Merges `window` into a set of pairwise non-intersecting windows (Flink's MergingWindowSet): returns the
 * resulting window and the existing windows it swallowed. Since existing windows never intersect each
 * other, the new window's cover with those it intersects intersects no other.
 */
export function mergeWindow(existing: TimeWindow[], window: TimeWindow): { merged: TimeWindow; absorbed: TimeWindow[] } {
  let merged = window;
  const absorbed: TimeWindow[] = [];
  for (const w of existing) {
    if (w.intersects(window)) {
      absorbed.push(w);
      merged = merged.cover(w);
    }
  }
  return { merged, absorbed };
}

export abstract class ProcessWindowFunction<IN, OUT, KEY, W extends TimeWindow = TimeWindow> extends AbstractRichFunction {
  abstract process(key: KEY, context: ProcessWindowFunction.Context<W>, elements: IN[], out: Collector<OUT>): void;
}
export namespace ProcessWindowFunction {
  export interface Context<W> {
    window(): W;
    currentProcessingTime(): number;
    currentWatermark(): number;
    output<X>(tag: OutputTag<X>, value: X): void;
  }
}
