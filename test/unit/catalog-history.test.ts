/**
 * The one catalog per user (issue 19): bounded checkpoint history, older per-directory indexes merged once,
 * rebuilds that scan what the catalog recorded, `latest:` resolution and savepoint retention, on real folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CheckpointIndex, type JobRecord, type SnapshotRecord } from '../../src/catalog/CheckpointIndex.js';
import { resolveLatest } from '../../src/catalog/LatestSnapshot.js';
import { resolveJob } from '../../src/catalog/JobReference.js';
import { historyRows } from '../../src/catalog/SnapshotHistory.js';
import { pruneSavepoints } from '../../src/client/SavepointRetention.js';
import { openIndex } from '../../src/client/openIndex.js';
import { Configuration } from '../../src/config/Configuration.js';
import { writeMetadataAtomically, type SnapshotKind } from '../../src/checkpoint/Metadata.js';
import { isFlinkError } from '../../src/core/FlinkError.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flink-catalog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function job(jobId: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId, name: 'orders', status: 'RUNNING', startTime: 1000, endTime: null, restUrl: null, pid: null, logFile: null,
    checkpointDir: null, checkpointStorage: null, restoredFrom: null, failureCause: null, ...over,
  };
}

/** A real, checksummed snapshot folder; returns its catalog row. */
function snapshot(dir: string, jobId: string, id: number, kind: SnapshotKind, triggerTime: number): SnapshotRecord {
  mkdirSync(dir, { recursive: true });
  const bytes = Buffer.from(`state of ${jobId} ${id}`);
  writeFileSync(join(dir, 'op-0'), bytes);
  writeMetadataAtomically(dir, {
    formatVersion: 1, jobId, jobName: 'orders', checkpointId: id, kind, format: kind === 'SAVEPOINT' ? 'CANONICAL' : 'NATIVE',
    triggerTimestamp: triggerTime, completionTimestamp: triggerTime + 5, maxParallelism: 128,
    operators: [{ operatorId: 'd'.repeat(32), name: 'map', parallelism: 1, maxParallelism: 128,
      subtasks: [{ subtask: 0, state: { file: 'op-0', size: bytes.length, crc32: crc32(bytes), keyedStates: {}, operatorStates: {}, keyedEntries: 0 } }] }],
  });
  return { jobId, checkpointId: id, kind, status: 'COMPLETED', path: dir, triggerTime, durationMs: 5, sizeBytes: bytes.length, failureCause: null };
}

const kinds = (e: unknown, kind: string, re: RegExp) => isFlinkError(e) && e.kind === kind && re.test(e.message);

test('bounded history: discarded and failed checkpoints beyond index.checkpoints.history are pruned as checkpoints are recorded', (t) => {
  const dir = tempDir(t);
  const idx = CheckpointIndex.open({ path: join(dir, 'catalog.sqlite'), checkpointHistory: 5 });
  t.after(() => idx.close());
  const restoredFrom = join(dir, 'chk', A, 'chk-3');
  idx.upsertJob(job(A));
  idx.upsertJob(job(B, { restoredFrom })); // a later run restored from A's chk-3
  for (let i = 1; i <= 60; i++) {
    const path = join(dir, 'chk', A, `chk-${i}`);
    idx.upsertSnapshot({ jobId: A, checkpointId: i, kind: 'CHECKPOINT', status: 'IN_PROGRESS', path, triggerTime: i, durationMs: null, sizeBytes: null, failureCause: null });
    if (i % 7 === 0) {
      idx.updateSnapshot(path, { status: 'FAILED', failureCause: 'declined' });
      continue;
    }
    idx.upsertSnapshot(snapshot(path, A, i, 'CHECKPOINT', i));
    const prev = idx.listSnapshots({ jobId: A, status: 'COMPLETED' }).filter((s) => s.checkpointId < i);
    for (const p of prev) idx.updateSnapshot(p.path, { status: 'DISCARDED' }); // subsumed
  }
  idx.upsertSnapshot(snapshot(join(dir, 'sp', 'savepoint-aaaaaa-000000000001'), A, 61, 'SAVEPOINT', 61));
  const counts = idx.snapshotCounts(A);
  assert.equal(counts.COMPLETED, 2, 'the retained checkpoint and the savepoint');
  // The bound, plus the one subsumed after the last record (pruned with the next), plus the restore source.
  assert.ok(counts.DISCARDED! <= 5 + 1 + 1, `discarded rows bounded: ${JSON.stringify(counts)}`);
  assert.ok(counts.FAILED! <= 5, `failed rows bounded: ${JSON.stringify(counts)}`);
  assert.ok(idx.findSnapshotByPath(restoredFrom), 'a checkpoint some job was restored from is never pruned');
  assert.equal(idx.listSnapshots({ jobId: A, kind: 'SAVEPOINT' }).length, 1, 'savepoints are never pruned');
  const newestDiscarded = idx.listSnapshots({ jobId: A, status: 'DISCARDED' }).map((s) => s.checkpointId).sort((x, y) => y - x);
  assert.equal(newestDiscarded[0], 59, 'the newest discarded ones are the ones kept');
});

