/**
 * Event time: the watermark valve (min over channels, idleness), the watermark generators and strategy,
 * the window assigners and session merging (with property tests), the window operator (late firing,
 * cleanup, late side output, restore of its state and timers), and watermark generation state.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BoundedOutOfOrdernessWatermarks, MAX_WATERMARK, MIN_WATERMARK, Watermark, WatermarkStrategy, WatermarksWithIdleness,
  type WatermarkOutput,
} from '../../src/api/eventtime.js';
import {
  EventTimeSessionWindows, mergeWindow, SlidingEventTimeWindows, TimeWindow, TumblingEventTimeWindows, TumblingProcessingTimeWindows,
  type WindowAssigner, Time, ProcessingTimeSessionWindows, SlidingProcessingTimeWindows,
} from '../../src/api/windows.js';
import { WindowedStream } from '../../src/api/windowing.js';
import { StatusWatermarkValve } from '../../src/runtime/StatusWatermarkValve.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { OperatorStateBackend } from '../../src/state/OperatorStateBackend.js';
import { StateFileWriter } from '../../src/state/StateFile.js';
import type { OperatorContext, StreamOperator } from '../../src/operators/StreamOperator.js';
import { WatermarkGeneration } from '../../src/operators/TimestampsAndWatermarksOperator.js';
import { TIMER_STATE } from '../../src/operators/InternalTimerService.js';
import { OutputTag } from '../../src/api/OutputTag.js';
import type { SingleOutputStreamOperator } from '../../src/api/DataStream.js';
import { readKeyGroups } from '../../src/state/StateFile.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function valve(n: number) {
  const out: (number | string)[] = [];
  const v = new StatusWatermarkValve(n, { emitWatermark: (w) => out.push(w), emitWatermarkStatus: (idle) => out.push(idle ? 'IDLE' : 'ACTIVE') });
  return { v, out };
}

describe('StatusWatermarkValve', () => {
  test('the output is the minimum over the channels and only advances', () => {
    const { v, out } = valve(3);
    v.inputWatermark(10, 0);
    v.inputWatermark(20, 1);
    assert.deepEqual(out, [], 'channel 2 has no watermark yet');
    v.inputWatermark(5, 2);
    assert.deepEqual(out, [5]);
    v.inputWatermark(30, 2);
    assert.deepEqual(out, [5, 10]);
    v.inputWatermark(8, 0); // lower than before on that channel: ignored
    v.inputWatermark(25, 0);
    assert.deepEqual(out, [5, 10, 20]);
  });

  test('idle channels are excluded; all idle releases the highest watermark and goes idle; a returning channel counts once caught up', () => {
    const { v, out } = valve(2);
    v.inputWatermark(10, 0);
    v.inputWatermarkStatus(true, 1); // channel 1 idle: channel 0 alone decides
    assert.deepEqual(out, [10]);
    v.inputWatermark(15, 0);
    assert.deepEqual(out, [10, 15]);
    v.inputWatermarkStatus(false, 1); // active again, but at MIN: not aligned, does not pull the output back
    v.inputWatermark(20, 0);
    assert.deepEqual(out, [10, 15, 20]);
    v.inputWatermark(18, 1); // still behind the output: not aligned, so channel 0 alone moves it on
    v.inputWatermark(30, 0);
    assert.deepEqual(out, [10, 15, 20, 30]);
    v.inputWatermark(25, 1); // still behind
    v.inputWatermark(35, 1); // caught up: aligned again, and from now on part of the minimum
    v.inputWatermark(40, 0);
    assert.deepEqual(out, [10, 15, 20, 30, 35]);
    v.inputWatermarkStatus(true, 0);
    v.inputWatermarkStatus(true, 1);
    assert.deepEqual(out, [10, 15, 20, 30, 35, 40, 'IDLE']);
    v.inputWatermarkStatus(false, 0);
    assert.deepEqual(out.at(-1), 'ACTIVE');
  });

  test('a finished channel never holds the watermark back', () => {
    const { v, out } = valve(2);
    v.inputWatermark(7, 0);
    v.channelFinished(1);
    assert.deepEqual(out, [7]);
    v.channelFinished(0);
    assert.deepEqual(out, [7, MAX_WATERMARK]);
  });

  test('property: with all channels active, the output is the running minimum of the per-channel maxima', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.tuple(fc.nat(3), fc.integer({ min: -1000, max: 1000 })), { maxLength: 60 }), (n, events) => {
      const { v, out } = valve(n);
      const max = Array<number>(n).fill(MIN_WATERMARK);
      let last = MIN_WATERMARK;
      for (const [c0, w] of events) {
        const c = c0 % n;
        v.inputWatermark(w, c);
        max[c] = Math.max(max[c], w);
        const min = Math.min(...max);
        if (min > last) {
          assert.equal(out.at(-1), min);
          last = min;
        }
      }
      for (let i = 1; i < out.length; i++) assert.ok((out[i] as number) > (out[i - 1] as number));
    }));
  });
});

function recorder(): WatermarkOutput & { marks: (number | string)[] } {
  const marks: (number | string)[] = [];
  return { marks, emitWatermark: (w) => marks.push(w.getTimestamp()), markIdle: () => marks.push('IDLE'), markActive: () => marks.push('ACTIVE') };
}

describe('watermark generators', () => {
  test('bounded out-of-orderness: max timestamp seen - bound - 1, at each periodic emit; state round-trips', () => {
    const g = new BoundedOutOfOrdernessWatermarks<string>(100);
    const o = recorder();
    g.onEvent('a', 1000, o);
    g.onEvent('b', 900, o);
    g.onPeriodicEmit(o);
    g.onEvent('c', 1500, o);
    g.onPeriodicEmit(o);
    assert.deepEqual(o.marks, [899, 1399]);
    const g2 = new BoundedOutOfOrdernessWatermarks<string>(100);
    g2.restoreState(g.snapshotState());
    g2.onPeriodicEmit(o);
    assert.equal(o.marks.at(-1), 1399);
  });

  test('forMonotonousTimestamps and withTimestampAssigner; noWatermarks emits nothing', () => {
    const s = WatermarkStrategy.forMonotonousTimestamps<{ t: number }>().withTimestampAssigner((e) => e.t);
    const g = s.createWatermarkGenerator();
    const o = recorder();
    g.onEvent({ t: 5 }, s.createTimestampAssigner()!({ t: 5 }, MIN_WATERMARK), o);
    g.onPeriodicEmit(o);
    assert.deepEqual(o.marks, [4]);
    const none = WatermarkStrategy.noWatermarks<number>();
    assert.equal(none.emitsWatermarks, false);
    none.createWatermarkGenerator().onPeriodicEmit(o);
    assert.deepEqual(o.marks, [4]);
    assert.throws(() => WatermarkStrategy.forBoundedOutOfOrderness(-1), RangeError);
  });

  test('withIdleness: idle after the timeout without events, active again with the next event', () => {
    let now = 0;
    const g = new WatermarksWithIdleness<number>(new BoundedOutOfOrdernessWatermarks<number>(0), 1000, () => now);
    const o = recorder();
    g.onEvent(1, 10, o);
    g.onPeriodicEmit(o);
    now = 1500;
    g.onPeriodicEmit(o);
    g.onPeriodicEmit(o); // idle once
    now = 1600;
    g.onEvent(2, 20, o);
    g.onPeriodicEmit(o);
    assert.deepEqual(o.marks, [9, 'IDLE', 'ACTIVE', 19]);
  });

  test('forGenerator accepts a supplier and a custom generator object', () => {
    const s = WatermarkStrategy.forGenerator<number>(() => ({
      onEvent: (_e, ts, out) => out.emitWatermark(new Watermark(ts)),
      onPeriodicEmit: () => {},
    }));
    const o = recorder();
    s.createWatermarkGenerator().onEvent(1, 42, o);
    assert.deepEqual(o.marks, [42]);
  });
});

describe('window assigners', () => {
  const ctx = (now: number) => ({ getCurrentProcessingTime: () => now });
  test('tumbling: the window containing the timestamp, with offsets and negative timestamps', () => {
    const a = TumblingEventTimeWindows.of(Time.seconds(1));
    assert.deepEqual(a.assignWindows(null, 1500, ctx(0)), [new TimeWindow(1000, 2000)]);
    assert.deepEqual(a.assignWindows(null, 1000, ctx(0)), [new TimeWindow(1000, 2000)]);
    assert.deepEqual(a.assignWindows(null, -1, ctx(0)), [new TimeWindow(-1000, 0)]);
    assert.deepEqual(TumblingEventTimeWindows.of(1000, 100).assignWindows(null, 50, ctx(0)), [new TimeWindow(-900, 100)]);
    assert.deepEqual(TumblingProcessingTimeWindows.of(1000).assignWindows(null, 0, ctx(2500)), [new TimeWindow(2000, 3000)]);
    assert.equal(new TimeWindow(1000, 2000).maxTimestamp(), 1999);
    assert.throws(() => TumblingEventTimeWindows.of(0), RangeError);
  });

  test('property: every window of every assigner contains its timestamp; sliding gives size/slide windows', () => {
    fc.assert(fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 10 }), (ts, slide, k) => {
      const size = slide * k;
      const sliding = SlidingEventTimeWindows.of(size, slide).assignWindows(null, ts, ctx(0));
      assert.equal(sliding.length, k);
      for (const w of sliding) assert.ok(w.start <= ts && ts < w.end && w.end - w.start === size && ((w.start % slide) + slide) % slide === 0);
      const [t] = TumblingEventTimeWindows.of(size).assignWindows(null, ts, ctx(0));
      assert.ok(t.start <= ts && ts < t.end && ((t.start % size) + size) % size === 0);
      const [s] = EventTimeSessionWindows.withGap(size).assignWindows(null, ts, ctx(0));
      assert.deepEqual(s, new TimeWindow(ts, ts + size));
    }));
    assert.equal(SlidingProcessingTimeWindows.of(1000, 500).assignWindows(null, 0, ctx(1200)).length, 2);
    assert.deepEqual(ProcessingTimeSessionWindows.withGap(10).assignWindows(null, 0, ctx(7)), [new TimeWindow(7, 17)]);
    assert.equal(EventTimeSessionWindows.withGap(10).isMerging(), true);
  });

  test('property: merging session windows one by one gives the connected components of their union', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 40 })), { minLength: 1, maxLength: 40 }), (specs) => {
      let set: TimeWindow[] = [];
      for (const [start, len] of specs) {
        const { merged, absorbed } = mergeWindow(set, new TimeWindow(start, start + len));
        set = set.filter((w) => !absorbed.includes(w)).concat(merged);
        // Invariant: the windows of the set never intersect each other.
        for (const a of set) for (const b of set) if (a !== b) assert.ok(!a.intersects(b), `${a} and ${b} intersect`);
      }
      // Every input window lies in exactly one window of the set, and every set window is covered by inputs.
      for (const [start, len] of specs) assert.equal(set.filter((w) => w.start <= start && start + len <= w.end).length, 1);
      for (const w of set) {
        const inside = specs.filter(([s, l]) => w.start <= s && s + l <= w.end);
        assert.equal(Math.min(...inside.map(([s]) => s)), w.start);
        assert.equal(Math.max(...inside.map(([s, l]) => s + l)), w.end);
      }
    }));
  });
});

/** A snapshot of a keyed backend, written to a real state file and read back. */
interface KeyedSnapshot {
  bytes: Buffer;
  handle: StateFileHandle;
}

