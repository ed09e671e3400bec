import { MapStateDescriptor, type MapState } from '../api/state.js';
import type { Collector } from '../api/functions.js';
import { MAX_WATERMARK } from '../api/eventtime.js';
import { mergeWindow, TimeWindow, type ProcessWindowFunction, type WindowAssigner } from '../api/windows.js';
import { restoredTimerService, type InternalTimerService } from './InternalTimerService.js';
import type { TimeDomain } from '../api/TimerService.js';
import { callHook, StreamOperator } from './StreamOperator.js';

/** How a window function keeps and emits a window's contents: an accumulator built element by element. */
export interface WindowFunctionSpec<ACC, OUT> {
  add(acc: ACC | undefined, value: unknown): ACC;
  /** Session windows: the accumulators of merged windows combine. */
  merge(a: ACC, b: ACC): ACC;
  emit(key: unknown, ctx: ProcessWindowFunction.Context<TimeWindow>, acc: ACC, out: Collector<OUT>): void;
  /** The user's function objects, for the rich-function hooks (runtime context, open, close). */
  userFunctions: unknown[];
}

/** Keyed state of the window contents: per key, "start:end" → [start, end, accumulator]. */
export const WINDOW_CONTENTS_STATE = 'window-contents';

type Entry<ACC> = [start: number, end: number, acc: ACC];

/**
 * Flink's WindowOperator with the default triggers (EventTimeTrigger / ProcessingTimeTrigger): an element
 * goes into the windows the assigner gives it; a window fires when the watermark (or the clock) passes its
 * end, again for each element that arrives within the allowed lateness, and its contents are cleared at
 * end + allowedLateness. Elements for which every window is already cleared are late: they go to the late
 * side output when one is set, and are dropped otherwise.
 *
 * Window contents are keyed state and the timers live in the keyed timer service, so both move with their
 * key group on rescaling and restore from every checkpoint and savepoint. A timer does not name its
 * window: when a key's timer fires, the windows of that key whose end (or cleanup time) it is are found
 * in the key's contents, which also makes timers of windows merged away by a session harmless.
 */
export class WindowOperator<ACC, OUT> extends StreamOperator {
  private contents!: MapState<string, Entry<ACC>>;
  private timers!: InternalTimerService;
  private windowCtx!: ProcessWindowFunction.Context<TimeWindow> & { w?: TimeWindow };
  private readonly domain: TimeDomain;

  constructor(
    private readonly assigner: WindowAssigner,
    private readonly fn: WindowFunctionSpec<ACC, OUT>,
    private readonly allowedLateness: number,
    private readonly lateDataTag?: string,
  ) {
    super();
    this.domain = assigner.isEventTime() ? 'EVENT_TIME' : 'PROCESSING_TIME';
  }

  override initializeState(): void {
    for (const f of this.fn.userFunctions) callHook(f, 'setRuntimeContext', this.ctx.runtimeContext);
  }

  override open(): void {
    for (const f of this.fn.userFunctions) callHook(f, 'open', {});
    const keyed = this.ctx.keyed;
    if (!keyed) throw new Error('Windows need a keyed stream (keyBy before window)');
    this.contents = keyed.getMapState(new MapStateDescriptor<string, Entry<ACC>>(WINDOW_CONTENTS_STATE));
    this.timers = restoredTimerService(this.ctx, (time, domain) => this.onTimer(time, domain));
    const self = this;
    this.windowCtx = {
      window() {
        return this.w!;
      },
      currentProcessingTime: () => this.ctx.processingTimeService.now(),
      currentWatermark: () => this.timers.currentWatermark(),
      output: (tag, value) => self.ctx.output.collectSide(tag.id, value),
    };
  }

