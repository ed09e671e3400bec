import { MIN_WATERMARK } from '../../api/eventtime.js';
import type { TimeDomain } from '../../api/TimerService.js';
import type { InternalTimerServiceLike } from '../../operators/StreamOperator.js';
import type { BatchKeyedState } from './BatchKeyedState.js';
import type { BinWriter } from './Frames.js';

/** Domain bytes of the frame protocol. */
export const DOMAIN = { PROCESSING_TIME: 0, EVENT_TIME: 1 } as const;

/**
 * A keyed operator's timer service in the worker: timers live in the JsOperator's Flink InternalTimerService
 * ("user-timers", keyed by the String key, VoidNamespace), so Flink checkpoints, restores and rescales them. A
 * registration or deletion during a batch goes back in the RESULT; Flink fires due timers (at a watermark, or at
 * their processing time) as TIMER events of the next batch, with their key's state prefetched.
 */
export class BridgedTimers implements InternalTimerServiceLike {
  private watermark = MIN_WATERMARK;
  private ops: Array<{ key: number; domain: number; register: boolean; time: number }> = [];

  constructor(private readonly keyed: BatchKeyedState, private readonly onTimer: (time: number, domain: TimeDomain) => void) {}

  currentProcessingTime(): number {
    return Date.now();
  }
  currentWatermark(): number {
    return this.watermark;
  }
  registerProcessingTimeTimer(time: number): void {
    this.ops.push({ key: this.keyed.currentKeyIndex, domain: DOMAIN.PROCESSING_TIME, register: true, time });
  }
  registerEventTimeTimer(time: number): void {
    this.ops.push({ key: this.keyed.currentKeyIndex, domain: DOMAIN.EVENT_TIME, register: true, time });
  }
  deleteProcessingTimeTimer(time: number): void {
    this.ops.push({ key: this.keyed.currentKeyIndex, domain: DOMAIN.PROCESSING_TIME, register: false, time });
  }
  deleteEventTimeTimer(time: number): void {
    this.ops.push({ key: this.keyed.currentKeyIndex, domain: DOMAIN.EVENT_TIME, register: false, time });
  }
  /** Flink fires the event-time timers; the operator only learns the watermark here. */
  advanceWatermark(watermark: number): void {
    if (watermark > this.watermark) this.watermark = watermark;
  }

  /** A timer Flink fired (its key is the batch's current key). */
  fire(time: number, domain: number): void {
    if (domain === DOMAIN.EVENT_TIME && time > this.watermark) this.watermark = time;
    this.onTimer(time, domain === DOMAIN.EVENT_TIME ? 'EVENT_TIME' : 'PROCESSING_TIME');
  }

  /** The batch's registrations and deletions, in the RESULT frame's format. */
  writeOps(w: BinWriter): void {
    w.int(this.ops.length);
    for (const o of this.ops) w.int(o.key).byte(o.domain).byte(o.register ? 1 : 0).long(BigInt(Math.trunc(o.time)));
    this.ops = [];
  }
}