async function snapshotOf(b: HeapKeyedStateBackend): Promise<KeyedSnapshot> {
  const w = new StateFileWriter();
  await b.snapshot()(w);
  const operatorStateOffset = w.size;
  w.writeOperatorState({});
  const file = join(mkdtempSync(join(tmpdir(), 'flink-ts-window-')), 'state');
  const { size, crc32 } = await w.finish(file);
  const handle: StateFileHandle = {
    file: 'state', size, crc32, keyGroupRange: b.keyGroupRange.toJSON(), keyGroupOffsets: w.keyGroupOffsets, operatorStateOffset,
    keyedStates: b.stateKinds, operatorStates: {}, keyedEntries: w.keyedEntries,
  };
  const bytes = readFileSync(file);
  rmSync(dirname(file), { recursive: true });
  return { bytes, handle };
}

/** A window operator in a hand-built operator context (keyed by the element's first field), optionally restored. */
function windowHarness(build: (ws: WindowedStream<[string, number], string>) => void, restoreFrom?: KeyedSnapshot) {
  let factory: (() => StreamOperator) | undefined;
  const capture = ((_name: string, f: () => StreamOperator) => {
    factory = f;
    return {} as SingleOutputStreamOperator<unknown>;
  }) as ConstructorParameters<typeof WindowedStream>[1];
  return (assigner: WindowAssigner) => {
    build(new WindowedStream<[string, number], string>(assigner as WindowAssigner<[string, number]>, capture));
    const op = factory!();
    const range = new KeyGroupRange(0, 127);
    const keyed = new HeapKeyedStateBackend(range, 128);
    if (restoreFrom) keyed.restore([restoreFrom]);
    const element = { timestamp: undefined as number | undefined };
    const out: string[] = [];
    let now = 0;
    const scheduled: [number, () => void][] = [];
    const ctx = {
      output: {
        collect: (v: unknown) => out.push(`${JSON.stringify(v)}@${element.timestamp}`),
        emitWatermark: () => {},
        emitWatermarkStatus: () => {},
        collectSide: (tag: string, v: unknown) => out.push(`${tag}:${JSON.stringify(v)}`),
      },
      element, keyed, autoWatermarkInterval: 0, operatorState: new OperatorStateBackend(), runtimeContext: {}, restored: !!restoreFrom,
      processingTimeService: { now: () => now, schedule: (t: number, cb: () => void) => void scheduled.push([t, cb]) },
      forEachRestoredKeyedEntry: (name: string, visit: (k: unknown, v: unknown) => void) => {
        if (!restoreFrom) return;
        readKeyGroups(restoreFrom.bytes, restoreFrom.handle, range, (stateName, _kg, flat) => {
          if (stateName !== name) return;
          for (let j = 0; j < flat.length; j += 2) visit(flat[j], flat[j + 1]);
        });
      },
    } as unknown as OperatorContext;
    op.setup(ctx);
    op.initializeState();
    op.open();
    return {
      op, keyed, out,
      add(key: string, value: number, ts?: number) {
        element.timestamp = ts;
        keyed.setCurrentKey(key);
        op.processElement([key, value]);
      },
      watermark: (w: number) => op.processWatermark(w),
      /** Advances the clock and runs the processing-time callbacks that are due. */
      setNow(t: number) {
        now = t;
        for (const due of scheduled.filter(([at]) => at <= t)) {
          scheduled.splice(scheduled.indexOf(due), 1);
          due[1]();
        }
      },
    };
  };
}

