/**
 * The Flink runner's side of a job that the CLI computes before submission: the plan (src/flink/FlinkPlan.ts: chains,
 * uids, keyBy and side outputs, settings), the refusal of what the runner cannot run, and the String keys
 * (src/flink/KeyEncoding.ts) Flink partitions and stores keyed state by.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CheckpointingMode, EmbeddedRocksDBStateBackend, KeyedProcessFunction, MapStateDescriptor, OutputTag, StreamExecutionEnvironment, TumblingEventTimeWindows,
  type Collector,
} from '../../src/index.js';
import { exportPlan } from '../../src/flink/FlinkPlan.js';
import { decodeKey, encodeKey } from '../../src/flink/KeyEncoding.js';
import { unsupportedFeatures } from '../../src/flink/Refusal.js';

describe('flink runner plan export', () => {
  it('chains forward JS nodes into one operator, starts one per uid and at each keyBy, and names the keyed outputs', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(3);
    env.enableCheckpointing(1000, CheckpointingMode.AT_LEAST_ONCE);
    env.setStateBackend(new EmbeddedRocksDBStateBackend(true));
    env.fromElements('a b', 'c').uid('src')
      .flatMap((l: string, out: Collector<string>) => l.split(' ').forEach((w) => out.collect(w))).name('split')
      .map((w: string) => [w, 1] as [string, number]).name('pair')
      .keyBy((t: [string, number]) => t[0])
      .sum(1).name('count').uid('count')
      .map((t: [string, number]) => t.join(',')).name('format')
      .map((s: string) => s).name('with-uid').uid('late-uid')
      .print();
    const plan = exportPlan(env.getStreamGraph('plan test'), ['--x', '1']);
    assert.equal(plan.version, 1);
    assert.equal(plan.jobName, 'plan test');
    assert.deepEqual(plan.programArgs, ['--x', '1']);
    assert.equal(plan.parallelism, 3);
    assert.deepEqual(plan.stateBackend, { type: 'rocksdb', incremental: true });
    assert.equal(plan.checkpointing.interval, 1000);
    assert.equal(plan.checkpointing.mode, 'AT_LEAST_ONCE');
    const names = plan.operators.map((o) => o.name);
    // fromElements runs at parallelism 1, the flatMap at the default: a rebalance, not a chain.
    assert.deepEqual(names, ['Source: Collection Source', 'split -> pair', 'count -> format', 'with-uid -> Print to Std. Out']);
    const [src, split, count, late] = plan.operators;
    assert.deepEqual(src.source && { uid: src.source.uid, type: src.source.descriptor.type }, { uid: 'src', type: 'elements' });
    assert.equal(src.parallelism, 1);
    assert.equal(src.uid, 'src-decode');
    assert.deepEqual(split.inputs, [{ from: src.id, output: 0, partitioner: 'rebalance', typeNumber: 1 }]);
    assert.equal(split.uid, `flink-ts-op-${split.nodes[0]}`);
    assert.deepEqual(split.outputs.map((o) => ({ to: o.to, keyed: o.keyed })), [{ to: count.id, keyed: true }]);
    assert.equal(count.keyed, true);
    assert.equal(count.uid, 'count');
    assert.deepEqual(count.inputs.map((i) => i.partitioner), ['hash']);
    assert.equal(late.uid, 'late-uid');
    assert.equal(late.keyed, false);
    assert.equal(late.sink, null, 'print() runs in the worker');
    assert.deepEqual(unsupportedFeatures(env.getStreamGraph()), []);
  });

  it('routes side outputs as separate plan outputs with their tag', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const odd = new OutputTag<number>('odd');
    const main = env.fromElements(1, 2, 3)
      .keyBy((n: number) => n % 2)
      .process(new (class extends KeyedProcessFunction<number, number, number> {
        processElement(v: number, ctx: KeyedProcessFunction.Context<number>, out: Collector<number>): void {
          if (v % 2) ctx.output(odd, v);
          else out.collect(v);
        }
      })()).uid('splitter');
    main.print();
    main.getSideOutput(odd).print();
    const plan = exportPlan(env.getStreamGraph());
    const splitter = plan.operators.find((o) => o.uid === 'splitter')!;
    assert.equal(splitter.outputs.length, 2);
    assert.deepEqual(splitter.outputs.map((o) => plan.edges[o.edge].outputTag), [null, 'odd']);
  });

  it('refuses interval joins and sources without a Flink connector, listing each with its operators; windows, connect and broadcast state run', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const a = env.fromElements(1, 2);
    a.keyBy((n: number) => n).window(TumblingEventTimeWindows.of(1000)).reduce((x: number, y: number) => x + y).print();
    a.connect(env.fromElements('x')).map({ map1: (n: number) => n, map2: (s: string) => s.length }).print();
    const rules = new MapStateDescriptor<string, string>('rules');
    a.connect(env.fromElements('r').broadcast(rules)).process({ processElement: () => {}, processBroadcastElement: () => {} } as never).name('matcher').print();
    a.keyBy((n: number) => n).intervalJoin(a.keyBy((n: number) => n)).between(-1, 1).process({ processElement: () => {} } as never).name('joiner').print();
    env.fromSource({ name: 'Custom', bounded: true, initialSplits: () => [], createReader: () => { throw new Error('unused'); } } as never, undefined, 'Custom').print();
    const missing = unsupportedFeatures(env.getStreamGraph());
    assert.equal(missing.length, 2, missing.join('\n'));
    assert.match(missing[0], /^interval joins: .*'joiner'/);
    assert.match(missing[1], /^sources without a Flink connector: 'Source: Custom'$/);
  });
});

describe('flink runner plan of broadcast state', () => {
  it('connect(broadcastStream) is one two-input operator: input 2 broadcast, keyed only on input 1', () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const rules = new MapStateDescriptor<string, string>('rules');
    env.fromElements(1, 2).keyBy((n: number) => n).connect(env.fromElements('r').broadcast(rules))
      .process({ processElement: () => {}, processBroadcastElement: () => {} } as never).uid('matcher').print();
    const plan = exportPlan(env.getStreamGraph());
    const op = plan.operators.find((o) => o.uid === 'matcher')!;
    assert.equal(op.broadcast, true);
    assert.equal(op.keyed, true);
    assert.deepEqual(op.inputs.map((i) => [i.typeNumber, i.partitioner]), [[1, 'hash'], [2, 'broadcast']]);
    assert.ok(plan.operators.filter((o) => o !== op).every((o) => !o.broadcast));
  });
});

describe('flink runner key encoding', () => {
  it('a string key is itself; any other key is tagged V8 bytes; every key round-trips', () => {
    assert.equal(encodeKey('word'), 'word');
    assert.equal(encodeKey(''), '');
    const keys: unknown[] = ['word', '', 42, -0, 1n, true, null, [1, 'a'], { a: 1 }, new Date(5), '\u0001tricky'];
    for (const k of keys) {
      const e = encodeKey(k);
      assert.equal(typeof e, 'string');
      if (typeof k !== 'string' || k.startsWith('\u0001')) assert.ok(e.startsWith('\u0001'), `${String(k)} is tagged`);
      assert.deepEqual(decodeKey(e), k);
    }
    // Deterministic: the same key, the same String (Flink hashes it into the same key group in every JVM).
    assert.equal(encodeKey([1, 'a']), encodeKey([1, 'a']));
    assert.notEqual(encodeKey(1), encodeKey('1'));
  });
});
