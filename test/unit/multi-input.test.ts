/**
 * More than one input: how union and connect build the graphs (several upstream vertices, different
 * partitioners and parallelisms, per-input key selectors), and the interval join operator driven
 * directly, like Flink's KeyedTwoInputStreamOperatorTestHarness, through snapshot and rescaled restore.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamExecutionEnvironment } from '../../src/api/StreamExecutionEnvironment.js';
import { CoProcessFunction, KeyedCoProcessFunction, ProcessJoinFunction } from '../../src/api/co.js';
import type { Collector } from '../../src/api/functions.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';
import { buildJobGraph, type JobGraph } from '../../src/graph/JobGraph.js';
import { IntervalJoinOperator, type IntervalJoinBounds } from '../../src/operators/CoProcessOperators.js';
import { InternalTimerService, TIMER_STATE } from '../../src/operators/InternalTimerService.js';
import type { OperatorContext } from '../../src/operators/StreamOperator.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex, computeOperatorIndexForKeyGroup } from '../../src/state/KeyGroupRangeAssignment.js';
import { OperatorStateBackend } from '../../src/state/OperatorStateBackend.js';
import { readKeyGroups, StateFileWriter } from '../../src/state/StateFile.js';

const newEnv = () => StreamExecutionEnvironment.getExecutionEnvironment();
const build = (env: StreamExecutionEnvironment, parallelism = 2): JobGraph => buildJobGraph(env.getStreamGraph(), { parallelism, maxParallelism: 128 });
const vertexNamed = (jg: JobGraph, prefix: string) => jg.vertices.find((v) => v.name.startsWith(prefix))!;

describe('union: graph', () => {
  test('a union vertex is fed by several upstream vertices, each with its own partitioner and parallelism', () => {
    const env = newEnv();
    const a = env.fromSequence(0, 9).setParallelism(1);
    const b = env.fromSequence(0, 9).setParallelism(2);
    const c = env.fromSequence(0, 9).setParallelism(3);
    a.union(b, c.keyBy((i: number) => i % 3)).map((i: number) => i).print();
    const jg = build(env, 2);
    const u = vertexNamed(jg, 'Union');
    assert.equal(u.name, 'Union -> Map -> Print to Std. Out', 'the union chains with what follows it');
    assert.equal(u.parallelism, 2);
    assert.deepEqual(
      u.inputs.map((e) => [jg.vertices[e.source].parallelism, e.partitioner, e.typeNumber]),
      [[1, 'rebalance', 1], [2, 'forward', 1], [3, 'hash', 1]],
    );
    const sg = env.getStreamGraph();
    const hash = u.inputs[2];
    assert.equal(sg.edges[hash.keyEdge!].keySelector!(7), 1, 'the keyed input is partitioned by its own key selector');
    assert.equal(sg.node(u.operators[0].nodeId).keySelector, undefined, 'the union itself is not keyed');
  });

  test('a stream unioned with itself feeds the union twice; streams of other environments are refused', () => {
    const env = newEnv();
    const a = env.fromSequence(0, 9);
    a.union(a).print();
    const jg = build(env, 1);
    assert.equal(vertexNamed(jg, 'Union').inputs.length, 2);
    assert.throws(() => newEnv().fromSequence(0, 1).union(a), /different StreamExecutionEnvironments/);
  });
});

describe('connect: graph', () => {
  class KeyedFn extends KeyedCoProcessFunction<number, number, string, string> {
    processElement1(): void {}
    processElement2(): void {}
  }
  class Fn extends CoProcessFunction<number, string, string> {
    processElement1(): void {}
    processElement2(): void {}
  }

  test('two keyed streams: input 1 and 2 edges, each hashed by its own selector, the operator keyed by both', () => {
    const env = newEnv();
    const nums = env.fromSequence(0, 9).setParallelism(1);
    const words = env.fromElements('a', 'bb', 'ccc');
    nums.keyBy((i: number) => i % 4).connect(words.keyBy((w: string) => w.length)).process(new KeyedFn()).setParallelism(3).print();
    const jg = build(env, 2);
    const v = vertexNamed(jg, 'KeyedCoProcess');
    assert.equal(v.parallelism, 3);
    assert.deepEqual(v.inputs.map((e) => [e.partitioner, e.typeNumber]), [['hash', 1], ['hash', 2]]);
    const sg = env.getStreamGraph();
    const node = sg.node(v.operators[0].nodeId);
    assert.equal(node.keySelector!(6), 2);
    assert.equal(node.keySelector2!('ccc'), 3);
    assert.equal(sg.edges[v.inputs[0].keyEdge!].keySelector, node.keySelector);
    assert.equal(sg.edges[v.inputs[1].keyEdge!].keySelector, node.keySelector2);
  });

  test('connect(...).keyBy(k1, k2) keys both inputs; map and flatMap on plain streams are not keyed', () => {
    const env = newEnv();
    const a = env.fromSequence(0, 9);
    const b = env.fromSequence(0, 9).setParallelism(1);
    const keyed = a.connect(b).keyBy((i: number) => i % 2, (i: number) => i % 3);
    assert.equal(keyed.isKeyed, true);
    keyed.map({ map1: (i: number) => i, map2: (i: number) => -i }).print();
    a.connect(b).flatMap({ flatMap1: () => {}, flatMap2: () => {} }).print();
    const jg = build(env, 2);
    const sg = env.getStreamGraph();
    const coMaps = jg.vertices.filter((v) => v.operators[0].kind === 'coMap');
    assert.equal(coMaps.length, 1);
    assert.equal(sg.node(coMaps[0].operators[0].nodeId).keySelector2!(5), 2);
    const flat = jg.vertices.find((v) => v.operators[0].kind === 'coFlatMap')!;
    assert.deepEqual(flat.inputs.map((e) => [e.partitioner, e.typeNumber]), [['forward', 1], ['rebalance', 2]]);
    assert.equal(sg.node(flat.operators[0].nodeId).keySelector, undefined);
  });

  test('a KeyedCoProcessFunction needs two keyed streams; a CoProcessFunction works on both', () => {
    const env = newEnv();
    const a = env.fromSequence(0, 9);
    const b = env.fromSequence(0, 9);
    assert.throws(() => a.connect(b).process(new KeyedFn() as never), /both input streams are of type KeyedStream/);
    assert.throws(() => a.keyBy((i: number) => i).connect(b).process(new KeyedFn() as never), /both input streams/);
    a.connect(b).process(new Fn() as never).print();
    a.keyBy((i: number) => i).connect(b.keyBy((i: number) => i)).process(new Fn() as never).print();
    assert.deepEqual(build(env).vertices.map((v) => v.operators[0].kind).filter((k) => k.includes('oProcess')), ['coProcess', 'keyedCoProcess']);
  });

  test('intervalJoin checks its bounds', () => {
    const env = newEnv();
    const a = env.fromSequence(0, 9).keyBy((i: number) => i);
    const b = env.fromSequence(0, 9).keyBy((i: number) => i);
    assert.throws(() => a.intervalJoin(b).between(5, 2), /lowerBound <= upperBound/);
    a.intervalJoin(b).between(-2, 2).upperBoundExclusive().process(new (class extends ProcessJoinFunction<number, number, string> {
      processElement(): void {}
    })()).print();
    const v = build(env).vertices.find((x) => x.operators[0].kind === 'intervalJoin')!;
    assert.deepEqual(v.inputs.map((e) => [e.partitioner, e.typeNumber]), [['hash', 1], ['hash', 2]]);
  });
});

// ---------------------------------------------------------------- interval join operator

const tmp = mkdtempSync(join(tmpdir(), 'flink-ts-join-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

type Rec = [key: string, ts: number, tag: string];
const MAX_PAR = 16;

class Pairs extends ProcessJoinFunction<Rec, Rec, string> {
  processElement(l: Rec, r: Rec, ctx: ProcessJoinFunction.Context, out: Collector<string>): void {
    out.collect(`${l[2]}+${r[2]}@${ctx.getTimestamp()}`);
  }
}

interface Written {
  bytes: Buffer;
  handle: StateFileHandle;
}

/** One subtask of an interval join: sets key and timestamp per record the way the task does. */
class JoinHarness {
  readonly out: string[] = [];
  readonly keyed: HeapKeyedStateBackend;
  private readonly op: IntervalJoinOperator;
  private readonly element: { timestamp: number | undefined } = { timestamp: undefined };

