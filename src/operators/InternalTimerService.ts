import { ValueStateDescriptor, type ValueState } from '../api/state.js';
import type { KeyedStateBackend } from '../state/KeyedStateBackend.js';
import type { OperatorContext, ProcessingTimeService } from './StreamOperator.js';
import type { TimeDomain, TimerService } from '../api/TimerService.js';

interface Timer {
  time: number;
  key: unknown;
}

/** A binary min-heap of timers by time. */
class TimerHeap {
  private readonly a: Timer[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Timer | undefined {
    return this.a[0];
  }
  push(t: Timer): void {
    const a = this.a;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].time <= a[i].time) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): Timer | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].time < a[m].time) m = l;
        if (r < a.length && a[r].time < a[m].time) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

export const TIMER_STATE = { PROCESSING_TIME: '_timer_service/processing', EVENT_TIME: '_timer_service/event' } as const;

/**
 * Timers of a keyed operator. Each key's pending timer times live in keyed state (so they are part of
 * every checkpoint and savepoint and rescale with their key group); the heap that orders them is
 * derived from that state and rebuilt on restore. A deleted timer stays in the heap and is skipped
 * when it comes up, since it is no longer in its key's state.
 */
export class InternalTimerService implements TimerService {
  /** Created on first use, so operators that never set a timer carry no timer state (as in Flink). */
  private readonly states: Partial<Record<TimeDomain, ValueState<number[]>>> = {};
  private readonly heaps: Record<TimeDomain, TimerHeap> = { PROCESSING_TIME: new TimerHeap(), EVENT_TIME: new TimerHeap() };
  private scheduledAt = Infinity;
  private watermark = Number.MIN_SAFE_INTEGER;

  constructor(
    private readonly keyed: KeyedStateBackend,
    private readonly time: ProcessingTimeService,
    private readonly onTimer: (time: number, domain: TimeDomain) => void,
  ) {}

  private state(domain: TimeDomain): ValueState<number[]> {
    return (this.states[domain] ??= this.keyed.getState(new ValueStateDescriptor<number[]>(TIMER_STATE[domain])));
  }

  /** Rebuilds the heaps from restored timer state (key → times). */
  restore(domain: TimeDomain, key: unknown, times: number[]): void {
    this.state(domain); // restored timers exist, so a delete before the first register must find them
    for (const time of times) this.heaps[domain].push({ time, key });
    if (domain === 'PROCESSING_TIME') this.reschedule();
  }

  currentProcessingTime(): number {
    return this.time.now();
  }

  currentWatermark(): number {
    return this.watermark;
  }

  registerProcessingTimeTimer(time: number): void {
    if (this.add('PROCESSING_TIME', time)) this.reschedule();
  }

  registerEventTimeTimer(time: number): void {
    this.add('EVENT_TIME', time);
  }

  deleteProcessingTimeTimer(time: number): void {
    this.remove('PROCESSING_TIME', time);
  }

  deleteEventTimeTimer(time: number): void {
    this.remove('EVENT_TIME', time);
  }

  /** Fires every event-time timer up to the watermark, in time order. */
  advanceWatermark(watermark: number): void {
    if (watermark <= this.watermark) return; // watermarks only advance (a restored source may repeat one)
    this.watermark = watermark;
    this.fire('EVENT_TIME', watermark);
  }

  private add(domain: TimeDomain, time: number): boolean {
    const state = this.state(domain);
    const times = state.value() ?? [];
    if (times.includes(time)) return false; // one timer per key and time, as in Flink
    state.update([...times, time].sort((a, b) => a - b));
    this.heaps[domain].push({ time, key: this.keyed.getCurrentKey() });
    return true;
  }

  private remove(domain: TimeDomain, time: number): void {
    if (!this.states[domain]) return; // no timer was ever set in this domain
    const state = this.state(domain);
    const times = state.value();
    if (!times?.includes(time)) return;
    const rest = times.filter((t) => t !== time);
    state.update(rest.length > 0 ? rest : undefined);
  }

  private fire(domain: TimeDomain, upTo: number): void {
    const heap = this.heaps[domain];
    if (heap.size === 0) return;
    const state = this.state(domain);
    for (let t = heap.peek(); t && t.time <= upTo; t = heap.peek()) {
      heap.pop();
      this.keyed.setCurrentKey(t.key);
      const times = state.value();
      if (!times?.includes(t.time)) continue; // deleted, or already fired
      const rest = times.filter((x) => x !== t.time);
      state.update(rest.length > 0 ? rest : undefined);
      this.onTimer(t.time, domain);
    }
  }

  private reschedule(): void {
    const next = this.heaps.PROCESSING_TIME.peek();
    if (!next || next.time >= this.scheduledAt) return;
    this.scheduledAt = next.time;
    this.time.schedule(next.time, () => {
      this.scheduledAt = Infinity;
      this.fire('PROCESSING_TIME', this.time.now());
      this.reschedule();
    });
  }
}

/** An operator's timer service with the timers of its restored snapshot (they are keyed state, per domain). */
export function restoredTimerService(
  ctx: Pick<OperatorContext, 'keyed' | 'processingTimeService' | 'forEachRestoredKeyedEntry' | 'timerServiceFactory'>,
  onTimer: (time: number, domain: TimeDomain) => void,
): InternalTimerService {
  // The Flink runner's worker: timers live in Flink; what operators call is the same (InternalTimerServiceLike).
  if (ctx.timerServiceFactory) return ctx.timerServiceFactory(onTimer) as unknown as InternalTimerService;
  const timers = new InternalTimerService(ctx.keyed!, ctx.processingTimeService, onTimer);
  for (const domain of ['PROCESSING_TIME', 'EVENT_TIME'] as const) {
    ctx.forEachRestoredKeyedEntry(TIMER_STATE[domain], (key, times) => timers.restore(domain, key, times as number[]));
  }
  return timers;
}
