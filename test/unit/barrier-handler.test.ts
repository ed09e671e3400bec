import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CheckpointBarrierHandler, type InputChannel, type InputChannelState, type QueueItem,
} from '../../src/runtime/CheckpointBarrierHandler.js';
import type { CheckpointBarrier } from '../../src/checkpoint/CheckpointOptions.js';
import { decode } from '../../src/core/Serializer.js';

/**
 * The barrier handler driven like StreamTask drives it: arrivals go through onArrival() and are queued, the
 * task loop takes the head of a non-blocked channel's queue, processes records, and hands barriers and
 * end-of-partition to the handler. `processed` is what the operator saw, in order.
 */
class FakeTask {
  readonly inputs: InputChannel[];
  readonly processed: unknown[] = [];
  readonly snapshots: { id: number; unaligned: boolean; processedBefore: unknown[]; inputs?: InputChannelState[] }[] = [];
  readonly declined: { id: number; reason: string }[] = [];
  readonly handler: CheckpointBarrierHandler;

  constructor(n: number, mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE') {
    this.inputs = Array.from({ length: n }, (_, i) => ({ id: i, fromWorker: i, input: 1 as const, queue: [], blocked: false, finished: false, endOfData: false }));
    this.handler = new CheckpointBarrierHandler({
      inputs: this.inputs,
      mode,
      snapshot: (b, unaligned) => {
        const entry: FakeTask['snapshots'][number] = { id: b.checkpointId, unaligned, processedBefore: [...this.processed] };
        this.snapshots.push(entry);
        return { complete: (inputs) => void (entry.inputs = inputs) };
      },
      decline: (id, reason) => void this.declined.push({ id, reason }),
      schedule: () => {},
    });
  }

  arrive(ch: number, item: QueueItem): void {
    if (!this.handler.onArrival(this.inputs[ch], item)) this.inputs[ch].queue.push(item);
  }
  records(ch: number, ...records: unknown[]): void {
    this.arrive(ch, { records });
  }
  barrier(ch: number, b: CheckpointBarrier): void {
    this.arrive(ch, { event: b });
  }
  eop(ch: number): void {
    this.arrive(ch, { event: { type: 'eop' } });
  }

  /** One step of the task loop on channel `ch`; false when that channel is blocked or empty. */
  step(ch: number): boolean {
    const c = this.inputs[ch];
    if (c.blocked || c.queue.length === 0) return false;
    const item = c.queue.shift()!;
    if ('records' in item) this.processed.push(...item.records);
    else if (item.event.type === 'eop') this.handler.processEndOfPartition(c);
    else if (item.event.type === 'barrier') this.handler.processBarrier(c, item.event);
    else throw new Error(`this harness sends no ${item.event.type} events`);
    return true;
  }

  /** Runs the loop round-robin until nothing can be processed. */
  drain(): void {
    let progress = true;
    while (progress) {
      progress = false;
      for (let i = 0; i < this.inputs.length; i++) progress = this.step(i) || progress;
    }
  }
}

const barrier = (id: number, extra: Partial<CheckpointBarrier> = {}): CheckpointBarrier =>
  ({ type: 'barrier', checkpointId: id, timestamp: Date.now(), kind: 'CHECKPOINT', location: `/tmp/chk-${id}`, ...extra });

const inputRecords = (s: InputChannelState[] | undefined) =>
  (s ?? []).map((c) => ({ channel: c.channel, records: c.batches.flatMap((b) => decode<{ records: unknown[] }>(b).records) }));

