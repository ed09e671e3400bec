import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointFailureManager } from '../../src/checkpoint/CheckpointFailureManager.js';
import { CheckpointStatsTracker, type SnapshotEvent, type TrackedCheckpoint } from '../../src/checkpoint/CheckpointStatsTracker.js';
import { CompletedCheckpointStore, type CompletedCheckpoint } from '../../src/checkpoint/CompletedCheckpointStore.js';
import { Logger } from '../../src/core/Logger.js';
import type { CheckpointMetadata } from '../../src/checkpoint/Metadata.js';

// The coordinator's three helpers on their own: failure counting, retention, statistics and what is reported.

const root = mkdtempSync(join(tmpdir(), 'flink-ts-coordinator-parts-'));
after(() => rmSync(root, { recursive: true, force: true }));
const log = Logger.silent();

function completed(id: number, jobDir: string): CompletedCheckpoint {
  const dir = join(jobDir, `chk-${id}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '_metadata'), 'x');
  const metadata = { operators: [] } as unknown as CheckpointMetadata;
  return { id, dir, isSavepoint: false, metadata };
}

describe('CheckpointFailureManager', () => {
  test('fails the job once more consecutive failures than tolerated happened; a success resets the count', () => {
    const failed: string[] = [];
    const m = new CheckpointFailureManager(1, (r) => failed.push(r));
    m.handleCheckpointFailure('a');
    m.handleCheckpointSuccess();
    m.handleCheckpointFailure('b');
    assert.deepEqual(failed, []);
    m.handleCheckpointFailure('c');
    assert.deepEqual(failed, ['Exceeded checkpoint tolerable failure threshold (1). Last failure: c']);
  });
});

describe('CompletedCheckpointStore', () => {
  test('keeps num-retained checkpoints, discarding the oldest folder first; a claimed snapshot is the oldest', () => {
    const job = join(root, 'job-retain');
    const discarded: number[] = [];
    const store = new CompletedCheckpointStore(2, log, (c) => discarded.push(c.id));
    const claimed = completed(7, join(root, 'restored'));
    store.addClaimed(claimed);
    store.add(completed(8, job));
    assert.deepEqual(store.newestFirst().map((c) => c.id), [8, 7]);
    store.add(completed(9, job));
    assert.deepEqual(discarded, [7], 'the claimed snapshot is subsumed like any retained checkpoint');
    assert.equal(existsSync(claimed.dir), false);
    store.add(completed(10, job));
    assert.deepEqual(discarded, [7, 8]);
    assert.equal(existsSync(join(job, 'chk-8')), false);
    assert.equal(store.latest()?.id, 10);
  });

  test('at job end the retention policy decides what stays on disk', () => {
    const cases: [Parameters<CompletedCheckpointStore['shutdown']>, boolean][] = [
      [['CANCELED', 'RETAIN_ON_CANCELLATION'], true],
      [['CANCELED', 'DELETE_ON_CANCELLATION'], false],
      [['FAILED', 'DELETE_ON_CANCELLATION'], true],
      [['FINISHED', 'NO_EXTERNALIZED_CHECKPOINTS'], false],
    ];
    for (const [[status, policy], kept] of cases) {
      const job = join(root, `job-${status}-${policy}`);
      const store = new CompletedCheckpointStore(3, log, () => {});
      store.add(completed(1, job));
      assert.equal(store.shutdown(status, policy), kept, `${status} ${policy}`);
      assert.equal(existsSync(join(job, 'chk-1')), kept, `${status} ${policy}`);
    }
  });
});

describe('CheckpointStatsTracker', () => {
  test('records progress, completion and failure, and reports each change for the catalog', () => {
    const events: SnapshotEvent[] = [];
    const t = new CheckpointStatsTracker('j'.repeat(32), (e) => events.push(e));
    const p = (id: number, acked = 0): TrackedCheckpoint => ({
      id, isSavepoint: false, location: `/c/chk-${id}`, triggerTs: 1000, numSubtasks: 2, numAcknowledged: acked, unaligned: false,
    });
    t.record(p(1), 'IN_PROGRESS');
    t.acknowledged(1, 1);
    assert.equal(t.stats().history[0].numAcknowledgedSubtasks, 1);
    t.record(p(1, 2), 'COMPLETED', { size: 42, duration: 5 });
    t.record(p(2), 'IN_PROGRESS');
    t.record(p(2), 'FAILED', { failure: 'declined' });
    t.discarded(1, '/c/chk-1');
    const s = t.stats();
    assert.deepEqual(s.counts, { restored: 0, total: 2, inProgress: 0, completed: 1, failed: 1 });
    assert.equal(s.latestCompleted?.stateSize, 42);
    assert.equal(s.latestCompleted?.discarded, true);
    assert.equal(s.latestFailed?.failureMessage, 'declined');
    assert.deepEqual(events.map((e) => (e.type === 'upsert' ? `${e.snapshot.checkpointId}:${e.snapshot.status}` : `discarded:${e.path}`)), [
      '1:IN_PROGRESS', '1:COMPLETED', '2:IN_PROGRESS', '2:FAILED', 'discarded:/c/chk-1',
    ]);
    const done = events[1];
    assert.ok(done.type === 'upsert' && done.snapshot.sizeBytes === 42 && done.snapshot.durationMs === 5 && done.snapshot.kind === 'CHECKPOINT');
  });
});
