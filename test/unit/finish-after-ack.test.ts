/**
 * docs/reliability.md, finding 13: a subtask's acknowledgement is sent after its state files are written
 * (asynchronously), its FINISHED at the end of input synchronously. A FINISHED that overtook the ack made the
 * JobManager take the subtask as having nothing more to acknowledge (`CheckpointCoordinator.taskFinished`) and
 * drop the late ack: the checkpoint completed without the source's position although its barrier had gone
 * downstream, and a restore from it never replayed the rest of that source's split (the lost tail). A task now
 * reports FINISHED only after the acks of its snapshots. This drives one real source task (no final checkpoint,
 * the mode where the race was) with a reader that ends right after the barrier.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Source, SourceReader, SourceSplit } from '../../src/api/sources.js';
import type { CheckpointBarrier } from '../../src/checkpoint/CheckpointOptions.js';
import { SourceOperator } from '../../src/operators/SourceOperator.js';
import { sourceTask } from './sourceTask.js';

/** Emits nothing; ends at the first poll after a snapshot of its position. */
class EndsAfterSnapshot implements Source<number, SourceSplit> {
  readonly name = 'ends after snapshot';
  readonly bounded = true;
  initialSplits(): SourceSplit[] {
    return [{ id: '0' }];
  }
  createReader(): SourceReader<number, SourceSplit> {
    let snapshotted = false;
    return {
      addSplits: () => {},
      pollNext: () => (snapshotted ? 'end' : 1),
      snapshotState: () => {
        snapshotted = true;
        return [{ id: '0' }];
      },
    };
  }
}

test('a source that ends right after a checkpoint barrier reports FINISHED only after that checkpoint\'s ack', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ts-finish-after-ack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const location = join(dir, 'chk-1');
  mkdirSync(location);
  const { task, sent } = sourceTask(new SourceOperator(new EndsAfterSnapshot()));
  task.start();
  const barrier: CheckpointBarrier = { type: 'barrier', checkpointId: 1, timestamp: Date.now(), kind: 'CHECKPOINT', location, checkpointType: 'CONFIGURED' };
  task.triggerCheckpoint(barrier);
  const deadline = Date.now() + 10_000;
  while (!sent.some((m) => m.type === 'taskState' && m.state === 'FINISHED') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  // Only the lifecycle and checkpoint messages; the task's periodic metrics report may come in between.
  const order = sent.filter((m) => m.type !== 'metrics').map((m) => (m.type === 'taskState' ? m.state : m.type));
  assert.deepEqual(order, ['RUNNING', 'ack', 'FINISHED'], 'the ack (with the source position) precedes FINISHED');
});
