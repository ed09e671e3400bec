import type { BroadcastContext, BroadcastReadOnlyContext, BroadcastState } from '../api/broadcast.js';
import type { Collector } from '../api/functions.js';
import type { ListState, MapStateDescriptor } from '../api/state.js';
import { normalizeKey, type NormalizedKey } from '../state/KeyGroupRangeAssignment.js';
import { callHook, StreamOperator } from './StreamOperator.js';
import { restoredTimerService, type InternalTimerService } from './InternalTimerService.js';
import type { TimeDomain } from '../api/TimerService.js';

interface Held {
  map: Map<NormalizedKey, [unknown, unknown]>;
  list: ListState<[unknown, unknown]>;
}

/**
 * The operator behind `connect(broadcastStream).process(...)` (Flink's CoBroadcastWithKeyedOperator and
 * CoBroadcastWithNonKeyedOperator): input 1 reads broadcast state, input 2 writes it. Broadcast state
 * lives in operator state with mode BROADCAST: every subtask snapshots its (identical) copy, and on
 * restore, at any parallelism, every subtask gets one.
 */
export class CoBroadcastOperator extends StreamOperator {
  private readonly states = new Map<string, Held>();
  private roCtx!: BroadcastReadOnlyContext & { getCurrentKey?(): unknown; timerService?(): InternalTimerService };
  private rwCtx!: BroadcastContext;
  private timers?: InternalTimerService;
  private processElement1Fn!: (v: unknown, c: unknown, out: Collector<unknown>) => void;
  private processBroadcastFn!: (v: unknown, c: unknown, out: Collector<unknown>) => void;

  constructor(private readonly fn: object, private readonly descriptors: MapStateDescriptor<unknown, unknown>[]) {
    super();
  }

  override initializeState(): void {
    callHook(this.fn, 'setRuntimeContext', this.ctx.runtimeContext);
    for (const d of this.descriptors) this.held(d.name);
  }

  private held(name: string): Held {
    let h = this.states.get(name);
    if (!h) {
      const list = this.ctx.operatorState.getBroadcastList<[unknown, unknown]>(name);
      h = { list, map: new Map(list.get().map(([k, v]) => [normalizeKey(k), [k, v]])) };
      this.states.set(name, h);
    }
    return h;
  }

  private view(name: string, writable: boolean): BroadcastState<unknown, unknown> {
    if (!this.states.has(name)) {
      throw new Error(`Broadcast state '${name}' was not declared in broadcast(...) of this connected stream`);
    }
    const { map } = this.held(name);
    const readOnly = () => {
      throw new Error(`Broadcast state '${name}' is read-only on the non-broadcast side`);
    };
    return {
      get: (k) => map.get(normalizeKey(k))?.[1],
      contains: (k) => map.has(normalizeKey(k)),
      immutableEntries: () => [...map.values()].map(([k, v]) => [k, structuredClone(v)] as [unknown, unknown]),
      entries: () => [...map.values()].map(([k, v]) => [k, v] as [unknown, unknown]),
      keys: () => [...map.values()].map(([k]) => k),
      values: () => [...map.values()].map(([, v]) => v),
      isEmpty: () => map.size === 0,
      put: writable ? (k, v) => void map.set(normalizeKey(k), [k, v]) : readOnly,
      putAll: writable ? (es) => { for (const [k, v] of es) map.set(normalizeKey(k), [k, v]); } : readOnly,
      remove: writable ? (k) => void map.delete(normalizeKey(k)) : readOnly,
      clear: writable ? () => map.clear() : readOnly,
    };
  }

  override open(): void {
    const method = (name: string) => {
      const m = (this.fn as Record<string, unknown>)[name];
      if (typeof m !== 'function') throw new TypeError(`The broadcast process function has no ${name}() method`);
      return m.bind(this.fn) as (v: unknown, c: unknown, out: Collector<unknown>) => void;
    };
    this.processElement1Fn = method('processElement');
    this.processBroadcastFn = method('processBroadcastElement');
    callHook(this.fn, 'open', {});
    const keyed = this.ctx.keyed;
    this.roCtx = { getBroadcastState: (d) => this.view(d.name, false) as never, timestamp: () => undefined };
    this.rwCtx = { getBroadcastState: (d) => this.view(d.name, true) as never, timestamp: () => undefined };
    if (keyed) {
      const onTimer = (this.fn as { onTimer?: (t: number, c: unknown, o: Collector<unknown>) => void }).onTimer?.bind(this.fn);
      const timers = restoredTimerService(this.ctx, (time, domain: TimeDomain) =>
        onTimer?.(time, { ...this.roCtx, timestamp: () => time, timeDomain: () => domain }, this.ctx.output));
      this.timers = timers;
      this.roCtx = { ...this.roCtx, getCurrentKey: () => keyed.getCurrentKey(), timerService: () => timers };
    }
  }

  processElement(v: unknown): void {
    this.processElement1Fn(v, this.roCtx, this.ctx.output);
  }

  override processElement2(v: unknown): void {
    this.processBroadcastFn(v, this.rwCtx, this.ctx.output);
  }

  override endInput(): void {
    this.timers?.advanceWatermark(Number.MAX_SAFE_INTEGER);
  }

  override processWatermark(watermark: number): void {
    this.timers?.advanceWatermark(watermark);
    super.processWatermark(watermark);
  }

  override snapshotState(checkpointId: number): void {
    for (const { map, list } of this.states.values()) list.update([...map.values()].map(([k, v]) => [k, v]));
    callHook(this.fn, 'snapshotState', { getCheckpointId: () => checkpointId });
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    callHook(this.fn, 'notifyCheckpointComplete', checkpointId);
  }

  override close(): void {
    callHook(this.fn, 'close');
  }
}