describe('WindowOperator', () => {
  const late = new OutputTag<[string, number]>('late');
  const sum = (ws: WindowedStream<[string, number], string>) =>
    ws.allowedLateness(100).sideOutputLateData(late).reduce((a, b) => [a[0], a[1] + b[1]]);

  test('tumbling reduce: fires at the watermark with the window max timestamp, late firing within lateness, late side output after', () => {
    const h = windowHarness(sum)(TumblingEventTimeWindows.of(1000));
    h.add('a', 1, 100);
    h.add('a', 2, 900);
    h.add('b', 5, 1200);
    h.watermark(998);
    assert.deepEqual(h.out, []);
    h.watermark(999);
    assert.deepEqual(h.out, ['["a",3]@999']);
    h.add('a', 10, 500); // behind the watermark but within the allowed lateness: fires again at once
    assert.deepEqual(h.out.at(-1), '["a",13]@999');
    h.watermark(1099); // cleanup of [0, 1000) at 999 + 100
    h.add('a', 20, 600); // now late: side output, no firing
    assert.deepEqual(h.out.at(-1), 'late:["a",20]');
    h.watermark(MAX_WATERMARK);
    assert.deepEqual(h.out, ['["a",3]@999', '["a",13]@999', 'late:["a",20]', '["b",5]@1999']);
  });

  test('sliding aggregate with a process function sees each window', () => {
    const h = windowHarness((ws) => ws.aggregate<number, number, string>(
      { createAccumulator: () => 0, add: (v, acc) => acc + v[1], getResult: (acc) => acc, merge: (a, b) => a + b },
      (key, ctx, elements, out) => out.collect(`${key}:${ctx.window().start}-${ctx.window().end}=${elements[0]}`),
    ))(SlidingEventTimeWindows.of(200, 100));
    h.add('a', 1, 150);
    h.add('a', 2, 250);
    h.watermark(MAX_WATERMARK);
    assert.deepEqual(h.out, ['"a:0-200=1"@199', '"a:100-300=3"@299', '"a:200-400=2"@399']);
  });

  test('session windows merge, including a late element bridging two sessions', () => {
    const h = windowHarness((ws) => ws.process((key, ctx, elements, out) =>
      out.collect(`${key}:${ctx.window().start}-${ctx.window().end}:${elements.map((e) => e[1]).sort((x, y) => x - y).join(' ')}`)))(EventTimeSessionWindows.withGap(100));
    h.add('a', 1, 0);
    h.add('a', 2, 300);
    h.add('a', 3, 150); // [150,250) touches neither [0,100) nor [300,400)
    h.add('a', 4, 90); // [90,190) bridges [0,100) and [150,250): the three merge into [0,250)
    h.watermark(MAX_WATERMARK);
    assert.deepEqual(h.out, ['"a:0-250:1 3 4"@249', '"a:300-400:2"@399']);
  });

  test('processing-time windows take the clock, not the element timestamp', () => {
    const h = windowHarness((ws) => ws.reduce((a, b) => [a[0], a[1] + b[1]]))(TumblingProcessingTimeWindows.of(1000));
    h.setNow(1500);
    h.add('a', 1); // no timestamp needed
    h.add('a', 2);
    assert.deepEqual(h.out, []);
    h.setNow(1998);
    assert.deepEqual(h.out, []);
    h.setNow(2000);
    assert.deepEqual(h.out, ['["a",3]@1999']);
    assert.throws(() => windowHarness((ws) => ws.reduce((a) => a))(TumblingEventTimeWindows.of(10)).add('a', 1), /no timestamp/);
    assert.throws(() => windowHarness((ws) => ws.allowedLateness(5).reduce((a) => a))(TumblingProcessingTimeWindows.of(10)), /processing-time/);
  });

  test('window contents and timers restore from a snapshot and fire afterwards', async () => {
    const first = windowHarness(sum)(TumblingEventTimeWindows.of(1000));
    first.add('a', 1, 100);
    first.add('b', 2, 1500);
    first.watermark(500);
    const snap = await snapshotOf(first.keyed);
    assert.ok(snap.handle.keyedStates[TIMER_STATE.EVENT_TIME] && snap.handle.keyedStates['window-contents'], JSON.stringify(snap.handle.keyedStates));
    const second = windowHarness(sum, snap)(TumblingEventTimeWindows.of(1000));
    second.watermark(1999);
    assert.deepEqual(second.out, ['["a",1]@999', '["b",2]@1999']);
  });
});

