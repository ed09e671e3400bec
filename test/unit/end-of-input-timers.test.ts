/**
 * At the end of input a task quiesces its processing-time service, as Flink does before an operator finishes: a
 * timer still pending then never fires, and one registered after it is ignored, so nothing is emitted after
 * EndOfData. With a final checkpoint (FLIP-147) the task lives on until that checkpoint, which is the window in
 * which a pending timer used to fire. This drives one real source task whose operator registers a timer and then
 * ends at its first poll.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Source, SourceReader, SourceSplit } from '../../src/api/sources.js';
import { SourceOperator } from '../../src/operators/SourceOperator.js';
import { sourceTask } from './sourceTask.js';

class EndsAtOnce implements Source<number, SourceSplit> {
  readonly name = 'ends at once';
  readonly bounded = true;
  initialSplits(): SourceSplit[] {
    return [{ id: '0' }];
  }
  createReader(): SourceReader<number, SourceSplit> {
    return { addSplits: () => {}, pollNext: () => 'end', snapshotState: () => [{ id: '0' }] };
  }
}

/** The source operator, with a processing-time timer 20 ms after open and one registered at its end of input. */
class WithTimers extends SourceOperator<number> {
  readonly fired: string[] = [];
  override open(): void {
    super.open();
    this.ctx.processingTimeService.schedule(Date.now() + 20, () => this.fired.push('pending at the end'));
  }
  override endInput(): void {
    super.endInput();
    this.ctx.processingTimeService.schedule(Date.now(), () => this.fired.push('registered after the end'));
  }
}

test('pending processing-time timers never fire after the end of input (the service is quiesced)', async () => {
  const op = new WithTimers(new EndsAtOnce());
  const { task } = sourceTask(op, { finalCheckpoint: true });
  task.start();
  try {
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(task.running, 'the task waits for its final checkpoint, so a timer had time to fire');
    assert.deepEqual(op.fired, []);
  } finally {
    task.cancel();
  }
});