  constructor(bounds: IntervalJoinBounds, subtask = 0, parallelism = 1, restored: Written[] = []) {
    const range = computeKeyGroupRangeForOperatorIndex(MAX_PAR, parallelism, subtask);
    this.keyed = new HeapKeyedStateBackend(range, MAX_PAR);
    if (restored.length) this.keyed.restore(restored);
    this.op = new IntervalJoinOperator(new Pairs(), bounds);
    this.op.setup({
      subtask, parallelism, maxParallelism: MAX_PAR, restored: restored.length > 0, keyed: this.keyed, operatorState: new OperatorStateBackend(),
      output: { collect: (v: unknown) => this.out.push(String(v)), emitWatermark: () => {}, emitWatermarkStatus: () => {}, collectSide: () => {} },
      runtimeContext: {} as never,
      processingTimeService: { now: Date.now, schedule: () => {} },
      element: this.element,
      forEachRestoredKeyedEntry: (name: string, visit: (k: unknown, v: unknown) => void) => {
        for (const f of restored) readKeyGroups(f.bytes, f.handle, range, (s, _kg, flat) => {
          if (s === name) for (let j = 0; j < flat.length; j += 2) visit(flat[j], flat[j + 1]);
        });
      },
    } as unknown as OperatorContext);
    this.op.initializeState();
    this.op.open();
  }