describe('watermark generation in an operator', () => {
  function ctxWith(opState: OperatorStateBackend, restored: boolean) {
    const events: string[] = [];
    const element = { timestamp: undefined as number | undefined };
    const ctx = {
      output: {
        collect: (v: unknown) => events.push(`${v}@${element.timestamp}`),
        emitWatermark: (w: number) => events.push(`wm ${w}`),
        emitWatermarkStatus: (idle: boolean) => events.push(idle ? 'idle' : 'active'),
        collectSide: () => {},
      },
      element, operatorState: opState, restored, autoWatermarkInterval: 0,
      processingTimeService: { now: () => 0, schedule: () => {} },
    } as unknown as OperatorContext;
    return { ctx, events };
  }

  test('assigns timestamps, emits increasing watermarks, and a restored instance re-emits its last watermark first', () => {
    const strategy = WatermarkStrategy.forGenerator<number>(() => new class extends BoundedOutOfOrdernessWatermarks<number> {
      override onEvent(e: number, ts: number, out: WatermarkOutput): void {
        super.onEvent(e, ts, out);
        super.onPeriodicEmit(out);
      }
    }(10)).withTimestampAssigner((v) => v * 100);
    const state = new OperatorStateBackend();
    const a = ctxWith(state, false);
    const g = new WatermarkGeneration(strategy);
    g.initializeState(a.ctx);
    g.open();
    g.collect(3);
    g.collect(2);
    g.collect(5);
    g.snapshotState();
    assert.deepEqual(a.events, ['3@300', 'wm 289', '2@200', '5@500', 'wm 489']);

    const restoredState = new OperatorStateBackend();
    restoredState.restore([state.snapshot()], 0, 1);
    const b = ctxWith(restoredState, true);
    const g2 = new WatermarkGeneration(strategy);
    g2.initializeState(b.ctx);
    g2.open();
    g2.collect(4); // the generator's max (500) was restored: no lower watermark
    assert.deepEqual(b.events, ['wm 489', '4@400']);
  });
});