  processElement(value: unknown): void {
    const el = this.ctx.element;
    let timestamp: number;
    if (this.domain === 'EVENT_TIME') {
      if (el.timestamp === undefined) {
        throw new Error(
          "Record has no timestamp (= no timestamp marker). Is the time characteristic set to 'ProcessingTime', or did you forget to call 'DataStream.assignTimestampsAndWatermarks(...)'?",
        );
      }
      timestamp = el.timestamp;
    } else {
      timestamp = this.ctx.processingTimeService.now();
    }
    const windows = this.assigner.assignWindows(value, timestamp, { getCurrentProcessingTime: () => this.ctx.processingTimeService.now() });
    let skipped = true;
    for (const assigned of windows) {
      let window = assigned;
      let acc: ACC | undefined;
      if (this.assigner.isMerging()) {
        const existing = this.contents.values().map(([s, e]) => new TimeWindow(s, e));
        const { merged, absorbed } = mergeWindow(existing, assigned);
        if (this.isWindowLate(merged)) continue;
        window = merged;
        absorbed.sort((a, b) => a.start - b.start);
        for (const w of absorbed) {
          const k = windowKey(w);
          const other = this.contents.get(k)![2];
          acc = acc === undefined ? other : this.fn.merge(acc, other);
          this.contents.remove(k);
        }
      } else {
        if (this.isWindowLate(window)) continue;
        acc = this.contents.get(windowKey(window))?.[2];
      }
      skipped = false;
      acc = this.fn.add(acc, value);
      this.contents.put(windowKey(window), [window.start, window.end, acc]);
      // EventTimeTrigger.onElement: a window the watermark has passed fires at once (late firing).
      if (this.domain === 'EVENT_TIME' && window.maxTimestamp() <= this.timers.currentWatermark()) {
        this.emitWindow(window, acc);
        el.timestamp = timestamp;
      } else {
        this.registerTimer(window.maxTimestamp());
      }
      const cleanup = this.cleanupTime(window);
      if (cleanup !== window.maxTimestamp() && cleanup < MAX_WATERMARK) this.registerTimer(cleanup);
    }
    if (skipped && this.isElementLate(timestamp) && this.lateDataTag !== undefined) {
      this.ctx.output.collectSide(this.lateDataTag, value);
    }
  }

  override processWatermark(watermark: number): void {
    this.timers.advanceWatermark(watermark);
    super.processWatermark(watermark);
  }

  private onTimer(time: number, domain: TimeDomain): void {
    if (domain !== this.domain) return;
    for (const [k, [start, end, acc]] of this.contents.entries()) {
      const window = new TimeWindow(start, end);
      if (window.maxTimestamp() === time) this.emitWindow(window, acc);
      if (this.cleanupTime(window) <= time) this.contents.remove(k);
    }
  }

  private emitWindow(window: TimeWindow, acc: ACC): void {
    this.ctx.element.timestamp = window.maxTimestamp(); // Flink: a window's results carry its max timestamp
    this.windowCtx.w = window;
    this.fn.emit(this.ctx.keyed!.getCurrentKey(), this.windowCtx, acc, this.ctx.output as Collector<OUT>);
  }

  private registerTimer(time: number): void {
    if (this.domain === 'EVENT_TIME') this.timers.registerEventTimeTimer(time);
    else this.timers.registerProcessingTimeTimer(time);
  }

  private cleanupTime(window: TimeWindow): number {
    if (this.domain === 'PROCESSING_TIME') return window.maxTimestamp();
    const t = window.maxTimestamp() + this.allowedLateness;
    return t >= window.maxTimestamp() && t < MAX_WATERMARK ? t : MAX_WATERMARK;
  }

  private isWindowLate(window: TimeWindow): boolean {
    return this.domain === 'EVENT_TIME' && this.cleanupTime(window) <= this.timers.currentWatermark();
  }

  private isElementLate(timestamp: number): boolean {
    return this.domain === 'EVENT_TIME' && timestamp + this.allowedLateness <= this.timers.currentWatermark();
  }

  override snapshotState(checkpointId: number): void {
    for (const f of this.fn.userFunctions) callHook(f, 'snapshotState', { getCheckpointId: () => checkpointId });
  }

  override close(): void {
    for (const f of this.fn.userFunctions) callHook(f, 'close');
  }
}

function windowKey(w: TimeWindow): string {
  return `${w.start}:${w.end}`;
}
