/**
 * Per-split watermarks (Flink's split-local watermark outputs): a SourceOperator over a source with
 * `perSplitWatermarks` runs one generator per split and emits the minimum of the active splits; idleness is
 * per split; a finished split stops holding the watermark back; each split's watermark survives a restore on
 * another subtask. And the KafkaSource's restore assignment: every partition to its getSplitOwner.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WatermarkStrategy } from '../../src/api/eventtime.js';
import type { Source, SourceReader, SourceReaderContext, SourceSplit } from '../../src/api/sources.js';
import { SourceOperator } from '../../src/operators/SourceOperator.js';
import type { OperatorContext } from '../../src/operators/StreamOperator.js';
import { OperatorStateBackend } from '../../src/state/OperatorStateBackend.js';
import { KafkaSource } from '../../src/connectors/kafka/KafkaSource.js';
import { splitOwner } from '../../src/connectors/kafka/KafkaClients.js';
import { SimpleStringSchema } from '../../src/connectors/kafka/serialization.js';
import type { KafkaSourceSplit } from '../../src/connectors/kafka/KafkaSourceSplit.js';

/** A reader whose test script decides what each poll emits: [split, value, timestamp] triples. */
class ScriptedReader implements SourceReader<string, SourceSplit> {
  next: [string, string, number][] = [];
  splits: SourceSplit[] = [];
  constructor(readonly ctx: SourceReaderContext) {}
  addSplits(splits: SourceSplit[]): void {
    this.splits.push(...splits);
    for (const s of splits) this.ctx.splitStarted?.(s.id);
  }
  finish(id: string): void {
    this.splits = this.splits.filter((s) => s.id !== id);
    this.ctx.splitFinished?.(id);
  }
  pollNext(emit: (v: string, ts?: number, split?: string) => void): number {
    for (const [split, v, ts] of this.next.splice(0)) emit(v, ts, split);
    return 0;
  }
  snapshotState(): SourceSplit[] {
    return this.splits;
  }
}

class ScriptedSource implements Source<string, SourceSplit> {
  readonly name = 'scripted';
  readonly bounded = false;
  readonly perSplitWatermarks = true;
  reader?: ScriptedReader;
  constructor(private readonly ids: string[]) {}
  initialSplits(): SourceSplit[] {
    return this.ids.map((id) => ({ id }));
  }
  assignSplits(all: SourceSplit[]): SourceSplit[] {
    return all;
  }
  createReader(ctx: SourceReaderContext): ScriptedReader {
    return (this.reader = new ScriptedReader(ctx));
  }
}

function harness(source: ScriptedSource, strategy: WatermarkStrategy<string>, state = new OperatorStateBackend(), restored = false) {
  const events: string[] = [];
  const element = { timestamp: undefined as number | undefined };
  let tick: (() => void) | undefined;
  const ctx = {
    subtask: 0, parallelism: 1,
    output: {
      collect: (v: unknown) => events.push(`${v}@${element.timestamp}`),
      emitWatermark: (w: number) => events.push(`wm ${w}`),
      emitWatermarkStatus: (idle: boolean) => events.push(idle ? 'idle' : 'active'),
      collectSide: () => {},
    },
    element, operatorState: state, restored, autoWatermarkInterval: 100,
    processingTimeService: { now: () => 0, schedule: (_t: number, cb: () => void) => { tick = cb; } },
  } as unknown as OperatorContext;
  const op = new SourceOperator<string>(source, strategy);
  op.setup(ctx);
  op.initializeState();
  op.open();
  const poll = (...records: [string, string, number][]) => {
    source.reader!.next.push(...records);
    op.pollNext(1000);
  };
  return { op, events, state, poll, tick: () => { tick!(); op.pollNext(1000); }, take: () => events.splice(0) };
}