  left(r: Rec): void {
    this.keyed.setCurrentKey(r[0]);
    this.element.timestamp = r[1];
    this.op.processElement(r);
  }

  right(r: Rec): void {
    this.keyed.setCurrentKey(r[0]);
    this.element.timestamp = r[1];
    this.op.processElement2(r);
  }

  end(): void {
    this.op.endInput();
  }

  /** A watermark reaching the operator: fires the cleanup timers up to `w`. */
  watermark(w: number): void {
    this.op.processWatermark(w);
  }

  async snapshot(): Promise<Written> {
    const w = new StateFileWriter();
    const kinds = this.keyed.stateKinds;
    await this.keyed.snapshot()(w);
    const file = join(tmp, `join-${++fileNo}`);
    const { size, crc32 } = await w.finish(file);
    const handle: StateFileHandle = {
      file, size, crc32, keyGroupRange: this.keyed.keyGroupRange.toJSON(), keyGroupOffsets: w.keyGroupOffsets,
      keyedStates: kinds, operatorStates: {}, keyedEntries: w.keyedEntries,
    };
    return { bytes: readFileSync(file), handle };
  }
}

const inclusive = (lower: number, upper: number): IntervalJoinBounds => ({ lower, upper, lowerInclusive: true, upperInclusive: true });

/** Every left/right pair of one key with lt + lower <= rt <= lt + upper: the join by its definition. */
function expectedPairs(lefts: Rec[], rights: Rec[], b: IntervalJoinBounds): string[] {
  const lo = b.lowerInclusive ? b.lower : b.lower + 1;
  const hi = b.upperInclusive ? b.upper : b.upper - 1;
  const out: string[] = [];
  for (const l of lefts) for (const r of rights) if (l[0] === r[0] && r[1] >= l[1] + lo && r[1] <= l[1] + hi) out.push(`${l[2]}+${r[2]}@${Math.max(l[1], r[1])}`);
  return out.sort();
}

/** A deterministic mix of left and right records over a few keys, timestamps out of order. */
function records(n: number): { side: 'L' | 'R'; rec: Rec }[] {
  const out: { side: 'L' | 'R'; rec: Rec }[] = [];
  for (let i = 0; i < n; i++) {
    const side = (i * 7) % 3 === 0 ? 'R' : 'L';
    out.push({ side, rec: [`k${i % 5}`, (i * 37) % 50, `${side}${i}`] });
  }
  return out;
}