test('an older per-directory index is merged once, and left in place', (t) => {
  const dir = tempDir(t);
  const legacyPath = join(dir, 'checkpoints', 'flink-index.sqlite');
  const legacy = CheckpointIndex.open({ path: legacyPath });
  legacy.upsertJob(job(A, { name: 'old job', status: 'CANCELED' }));
  legacy.upsertSnapshot(snapshot(join(dir, 'sp', 'savepoint-aaaaaa-0123456789ab'), A, 4, 'SAVEPOINT', 100));
  legacy.close();

  const catalogPath = join(dir, 'home', 'flink-index.sqlite');
  const first = CheckpointIndex.open({ path: catalogPath, legacyIndexes: [legacyPath] });
  assert.deepEqual(first.mergedNow.map((m) => [m.jobs, m.snapshots]), [[1, 1]]);
  assert.equal(first.getJob(A)?.name, 'old job');
  first.updateJob(A, { name: 'renamed in the catalog' });
  first.close();

  const more = CheckpointIndex.open({ path: legacyPath });
  more.upsertJob(job(B, { name: 'written to the old file later' }));
  more.close();
  const second = CheckpointIndex.open({ path: catalogPath, legacyIndexes: [legacyPath] });
  t.after(() => second.close());
  assert.deepEqual(second.mergedNow, [], 'merged once: a second open does not merge again');
  assert.equal(second.getJob(A)?.name, 'renamed in the catalog', 'the catalog\'s own rows win');
  assert.equal(second.getJob(B), undefined);
  assert.ok(existsSync(legacyPath), 'the older index is never deleted');

  // A job of the merged index used another checkpoint directory (-D), with its own older index: found through it.
  const otherRoot = join(dir, 'other-checkpoints');
  const third = CheckpointIndex.open({ path: join(otherRoot, 'flink-index.sqlite') });
  third.upsertJob(job(C, { name: 'started with -D' }));
  third.close();
  second.upsertJob(job(A, { checkpointDir: join(otherRoot, A) }));
  const fourth = CheckpointIndex.open({ path: catalogPath, legacyIndexes: [] });
  t.after(() => fourth.close());
  assert.equal(fourth.getJob(C)?.name, 'started with -D');
});

test('upgrade: the index an older flink-ts kept in <data dir>/checkpoints is merged into <data dir>/flink-index.sqlite', (t) => {
  const home = tempDir(t);
  const old = CheckpointIndex.open({ path: join(home, 'checkpoints', 'flink-index.sqlite') });
  old.upsertJob(job(A, { name: 'from before the upgrade', status: 'FINISHED' }));
  old.close();
  const env = { FLINK_TS_HOME: home };
  const { config } = Configuration.load({ env });
  const idx = openIndex(config);
  t.after(() => idx.close());
  assert.equal(idx.path, join(home, 'flink-index.sqlite'));
  assert.equal(idx.getJob(A)?.name, 'from before the upgrade');
  // -D state.checkpoints.dir=… on a later command does not move the catalog.
  const other = openIndex(Configuration.load({ env, dynamicProperties: { 'state.checkpoints.dir': join(home, 'elsewhere') } }).config);
  t.after(() => other.close());
  assert.equal(other.path, idx.path);
});