describe('per-split watermarks', () => {
  test('the minimum over the splits; an empty split holds the watermark back', () => {
    const src = new ScriptedSource(['p0', 'p1']);
    const h = harness(src, WatermarkStrategy.forBoundedOutOfOrderness<string>(0));
    h.poll(['p0', 'a', 1000], ['p0', 'b', 2000]);
    h.tick();
    // One generator for the subtask would emit 1999 here; p1 has no events yet.
    assert.deepEqual(h.take(), ['a@1000', 'b@2000']);
    h.poll(['p1', 'c', 500]);
    h.tick();
    assert.deepEqual(h.take(), ['c@500', 'wm 499']);
    h.poll(['p1', 'd', 3000]);
    h.tick();
    assert.deepEqual(h.take(), ['d@3000', 'wm 1999'], 'p0 is now the slowest split');
  });

  test('a finished split stops holding the watermark back', () => {
    const src = new ScriptedSource(['p0', 'p1']);
    const h = harness(src, WatermarkStrategy.forBoundedOutOfOrderness<string>(0));
    h.poll(['p0', 'a', 5000], ['p1', 'b', 100]);
    h.tick();
    assert.deepEqual(h.take(), ['a@5000', 'b@100', 'wm 99']);
    src.reader!.finish('p1');
    h.op.pollNext(1000);
    assert.deepEqual(h.take(), ['wm 4999']);
  });

  test('idleness is per split: an idle partition does not hold the others back; all idle makes the subtask idle', async () => {
    const src = new ScriptedSource(['p0', 'p1']);
    const h = harness(src, WatermarkStrategy.forBoundedOutOfOrderness<string>(0).withIdleness(30));
    h.poll(['p0', 'a', 1000], ['p1', 'b', 200]);
    h.tick();
    assert.deepEqual(h.take(), ['a@1000', 'b@200', 'wm 199']);
    await new Promise((r) => setTimeout(r, 20));
    h.poll(['p0', 'c', 3000]); // p0 stays active, p1 goes quiet
    await new Promise((r) => setTimeout(r, 20));
    h.tick();
    assert.deepEqual(h.take(), ['c@3000', 'wm 2999'], 'p1 is idle: the watermark follows p0 alone');
    await new Promise((r) => setTimeout(r, 40));
    h.tick();
    assert.deepEqual(h.take(), ['idle'], 'both splits idle');
    h.poll(['p1', 'd', 4000]);
    assert.deepEqual(h.take().slice(0, 2), ['active', 'd@4000'], 'a record makes its split and the subtask active first');
  });

  test("each split's watermark and generator state are restored with the split, on any subtask", () => {
    const src = new ScriptedSource(['p0', 'p1']);
    const h = harness(src, WatermarkStrategy.forBoundedOutOfOrderness<string>(0));
    h.poll(['p0', 'a', 1000], ['p1', 'b', 2000]);
    h.tick();
    h.op.snapshotState(1);
    assert.deepEqual(h.take(), ['a@1000', 'b@2000', 'wm 999']);
    const restored = new OperatorStateBackend();
    restored.restore([h.state.snapshot()], 0, 1);
    const src2 = new ScriptedSource([]);
    const h2 = harness(src2, WatermarkStrategy.forBoundedOutOfOrderness<string>(0), restored, true);
    h2.op.pollNext(1000);
    assert.deepEqual(h2.take(), ['wm 999'], 'the restored splits re-emit their minimum before any record');
    h2.poll(['p0', 'c', 1500]);
    h2.tick();
    // p1's generator remembers 2000: the watermark is min(1499, 1999), not held at p1's restored 999.
    assert.deepEqual(h2.take(), ['c@1500', 'wm 1499']);
  });
});

describe('KafkaSource.assignSplits', () => {
  test('a restore at another parallelism gives every partition to its getSplitOwner, each exactly once', () => {
    const source = KafkaSource.builder<string>().setBootstrapServers('localhost:9092').setTopics('t').setValueOnlyDeserializer(new SimpleStringSchema()).build();
    const all: KafkaSourceSplit[] = Array.from({ length: 6 }, (_, p) => ({ id: `t-${p}`, topic: 't', partition: p, offset: p * 10 }));
    for (const parallelism of [1, 2, 3, 4, 7]) {
      const got = Array.from({ length: parallelism }, (_, i) => source.assignSplits(all, i, parallelism));
      assert.deepEqual(got.flat().map((s) => s.id).sort(), all.map((s) => s.id).sort());
      got.forEach((splits, i) => splits.forEach((s) => assert.equal(splitOwner('t', (s as { partition: number }).partition, parallelism), i)));
    }
    // A share not yet discovered at the checkpoint: every new subtask discovers its own share.
    const withShare = source.assignSplits([{ id: 'discover-0-of-2', discover: { owner: 0, of: 2 } }, ...all], 2, 3);
    assert.deepEqual(withShare[0], { id: 'discover-2-of-3', discover: { owner: 2, of: 3 } });
  });
});