describe('IntervalJoinOperator', () => {
  for (const bounds of [inclusive(-2, 3), inclusive(0, 0), inclusive(1, 5), inclusive(-6, -1), { lower: -2, upper: 3, lowerInclusive: false, upperInclusive: false }]) {
    test(`joins exactly the pairs in the interval ${JSON.stringify(bounds)}, and cleans up its buffers at the final watermark`, () => {
      const input = records(120);
      const h = new JoinHarness(bounds);
      for (const { side, rec } of input) (side === 'L' ? h.left(rec) : h.right(rec));
      h.end();
      const lefts = input.filter((x) => x.side === 'L').map((x) => x.rec);
      const rights = input.filter((x) => x.side === 'R').map((x) => x.rec);
      const want = expectedPairs(lefts, rights, bounds);
      assert.ok(want.length > 0);
      assert.deepEqual([...h.out].sort(), want);
      assert.equal(h.keyed.numEntries(), 0, 'buffers and timers are empty once every timer fired');
    });
  }

  test('with advancing watermarks, buffers are cleaned up as soon as nothing can join them, and no pair is lost', () => {
    const bounds = inclusive(-4, 2);
    const input = records(300).sort((x, y) => x.rec[1] - y.rec[1]); // in timestamp order: nothing is late
    const h = new JoinHarness(bounds);
    let maxBuffered = 0;
    for (const { side, rec } of input) {
      h.watermark(rec[1] - 1);
      (side === 'L' ? h.left(rec) : h.right(rec));
      maxBuffered = Math.max(maxBuffered, h.keyed.numEntries());
    }
    const lefts = input.filter((x) => x.side === 'L').map((x) => x.rec);
    const rights = input.filter((x) => x.side === 'R').map((x) => x.rec);
    assert.deepEqual([...h.out].sort(), expectedPairs(lefts, rights, bounds));
    // 5 keys x (the 6 ms a record may wait for a partner + 1) x (left + right buckets + timer entries) at most.
    assert.ok(maxBuffered <= 5 * 7 * 3, `at most a window's worth of buckets is buffered, saw ${maxBuffered}`);
    h.watermark(Number.MAX_SAFE_INTEGER);
    assert.equal(h.keyed.numEntries(), 0);
  });

  test('a record behind the watermark is dropped, as in Flink', () => {
    const h = new JoinHarness(inclusive(-10, 10));
    h.left(['k', 100, 'L1']);
    h.watermark(100);
    h.right(['k', 99, 'R-late']);
    h.right(['k', 100, 'R1']);
    h.end();
    assert.deepEqual(h.out, ['L1+R1@100']);
  });

  test('records without an event timestamp are refused with a clear error', () => {
    const h = new JoinHarness(inclusive(0, 1));
    assert.throws(() => h.left(['k', undefined as unknown as number, 'x']), /need event timestamps/);
  });

  test('buffers and cleanup timers are keyed state: snapshot, restore at another parallelism, same result', async () => {
    const bounds = inclusive(-3, 4);
    const input = records(200);
    const whole = new JoinHarness(bounds);
    for (const { side, rec } of input) (side === 'L' ? whole.left(rec) : whole.right(rec));
    whole.end();

    // First 120 records on 2 subtasks (keys routed by key group), snapshot, then the rest on 3 subtasks.
    const route = (p: number, hs: JoinHarness[], key: string) => hs[computeOperatorIndexForKeyGroup(MAX_PAR, p, assignToKeyGroup(key, MAX_PAR))];
    const before = [new JoinHarness(bounds, 0, 2), new JoinHarness(bounds, 1, 2)];
    for (const { side, rec } of input.slice(0, 120)) {
      const h = route(2, before, rec[0]);
      (side === 'L' ? h.left(rec) : h.right(rec));
    }
    const files = await Promise.all(before.map((h) => h.snapshot()));
    assert.ok(files.some((f) => IntervalJoinOperator.LEFT_BUFFER in f.handle.keyedStates), 'the left buffer is in the snapshot');
    assert.ok(files.some((f) => IntervalJoinOperator.RIGHT_BUFFER in f.handle.keyedStates), 'the right buffer is in the snapshot');
    assert.ok(files.some((f) => '_timer_service/event' in f.handle.keyedStates), 'cleanup timers are in the snapshot');
    const after3 = [0, 1, 2].map((s) => new JoinHarness(bounds, s, 3, files));
    for (const { side, rec } of input.slice(120)) {
      const h = route(3, after3, rec[0]);
      (side === 'L' ? h.left(rec) : h.right(rec));
    }
    for (const h of after3) h.end();
    const got = [...before.flatMap((h) => h.out), ...after3.flatMap((h) => h.out)].sort();
    assert.deepEqual(got, [...whole.out].sort());
    for (const h of after3) assert.equal(h.keyed.numEntries(), 0, 'restored timers fired and cleaned up the restored buffers');
  });
});


describe('InternalTimerService after a restore', () => {
  test('a restored timer deleted before any timer is registered does not fire', async () => {
    const range = computeKeyGroupRangeForOperatorIndex(MAX_PAR, 1, 0);
    const time = { now: Date.now, schedule: () => {} };
    const before = new HeapKeyedStateBackend(range, MAX_PAR);
    const t0 = new InternalTimerService(before, time, () => {});
    for (const k of ['a', 'b']) {
      before.setCurrentKey(k);
      t0.registerEventTimeTimer(10);
    }
    const w = new StateFileWriter();
    await before.snapshot()(w);
    const file = join(tmp, `timers-${++fileNo}`);
    const { size, crc32 } = await w.finish(file);
    const handle: StateFileHandle = {
      file, size, crc32, keyGroupRange: range.toJSON(), keyGroupOffsets: w.keyGroupOffsets, keyedStates: before.stateKinds, operatorStates: {}, keyedEntries: w.keyedEntries,
    };
    const bytes = readFileSync(file);
    const after = new HeapKeyedStateBackend(range, MAX_PAR);
    after.restore([{ bytes, handle }]);
    const fired: unknown[] = [];
    const t1 = new InternalTimerService(after, time, () => fired.push(after.getCurrentKey()));
    readKeyGroups(bytes, handle, range, (name, _kg, flat) => {
      if (name === TIMER_STATE.EVENT_TIME) for (let j = 0; j < flat.length; j += 2) t1.restore('EVENT_TIME', flat[j], flat[j + 1] as number[]);
    });
    after.setCurrentKey('a');
    t1.deleteEventTimeTimer(10);
    t1.advanceWatermark(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(fired, ['b']);
  });
});