test('rebuild scans the checkpoint and savepoint directories the catalog recorded, not only the configured ones', (t) => {
  const dir = tempDir(t);
  const idx = CheckpointIndex.open({ path: join(dir, 'catalog.sqlite'), checkpointsDir: join(dir, 'configured') });
  const otherChk = join(dir, 'started-with-D', 'chk');
  const otherSp = join(dir, 'started-with-D', 'sp');
  idx.upsertJob(job(A, { checkpointDir: join(otherChk, A), savepointDir: otherSp }));
  const chk = snapshot(join(otherChk, A, 'chk-7'), A, 7, 'CHECKPOINT', 700);
  const sp = snapshot(join(otherSp, 'savepoint-aaaaaa-00000000000a'), A, 8, 'SAVEPOINT', 800);
  assert.deepEqual(idx.scannedDirs(), { checkpoints: [join(dir, 'configured'), otherChk].sort(), savepoints: [otherSp] });
  assert.equal(idx.listSnapshots().length, 0);
  idx.rebuild();
  assert.deepEqual(idx.listSnapshots().map((s) => s.path).sort(), [chk.path, sp.path].sort());
  idx.close();
  // Even a deleted catalog is rebuilt from every folder it knew (the side file next to it), not only the configured ones.
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, 'catalog.sqlite' + suffix), { force: true });
  const again = CheckpointIndex.open({ path: join(dir, 'catalog.sqlite'), checkpointsDir: join(dir, 'configured') });
  assert.equal(again.rebuiltBecause, 'missing');
  assert.deepEqual(again.listSnapshots().map((s) => s.path).sort(), [chk.path, sp.path].sort());
  again.close();
});

test('job references: id or name; two running jobs of one name are refused with both ids', (t) => {
  const dir = tempDir(t);
  const idx = CheckpointIndex.open({ path: join(dir, 'catalog.sqlite') });
  t.after(() => idx.close());
  idx.upsertJob(job(A, { status: 'FINISHED', startTime: 1 }));
  idx.upsertJob(job(B, { status: 'RUNNING', startTime: 2 }));
  assert.equal(resolveJob(idx, 'orders').jobId, B, 'the running one');
  assert.equal(resolveJob(idx, A.toUpperCase()).jobId, A);
  idx.upsertJob(job(C, { status: 'RUNNING', startTime: 3 }));
  assert.throws(() => resolveJob(idx, 'orders'), (e) => kinds(e, 'invalid-argument', new RegExp(`ambiguous.*${C}.*${B}|ambiguous.*${B}.*${C}`)));
  assert.throws(() => resolveJob(idx, 'no such job'), (e) => kinds(e, 'not-found', /No job named 'no such job'/));
});