describe('CheckpointBarrierHandler', () => {
  test('exactly-once: while aligning, records behind the barrier are held, not processed', () => {
    const t = new FakeTask(2, 'EXACTLY_ONCE');
    t.records(0, 'a1');
    t.barrier(0, barrier(1));
    t.records(0, 'a2-after'); // after the barrier on channel 0: must wait
    t.records(1, 'b1');
    t.drain();
    assert.equal(t.inputs[0].blocked, true);
    assert.equal(t.handler.aligningCheckpoint, 1);
    assert.deepEqual(t.processed, ['a1', 'b1']);
    assert.deepEqual(t.inputs[0].queue, [{ records: ['a2-after'] }], 'held in its queue');
    assert.equal(t.snapshots.length, 0);

    t.records(1, 'b2');
    t.barrier(1, barrier(1));
    t.drain();
    assert.equal(t.snapshots.length, 1);
    assert.deepEqual(t.snapshots[0].processedBefore, ['a1', 'b1', 'b2'], 'the snapshot holds exactly the records before the barriers');
    assert.equal(t.snapshots[0].unaligned, false);
    assert.deepEqual(t.processed, ['a1', 'b1', 'b2', 'a2-after']);
    assert.equal(t.inputs[0].blocked, false);
  });

  test('a finished channel counts as barriered', () => {
    const t = new FakeTask(2, 'EXACTLY_ONCE');
    t.barrier(0, barrier(1));
    t.records(1, 'b1');
    t.eop(1);
    t.drain();
    assert.deepEqual(t.snapshots.map((s) => s.id), [1]);
    assert.deepEqual(t.snapshots[0].processedBefore, ['b1']);
  });

  test('an aborted checkpoint releases the alignment and its late barriers are ignored', () => {
    const t = new FakeTask(2, 'EXACTLY_ONCE');
    t.barrier(0, barrier(1));
    t.records(0, 'a-after');
    t.drain();
    assert.deepEqual(t.processed, []);
    t.handler.abort(1);
    t.drain();
    assert.deepEqual(t.processed, ['a-after']);
    t.barrier(1, barrier(1)); // late: must not start a new alignment that blocks channel 1
    t.records(1, 'b');
    t.drain();
    assert.deepEqual(t.processed, ['a-after', 'b']);
    assert.equal(t.snapshots.length, 0);
    assert.equal(t.inputs[1].blocked, false);
  });

  test('at-least-once: nothing is blocked, and concurrent checkpoints each complete (no lost alignment)', () => {
    const t = new FakeTask(2, 'AT_LEAST_ONCE');
    t.barrier(0, barrier(1));
    t.records(0, 'a-after-1');
    t.barrier(0, barrier(2)); // a newer checkpoint overtakes checkpoint 1 on channel 0
    t.records(0, 'a-after-2');
    t.drain();
    assert.deepEqual(t.processed, ['a-after-1', 'a-after-2'], 'no blocking');
    assert.equal(t.snapshots.length, 0);
    t.records(1, 'b1');
    t.barrier(1, barrier(1));
    t.drain();
    assert.deepEqual(t.snapshots.map((s) => s.id), [1], 'checkpoint 1 completes although checkpoint 2 started');
    t.barrier(1, barrier(2));
    t.drain();
    assert.deepEqual(t.snapshots.map((s) => s.id), [1, 2]);
    assert.equal(t.declined.length, 0);
  });

  test('unaligned: the first barrier overtakes the queue, snapshots at once, and in-flight records become channel state', () => {
    const t = new FakeTask(2, 'EXACTLY_ONCE');
    t.records(0, 'a1', 'a2');
    t.records(1, 'b1');
    t.barrier(0, barrier(1, { unaligned: true }));
    assert.equal(t.snapshots.length, 1, 'snapshot on arrival, before the queued records are processed');
    assert.deepEqual(t.snapshots[0].processedBefore, []);
    assert.equal(t.snapshots[0].unaligned, true);
    assert.equal(t.inputs[0].queue.length, 1, 'the barrier was not queued');
    t.drain();
    assert.deepEqual(t.processed, ['a1', 'a2', 'b1'], 'in-flight records are still processed');
    t.records(1, 'b2'); // before channel 1's barrier: in flight too
    t.barrier(1, barrier(1, { unaligned: true }));
    t.records(1, 'b3-after');
    t.drain();
    assert.deepEqual(inputRecords(t.snapshots[0].inputs), [{ channel: 0, records: ['a1', 'a2'] }, { channel: 1, records: ['b1', 'b2'] }]);
    assert.deepEqual(t.processed, ['a1', 'a2', 'b1', 'b2', 'b3-after']);
  });

  test('aligned-checkpoint-timeout: an alignment that takes too long switches to unaligned', async () => {
    const t = new FakeTask(2, 'EXACTLY_ONCE');
    t.records(0, 'a1');
    t.barrier(0, barrier(1, { alignedTimeoutMs: 50 }));
    t.records(0, 'a2-after');
    t.records(1, 'b1');
    t.drain(); // channel 0 aligned and blocked
    t.records(1, 'b2');
    assert.deepEqual(t.processed, ['a1', 'b1']);
    assert.equal(t.snapshots.length, 0);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(t.snapshots.length, 1, 'switched after the timeout');
    assert.equal(t.snapshots[0].unaligned, true);
    assert.deepEqual(t.snapshots[0].processedBefore, ['a1', 'b1']);
    assert.equal(t.inputs[0].blocked, false, 'released');
    t.records(1, 'b3');
    t.barrier(1, barrier(1, { alignedTimeoutMs: 50 })); // the aligned barrier of channel 1 arrives late
    t.records(1, 'b4-after');
    t.drain();
    assert.deepEqual(inputRecords(t.snapshots[0].inputs), [{ channel: 1, records: ['b2', 'b3'] }], 'only channel 1 had data before its barrier');
    assert.deepEqual(t.processed.sort(), ['a1', 'a2-after', 'b1', 'b2', 'b3', 'b4-after']);
    assert.equal(t.snapshots.length, 1);
  });

  test('timeout switch with the barrier already queued captures only what is ahead of it', async () => {
    const t = new FakeTask(1, 'EXACTLY_ONCE');
    t.records(0, 'x1');
    t.barrier(0, barrier(7, { alignedTimeoutMs: 20 }));
    t.records(0, 'x2-after');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(t.snapshots.length, 1);
    assert.deepEqual(inputRecords(t.snapshots[0].inputs), [{ channel: 0, records: ['x1'] }]);
    t.drain();
    assert.deepEqual(t.processed, ['x1', 'x2-after']);
    assert.equal(t.snapshots.length, 1, 'the removed barrier does not snapshot again');
  });

  test('a newer unaligned barrier subsumes an unfinished alignment, which is declined', () => {
    const t = new FakeTask(2, 'EXACTLY_ONCE');
    t.barrier(0, barrier(1)); // savepoint-like aligned checkpoint
    t.drain();
    t.barrier(1, barrier(2, { unaligned: true }));
    assert.deepEqual(t.declined.map((d) => d.id), [1]);
    assert.match(t.declined[0].reason, /subsumed/);
    assert.deepEqual(t.snapshots.map((s) => s.id), [2]);
    assert.equal(t.inputs[0].blocked, false);
  });
});
