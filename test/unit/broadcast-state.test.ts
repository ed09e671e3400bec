import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BroadcastProcessFunction } from '../../src/api/broadcast.js';
import type { Collector } from '../../src/api/functions.js';
import { MapStateDescriptor } from '../../src/api/state.js';
import { CoBroadcastOperator } from '../../src/operators/BroadcastOperators.js';
import type { OperatorContext } from '../../src/operators/StreamOperator.js';
import { OperatorStateBackend } from '../../src/state/OperatorStateBackend.js';
import type { OperatorStateSnapshot } from '../../src/state/StateFile.js';

const RULES = new MapStateDescriptor<string, number>('rules');

class Fn extends BroadcastProcessFunction<string, [string, number], string> {
  processElement(key: string, ctx: BroadcastProcessFunction.ReadOnlyContext, out: Collector<string>): void {
    out.collect(`${key}=${ctx.getBroadcastState(RULES).get(key)}`);
  }
  processBroadcastElement([k, v]: [string, number], ctx: BroadcastProcessFunction.Context): void {
    if (v < 0) ctx.getBroadcastState(RULES).remove(k);
    else ctx.getBroadcastState(RULES).put(k, v);
  }
}

function operator(subtask: number, parallelism: number, restoredFrom?: OperatorStateSnapshot[]) {
  const state = new OperatorStateBackend();
  if (restoredFrom) state.restore(restoredFrom, subtask, parallelism);
  const out: string[] = [];
  const op = new CoBroadcastOperator(new Fn(), [RULES]);
  op.setup({
    operatorState: state, output: { collect: (v: unknown) => out.push(String(v)) }, subtask, parallelism, restored: !!restoredFrom,
    runtimeContext: {} as never, processingTimeService: { now: Date.now, schedule: () => {} }, forEachRestoredKeyedEntry: () => {},
  } as unknown as OperatorContext);
  op.initializeState();
  op.open();
  return { op, state, out };
}

describe('broadcast state', () => {
  test('the broadcast side writes, the other side reads, and writing from the read side is refused', () => {
    const { op, out } = operator(0, 1);
    op.processElement2(['a', 1]);
    op.processElement2(['b', 2]);
    op.processElement2(['b', -1]);
    op.processElement('a');
    op.processElement('b');
    assert.deepEqual(out, ['a=1', 'b=undefined']);
    const ro = new (class extends Fn {
      override processElement(_k: string, ctx: BroadcastProcessFunction.ReadOnlyContext): void {
        (ctx.getBroadcastState(RULES) as unknown as { put(k: string, v: number): void }).put('x', 1);
      }
    })();
    const o = new CoBroadcastOperator(ro, [RULES]);
    o.setup({ operatorState: new OperatorStateBackend(), output: { collect() {} }, runtimeContext: {} } as unknown as OperatorContext);
    o.initializeState();
    o.open();
    assert.throws(() => o.processElement('x'), /read-only/);
  });

  test('snapshots restore to every subtask, at any parallelism, with every entry', () => {
    const old = [operator(0, 2), operator(1, 2)];
    for (const { op } of old) for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) op.processElement2([k, v]);
    const parts = old.map(({ op, state }) => {
      op.snapshotState(1);
      return state.snapshot();
    });
    assert.equal(parts[0].rules.mode, 'BROADCAST');
    for (const p of [1, 2, 3]) {
      for (let s = 0; s < p; s++) {
        const { op, out } = operator(s, p, parts);
        for (const k of ['a', 'b', 'c']) op.processElement(k);
        assert.deepEqual(out, ['a=1', 'b=2', 'c=3'], `subtask ${s} of ${p}`);
      }
    }
  });

  test('other operator state beside broadcast state is still split evenly', () => {
    const parts: OperatorStateSnapshot[] = [
      { rules: { mode: 'BROADCAST', entries: [['a', 1]] }, buf: { mode: 'SPLIT_DISTRIBUTE', entries: [1, 2] } },
      { rules: { mode: 'BROADCAST', entries: [['a', 1]] }, buf: { mode: 'SPLIT_DISTRIBUTE', entries: [3] } },
    ];
    const got = [0, 1, 2].map((s) => {
      const b = new OperatorStateBackend();
      b.restore(parts, s, 3);
      return { buf: b.getListState<number>('buf').get(), rules: b.getBroadcastList('rules').get() };
    });
    assert.deepEqual(got.flatMap((g) => g.buf).sort(), [1, 2, 3]);
    for (const g of got) assert.deepEqual(g.rules, [['a', 1]]);
  });
});
