/**
 * The building blocks of crash safety, in-process: fault specs, the metadata shape check, the recovery point
 * lookup (newest intact checkpoint, falling back), cleanup of a dead cluster's partial folders, checkpoint
 * failure counts, and an index whose file is replaced under an open handle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { FAULT_POINTS, parseFaultSpec } from '../../src/core/FaultInjection.js';
import { decodeMetadata, encodeMetadata, writeMetadataAtomically, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';
import { metadataShapeProblem } from '../../src/checkpoint/MetadataValidation.js';
import { CheckpointIndex, type SnapshotRecord } from '../../src/catalog/CheckpointIndex.js';
import { abandonInProgress } from '../../src/client/AbandonedSnapshots.js';
import { isFlinkError } from '../../src/core/FlinkError.js';

const JOB = 'a'.repeat(32);

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flink-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function metadata(id: number, file = 'op-0', bytes = Buffer.alloc(8, 1)): CheckpointMetadata {
  return {
    formatVersion: 1, jobId: JOB, jobName: 'j', checkpointId: id, kind: 'CHECKPOINT', format: 'NATIVE', triggerTimestamp: id, completionTimestamp: id + 1,
    maxParallelism: 128, operators: [{ operatorId: 'c'.repeat(32), name: 'op', parallelism: 1, maxParallelism: 128,
      subtasks: [{ subtask: 0, state: { file, size: bytes.length, crc32: crc32(bytes), keyedStates: {}, operatorStates: {}, keyedEntries: 0 } }] }],
  };
}

function writeCheckpoint(dir: string, id: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'op-0'), Buffer.alloc(8, 1));
  writeMetadataAtomically(dir, metadata(id));
  return dir;
}

const row = (id: number, path: string, over: Partial<SnapshotRecord> = {}): SnapshotRecord => ({
  jobId: JOB, checkpointId: id, kind: 'CHECKPOINT', status: 'COMPLETED', path, triggerTime: id, durationMs: 1, sizeBytes: 1, failureCause: null, ...over,
});

test('fault specs: every point, nth and nth+, each action; anything else is refused', () => {
  for (const p of FAULT_POINTS) assert.deepEqual(parseFaultSpec(`${p}:2:kill`), [{ point: p, nth: 2, orLater: false, action: 'kill' }]);
  assert.deepEqual(parseFaultSpec('*:1+:enospc, metadata.rename:3:throw'), [
    { point: '*', nth: 1, orLater: true, action: 'enospc' }, { point: 'metadata.rename', nth: 3, orLater: false, action: 'throw' }]);
  assert.deepEqual(parseFaultSpec('kafka.discover@1:1:hold,kafka.discover:2+:kill'), [
    { point: 'kafka.discover', subtask: 1, nth: 1, orLater: false, action: 'hold' }, { point: 'kafka.discover', nth: 2, orLater: true, action: 'kill' }]);
  // @<subtask> and hold where no subtask passes or nothing awaits the pass would never fire: refused.
  for (const bad of ['nope:1:kill', 'metadata.rename:0:kill', 'metadata.rename:1:explode', 'metadata.rename:kill', 'metadata.rename:-1:kill',
    'kafka.commit@1:1:kill', 'kafka.commit:1:hold', '*:1:hold', '*@0:1:kill', 'kafka.discover@:1:hold']) {
    assert.throws(() => parseFaultSpec(bad), /Invalid FLINK_TS_FAULT/, bad);
  }
});

test('fault points: @<subtask> counts that subtask\'s passes only; a held pass never settles, the others go on', () => {
  // The spec is read when the module loads: a process of its own.
  const module = fileURLToPath(new URL('../../src/core/FaultInjection.ts', import.meta.url));
  const script = `const { faultPoint } = await import(${JSON.stringify(module)});
    const held = [0, 1, 0, 1, 1].map((s) => faultPoint('kafka.discover', 't-' + s, s) === undefined ? 'on' : 'held');
    console.log(held.join(' '));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, FLINK_TS_FAULT: 'kafka.discover@1:2:hold' }, encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'on on on held on', "subtask 1's 2nd pass is held (the thread's 4th)");
  assert.equal(r.stderr.trim(), 'FaultInjection: holding kafka.discover of subtask 1 (pass 2) at t-1');
});

test('metadata with a valid checksum but the wrong shape is refused as corrupt, naming the field', () => {
  assert.equal(metadataShapeProblem(metadata(1)), undefined);
  const cases: [unknown, RegExp][] = [
    [[], /not an object/],
    [{ ...metadata(1), operators: {} }, /operators is not an array/],
    [{ ...metadata(1), kind: 'X' }, /kind is not/],
    [{ ...metadata(1), checkpointId: -1 }, /checkpointId/],
    [{ ...metadata(1), operators: [null] }, /operators\[0\] is not an object/],
    [{ ...metadata(1), operators: [{ ...metadata(1).operators[0], subtasks: [{ subtask: 0, state: { ...metadata(1).operators[0]!.subtasks[0]!.state, size: '8' } }] }] },
      /operators\[0\]\.subtasks\[0\]\.state\.size/],
  ];
  for (const [md, re] of cases) {
    const json = Buffer.from(JSON.stringify(md));
    const bytes = encodeMetadata(metadata(1));
    const forged = Buffer.concat([bytes.subarray(0, 20), json]);
    forged.writeUInt32BE(json.length, 12);
    forged.writeUInt32BE(crc32(json), 16);
    assert.throws(() => decodeMetadata(forged, '/x/_metadata'), (e) => isFlinkError(e) && e.kind === 'restore' && re.test(e.message) && e.message.includes('/x/_metadata'));
  }
});

test('recoveryPoint: the newest intact checkpoint; damaged ones are skipped and reported; else what the job was restored from', (t) => {
  const dir = tempDir(t);
  const index = CheckpointIndex.open({ path: join(dir, 'index.sqlite') });
  t.after(() => index.close());
  const origin = writeCheckpoint(join(dir, 'other', 'chk-1'), 1);
  index.upsertJob({ jobId: JOB, name: 'j', status: 'RUNNING', startTime: 1, endTime: null, restUrl: null, pid: null, logFile: null, checkpointDir: null, restoredFrom: origin, failureCause: null });
  assert.equal(index.recoveryPoint(JOB), origin, 'no checkpoint yet: where it was restored from');
  const c2 = writeCheckpoint(join(dir, JOB, 'chk-2'), 2);
  const c3 = writeCheckpoint(join(dir, JOB, 'chk-3'), 3);
  index.upsertSnapshot(row(2, c2));
  index.upsertSnapshot(row(3, c3));
  assert.equal(index.recoveryPoint(JOB), c3);
  const f = join(c3, 'op-0');
  const b = readFileSync(f);
  b[0] ^= 1;
  writeFileSync(f, b);
  const damaged: string[] = [];
  assert.equal(index.recoveryPoint(JOB, (p, why) => damaged.push(`${p}: ${why}`)), c2);
  assert.match(damaged.join(), /chk-3: State file .*op-0 is corrupted: checksum mismatch/);
  rmSync(join(c2, 'op-0'));
  assert.equal(index.recoveryPoint(JOB), origin);
});

test('abandonInProgress: a dead cluster\'s partial folders are removed, a complete-but-unrecorded one becomes COMPLETED', (t) => {
  const dir = tempDir(t);
  const index = CheckpointIndex.open({ path: join(dir, 'index.sqlite') });
  t.after(() => index.close());
  const partial = join(dir, JOB, 'chk-4');
  mkdirSync(partial, { recursive: true });
  writeFileSync(join(partial, 'op-0'), 'half');
  writeFileSync(join(partial, '._metadata.inprogress'), 'half');
  const unrecorded = writeCheckpoint(join(dir, JOB, 'chk-3'), 3);
  index.upsertSnapshot(row(3, unrecorded, { status: 'IN_PROGRESS' }));
  index.upsertSnapshot(row(4, partial, { status: 'IN_PROGRESS' }));
  assert.equal(abandonInProgress(index, JOB, 'abandoned: cluster process 1 is gone'), 2);
  assert.equal(existsSync(partial), false);
  assert.equal(index.findSnapshotByPath(partial)?.status, 'FAILED');
  assert.equal(index.findSnapshotByPath(unrecorded)?.status, 'COMPLETED');
  assert.equal(index.recoveryPoint(JOB), unrecorded);
});

test('checkpointFailures counts failures since the last completed checkpoint, not subsumed ones', (t) => {
  const dir = tempDir(t);
  const index = CheckpointIndex.open({ path: join(dir, 'index.sqlite') });
  t.after(() => index.close());
  index.upsertSnapshot(row(1, join(dir, 'c1'), { status: 'FAILED', failureCause: 'old' }));
  index.upsertSnapshot(row(2, writeCheckpoint(join(dir, 'c2'), 2)));
  index.upsertSnapshot(row(3, join(dir, 'c3'), { status: 'FAILED', failureCause: 'Checkpoint 3 subsumed by 4.' }));
  index.upsertSnapshot(row(4, join(dir, 'c4'), { status: 'FAILED', failureCause: 'ENOSPC one' }));
  index.upsertSnapshot(row(5, join(dir, 'c5'), { status: 'FAILED', failureCause: 'ENOSPC two' }));
  assert.deepEqual(index.checkpointFailures(JOB), { count: 2, last: 'ENOSPC two' });
});

test('an open index whose file is deleted reopens it, rebuilt from the folders, and tells its listeners', (t) => {
  const dir = tempDir(t);
  const checkpointsDir = join(dir, 'checkpoints');
  const c1 = writeCheckpoint(join(checkpointsDir, JOB, 'chk-1'), 1);
  const path = join(dir, 'index.sqlite');
  const index = CheckpointIndex.open({ path, checkpointsDir });
  t.after(() => index.close());
  let reopened = 0;
  index.onReopen(() => reopened++);
  index.upsertJob({ jobId: JOB, name: 'j', status: 'RUNNING', startTime: 1, endTime: null, restUrl: 'http://127.0.0.1:1', pid: 1, logFile: null, checkpointDir: null, restoredFrom: null, failureCause: null });
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  assert.equal(index.findSnapshotByPath(c1)?.status, 'COMPLETED', 'rebuilt from the folders');
  assert.equal(reopened, 1);
  assert.ok(existsSync(path));
  const other = CheckpointIndex.open({ path, checkpointsDir });
  t.after(() => other.close());
  assert.equal(other.findSnapshotByPath(c1)?.status, 'COMPLETED', 'another process sees the same file');
});