test('latest: newest intact snapshot by name, across runs and the restored-from chain; damaged ones skipped', (t) => {
  const dir = tempDir(t);
  const idx = CheckpointIndex.open({ path: join(dir, 'catalog.sqlite') });
  t.after(() => idx.close());
  const sp1 = snapshot(join(dir, 'sp', 'savepoint-aaaaaa-000000000001'), A, 1, 'SAVEPOINT', 100);
  const chk2 = snapshot(join(dir, 'chk', A, 'chk-2'), A, 2, 'CHECKPOINT', 200);
  idx.upsertJob(job(A, { status: 'CANCELED' }));
  idx.upsertSnapshot(sp1);
  idx.upsertSnapshot(chk2);
  // Run 2 was renamed but restored from run 1's checkpoint: by its id, the chain leads back to run 1.
  idx.upsertJob(job(B, { name: 'orders-v2', status: 'CANCELED', startTime: 300, restoredFrom: chk2.path }));
  assert.equal(resolveLatest(idx, 'latest:orders').path, chk2.path);
  assert.equal(resolveLatest(idx, 'latest-savepoint:orders').path, sp1.path);
  assert.equal(resolveLatest(idx, `latest:${B}`).path, chk2.path, 'followed restored-from');
  assert.equal(resolveLatest(idx, 'latest-checkpoint:orders-v2').path, chk2.path);
  // A damaged newest is skipped (and reported), the next intact one is taken.
  writeFileSync(join(chk2.path, 'op-0'), 'tampered!');
  const damaged: string[] = [];
  assert.equal(resolveLatest(idx, 'latest:orders', (p) => damaged.push(p)).path, sp1.path);
  assert.deepEqual(damaged, [chk2.path]);
  assert.throws(() => resolveLatest(idx, 'latest-checkpoint:orders'), (e) => kinds(e, 'not-found', /Nothing to restore for 'latest-checkpoint:orders'/));
  assert.throws(() => resolveLatest(idx, 'latest:'), (e) => kinds(e, 'invalid-argument', /names no job/));
  idx.upsertJob(job(C, { status: 'RUNNING' }));
  idx.upsertJob(job('e'.repeat(32), { status: 'RUNNING' }));
  assert.throws(() => resolveLatest(idx, 'latest:orders'), (e) => kinds(e, 'invalid-argument', /ambiguous/));
});

test('savepoint retention: count and age, the newest always kept, restore sources kept, dispose then forget', async (t) => {
  const dir = tempDir(t);
  const idx = CheckpointIndex.open({ path: join(dir, 'catalog.sqlite') });
  t.after(() => idx.close());
  const now = 10 * 86_400_000;
  idx.upsertJob(job(A, { status: 'CANCELED' }));
  const sps = [1, 2, 3, 4, 5].map((i) => snapshot(join(dir, 'sp', `savepoint-aaaaaa-00000000000${i}`), A, i, 'SAVEPOINT', now - (6 - i) * 86_400_000));
  for (const s of sps) idx.upsertSnapshot(s);
  // A running job restored from the oldest one (claim mode): never disposed.
  idx.upsertJob(job(B, { status: 'RUNNING', restoredFrom: sps[0]!.path, restoreMode: 'CLAIM' }));
  const outside = join(dir, 'not-managed');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep.txt'), 'x');

  const dry = await pruneSavepoints(idx, { maxCount: 2 }, { dryRun: true, now });
  assert.deepEqual(dry.disposed.map((d) => d.path), [sps[2]!.path, sps[1]!.path]);
  assert.ok(sps.every((s) => existsSync(join(s.path, '_metadata'))), 'a dry run disposes nothing');

  const r = await pruneSavepoints(idx, { maxCount: 2 }, { now });
  assert.deepEqual(r.disposed.map((d) => d.path), [sps[2]!.path, sps[1]!.path]);
  assert.ok(!existsSync(sps[1]!.path) && !existsSync(sps[2]!.path));
  assert.equal(idx.findSnapshotByPath(sps[1]!.path)?.status, 'DISCARDED', 'forgotten only after the disposal');
  assert.match(r.kept.find((k) => k.path === sps[0]!.path)!.reason, /restored from it/);

  // Older than a day: only the newest survives, even though it is older too.
  const aged = await pruneSavepoints(idx, { maxCount: 10, maxAgeMs: 86_400_000 }, { now: now + 5 * 86_400_000 });
  assert.deepEqual(aged.disposed.map((d) => d.path), [sps[3]!.path]);
  assert.match(aged.kept.find((k) => k.path === sps[4]!.path)!.reason, /always kept/);
  assert.ok(existsSync(join(outside, 'keep.txt')));
  assert.deepEqual(historyRows(idx, [idx.getJob(A)!], { kind: 'SAVEPOINT', all: false }).map((h) => h.id), [5, 1]);
  assert.equal(historyRows(idx, [idx.getJob(A)!], { kind: 'SAVEPOINT', all: true }).length, 5);
  await assert.rejects(pruneSavepoints(idx, { maxCount: 0 }), (e) => kinds(e, 'invalid-argument', /at least one savepoint/));
});
