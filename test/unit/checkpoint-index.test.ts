import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { CheckpointIndex, INDEX_SCHEMA_VERSION, type JobRecord, type SnapshotRecord } from '../../src/catalog/CheckpointIndex.js';
import { writeMetadataAtomically, type CheckpointMetadata, type SnapshotKind } from '../../src/checkpoint/Metadata.js';
import { isFlinkError } from '../../src/core/FlinkError.js';

const here = dirname(fileURLToPath(import.meta.url));
const JOB_A = 'a'.repeat(32);
const JOB_B = 'b'.repeat(32);

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flink-index-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function job(jobId: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId, name: `job ${jobId.slice(0, 4)}`, status: 'RUNNING', startTime: 1000, endTime: null, restUrl: 'http://localhost:8081',
    pid: 42, logFile: null, checkpointDir: null, checkpointStorage: null, restoredFrom: null, failureCause: null,
    savepointDir: null, cluster: null, restoreMode: null, ...over,
  };
}

function snap(jobId: string, checkpointId: number, path: string, over: Partial<SnapshotRecord> = {}): SnapshotRecord {
  return {
    jobId, checkpointId, kind: 'CHECKPOINT', status: 'IN_PROGRESS', path, triggerTime: 1000 + checkpointId,
    durationMs: null, sizeBytes: null, failureCause: null, ...over,
  };
}

/** A real snapshot folder: one state file of `stateSize` bytes plus a valid `_metadata`. */
function writeSnapshot(dir: string, jobId: string, checkpointId: number, kind: SnapshotKind, stateSize = 100): number {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'op-0'), Buffer.alloc(stateSize, 7));
  const md: CheckpointMetadata = {
    formatVersion: 1, jobId, jobName: `name-${jobId.slice(0, 4)}`, checkpointId, kind, format: kind === 'SAVEPOINT' ? 'CANONICAL' : 'NATIVE',
    triggerTimestamp: 5000 + checkpointId * 10, completionTimestamp: 5000 + checkpointId * 10 + 7, maxParallelism: 128,
    operators: [{
      operatorId: 'c'.repeat(32), name: 'map', parallelism: 1, maxParallelism: 128,
      subtasks: [{ subtask: 0, state: { file: 'op-0', size: stateSize, crc32: 0, keyedStates: {}, operatorStates: {}, keyedEntries: 0 } }],
    }],
  };
  return statSync(writeMetadataAtomically(dir, md)).size + stateSize;
}

/** checkpoints/<A>/chk-1, chk-2 valid; chk-3 incomplete (no _metadata); chk-4 corrupt; savepoints for A and B. */
function buildFolders(root: string) {
  const checkpointsDir = join(root, 'checkpoints');
  const savepointsDir = join(root, 'savepoints');
  const chk = (n: number) => join(checkpointsDir, JOB_A, `chk-${n}`);
  const sizes = { chk1: writeSnapshot(chk(1), JOB_A, 1, 'CHECKPOINT', 100), chk2: writeSnapshot(chk(2), JOB_A, 2, 'CHECKPOINT', 250) };
  mkdirSync(chk(3), { recursive: true });
  writeFileSync(join(chk(3), 'op-0'), 'partial state');
  writeSnapshot(chk(4), JOB_A, 4, 'CHECKPOINT');
  const md4 = join(chk(4), '_metadata');
  writeFileSync(md4, readFileSync(md4).subarray(0, 30)); // truncated: must not count as complete
  const spA = join(savepointsDir, `savepoint-${JOB_A.slice(0, 6)}-0123456789ab`);
  const spB = join(savepointsDir, `savepoint-${JOB_B.slice(0, 6)}-ba9876543210`);
  writeSnapshot(spA, JOB_A, 3, 'SAVEPOINT');
  writeSnapshot(spB, JOB_B, 9, 'SAVEPOINT');
  mkdirSync(join(savepointsDir, `savepoint-${JOB_B.slice(0, 6)}-000000000000`)); // in progress
  return { checkpointsDir, savepointsDir, chk, spA, spB, sizes };
}

function assertFlinkError(fn: () => unknown, kind: string, re?: RegExp) {
  assert.throws(fn, (e: unknown) => isFlinkError(e) && e.kind === kind && (!re || re.test(e.message)));
}

test('jobs: upsert, get, update, list newest first', (t) => {
  const dir = tempDir(t);
  const idx = CheckpointIndex.open({ path: join(dir, 'nested', 'index.db') });
  t.after(() => idx.close());
  assert.equal(idx.rebuiltBecause, 'missing');
  idx.upsertJob(job(JOB_A, { startTime: 1000 }));
  idx.upsertJob(job(JOB_B, { startTime: 2000, pid: null }));
  assert.deepEqual(idx.getJob(JOB_A), job(JOB_A, { startTime: 1000 }));
  assert.deepEqual(idx.listJobs().map((j) => j.jobId), [JOB_B, JOB_A]);

  idx.updateJob(JOB_A, { status: 'FAILED', endTime: 3000, failureCause: 'boom', restUrl: null });
  assert.deepEqual(idx.getJob(JOB_A), job(JOB_A, { status: 'FAILED', endTime: 3000, failureCause: 'boom', restUrl: null }));
  idx.upsertJob(job(JOB_A, { name: 'renamed', startTime: 5000 })); // upsert replaces the whole row
  assert.equal(idx.getJob(JOB_A)?.status, 'RUNNING');
  assert.deepEqual(idx.listJobs().map((j) => j.jobId), [JOB_A, JOB_B]);

  assert.equal(idx.getJob('f'.repeat(32)), undefined);
  assertFlinkError(() => idx.updateJob('f'.repeat(32), { status: 'CANCELED' }), 'not-found');
});

test('snapshots: upsert, update, filters, uniqueness, COMPLETED needs _metadata', (t) => {
  const dir = tempDir(t);
  const idx = CheckpointIndex.open({ path: join(dir, 'index.db') });
  t.after(() => idx.close());
  const p = (n: number) => join(dir, 'chk', JOB_A, `chk-${n}`);

  idx.upsertSnapshot(snap(JOB_A, 1, p(1)));
  idx.upsertSnapshot(snap(JOB_A, 2, p(2)));
  idx.upsertSnapshot(snap(JOB_B, 1, join(dir, 'sp-b'), { kind: 'SAVEPOINT', triggerTime: 9999 }));
  assert.deepEqual(idx.findSnapshotByPath(`file://${p(1)}/`), snap(JOB_A, 1, p(1)));
  assert.deepEqual(idx.listSnapshots().map((s) => s.path), [join(dir, 'sp-b'), p(2), p(1)]);
  assert.deepEqual(idx.listSnapshots({ jobId: JOB_A }).map((s) => s.checkpointId), [2, 1]);
  assert.deepEqual(idx.listSnapshots({ kind: 'SAVEPOINT' }).map((s) => s.jobId), [JOB_B]);
  assert.equal(idx.listSnapshots({ jobId: JOB_A, status: 'COMPLETED' }).length, 0);

  // No _metadata yet: the index refuses to call it complete.
  assertFlinkError(() => idx.updateSnapshot(p(2), { status: 'COMPLETED' }), 'invalid-argument', /_metadata/);
  const size = writeSnapshot(p(2), JOB_A, 2, 'CHECKPOINT');
  idx.updateSnapshot(p(2), { status: 'COMPLETED', durationMs: 12, sizeBytes: size });
  assert.deepEqual(idx.findSnapshotByPath(p(2)), snap(JOB_A, 2, p(2), { status: 'COMPLETED', durationMs: 12, sizeBytes: size }));
  idx.updateSnapshot(p(1), { status: 'FAILED', failureCause: 'timeout' });
  assert.equal(idx.findSnapshotByPath(p(1))?.failureCause, 'timeout');
  assertFlinkError(() => idx.updateSnapshot(join(dir, 'nope'), { status: 'FAILED' }), 'not-found');
  assertFlinkError(() => idx.upsertSnapshot(snap(JOB_A, 3, p(3), { status: 'COMPLETED' })), 'invalid-argument');
  // Changing a row onto another row's (jobId, kind, checkpointId) is a conflict.
  assertFlinkError(() => idx.updateSnapshot(p(1), { checkpointId: 2 }), 'conflict');

  // Same (jobId, kind, checkpointId) under a new path: the row follows it instead of duplicating.
  idx.upsertSnapshot(snap(JOB_A, 1, p(11), { failureCause: 'moved' }));
  assert.equal(idx.findSnapshotByPath(p(1)), undefined);
  assert.equal(idx.findSnapshotByPath(p(11))?.failureCause, 'moved');
  assert.equal(idx.listSnapshots({ jobId: JOB_A }).length, 2);

  assert.equal(idx.latestCompletedCheckpoint(JOB_A)?.path, p(2));
  rmSync(join(p(2), '_metadata')); // deleted behind the index's back: not offered for restore
  assert.equal(idx.latestCompletedCheckpoint(JOB_A), undefined);
});

test('rebuild from folders: only folders with a valid _metadata are COMPLETED', (t) => {
  const dir = tempDir(t);
  const f = buildFolders(dir);
  const idx = CheckpointIndex.open({ path: join(dir, 'index.db'), checkpointsDir: f.checkpointsDir, savepointsDir: f.savepointsDir });
  t.after(() => idx.close());
  assert.equal(idx.rebuiltBecause, 'missing');

  const all = idx.listSnapshots();
  assert.deepEqual(all.map((s) => [s.kind, s.jobId, s.checkpointId]).sort(), [
    ['CHECKPOINT', JOB_A, 1], ['CHECKPOINT', JOB_A, 2], ['SAVEPOINT', JOB_A, 3], ['SAVEPOINT', JOB_B, 9],
  ].sort());
  assert.ok(all.every((s) => s.status === 'COMPLETED'));
  assert.equal(idx.findSnapshotByPath(f.chk(3)), undefined, 'incomplete folder is not indexed');
  assert.equal(idx.findSnapshotByPath(f.chk(4)), undefined, 'corrupt _metadata is not indexed');
  assert.deepEqual(idx.findSnapshotByPath(f.chk(2)), {
    jobId: JOB_A, checkpointId: 2, kind: 'CHECKPOINT', status: 'COMPLETED', path: f.chk(2), triggerTime: 5020,
    durationMs: 7, sizeBytes: f.sizes.chk2, failureCause: null,
  });
  assert.equal(idx.findSnapshotByPath(f.chk(1))?.sizeBytes, f.sizes.chk1);
  assert.equal(idx.latestCompletedCheckpoint(JOB_A)?.checkpointId, 2);

  const a = idx.getJob(JOB_A);
  assert.equal(a?.status, 'UNKNOWN');
  assert.equal(a?.name, `name-${JOB_A.slice(0, 4)}`);
  assert.equal(a?.startTime, 5010); // oldest snapshot seen
  assert.equal(a?.checkpointDir, join(f.checkpointsDir, JOB_A));
  assert.equal(idx.getJob(JOB_B)?.status, 'UNKNOWN');
  assert.equal(idx.getJob(JOB_B)?.checkpointDir, null);

  // A recorded status survives a rebuild; a deleted folder becomes DISCARDED; a completed one becomes COMPLETED.
  idx.updateJob(JOB_A, { status: 'RUNNING', startTime: 1 });
  idx.upsertSnapshot(snap(JOB_A, 5, f.chk(5)));
  rmSync(f.chk(1), { recursive: true });
  rmSync(f.chk(5), { recursive: true, force: true });
  writeSnapshot(f.chk(3), JOB_A, 3, 'CHECKPOINT');
  assert.deepEqual(idx.rebuild(), { jobs: 2, snapshots: 4 });
  assert.equal(idx.getJob(JOB_A)?.status, 'RUNNING');
  assert.equal(idx.getJob(JOB_A)?.startTime, 1);
  assert.equal(idx.findSnapshotByPath(f.chk(1))?.status, 'DISCARDED');
  assert.equal(idx.findSnapshotByPath(f.chk(5))?.status, 'DISCARDED');
  assert.equal(idx.findSnapshotByPath(f.chk(3))?.status, 'COMPLETED');
  assert.equal(idx.listSnapshots().length, 6, 'rows are never deleted');
  assert.equal(idx.latestCompletedCheckpoint(JOB_A)?.checkpointId, 3);

  // A COMPLETED row whose _metadata got corrupted is no longer complete.
  writeFileSync(join(f.chk(2), '_metadata'), 'garbage');
  idx.rebuild();
  const two = idx.findSnapshotByPath(f.chk(2));
  assert.equal(two?.status, 'FAILED');
  assert.match(two?.failureCause ?? '', /Corrupted checkpoint metadata/);
});

test('rebuild copes with missing directories', (t) => {
  const dir = tempDir(t);
  const idx = CheckpointIndex.open({ path: join(dir, 'index.db'), checkpointsDir: join(dir, 'none'), savepointsDir: join(dir, 'nada') });
  t.after(() => idx.close());
  assert.deepEqual(idx.rebuild(), { jobs: 0, snapshots: 0 });
});

test('a deleted database is rebuilt on open', (t) => {
  const dir = tempDir(t);
  const f = buildFolders(dir);
  const path = join(dir, 'index.db');
  const opts = { path, checkpointsDir: f.checkpointsDir, savepointsDir: f.savepointsDir };
  let idx = CheckpointIndex.open(opts);
  idx.upsertJob(job(JOB_A));
  idx.close();
  idx = CheckpointIndex.open(opts);
  assert.equal(idx.rebuiltBecause, undefined, 'an intact database is not rebuilt');
  idx.close();
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });

  idx = CheckpointIndex.open(opts);
  t.after(() => idx.close());
  assert.equal(idx.rebuiltBecause, 'missing');
  assert.equal(idx.listSnapshots({ status: 'COMPLETED' }).length, 4);
  assert.equal(idx.getJob(JOB_A)?.status, 'UNKNOWN');
});

/** Damages the database file, opens it, and checks the damaged bytes were kept aside and the index rebuilt. */
function corruptAndReopen(t: { after(fn: () => void): void }, damage: (path: string) => void) {
  const dir = tempDir(t);
  const f = buildFolders(dir);
  const path = join(dir, 'db', 'index.db');
  const opts = { path, checkpointsDir: f.checkpointsDir, savepointsDir: f.savepointsDir };
  const idx0 = CheckpointIndex.open(opts);
  for (let i = 0; i < 400; i++) idx0.upsertSnapshot(snap(JOB_B, 100 + i, join(dir, 'x'.repeat(100), String(i))));
  idx0.close();
  damage(path);
  const damaged = readFileSync(path);

  const idx = CheckpointIndex.open(opts);
  t.after(() => idx.close());
  assert.match(idx.rebuiltBecause ?? '', /^corrupt: /);
  const aside = readdirSync(dirname(path)).filter((n) => n.startsWith('index.db.corrupt-') && !/-(wal|shm)$/.test(n));
  assert.equal(aside.length, 1);
  assert.ok(idx.rebuiltBecause!.includes(aside[0]!));
  assert.deepEqual(readFileSync(join(dirname(path), aside[0]!)), damaged, 'damaged bytes are preserved');
  assert.equal(idx.listSnapshots({ status: 'COMPLETED' }).length, 4);
  idx.upsertJob(job(JOB_A)); // and it is writable
  return idx;
}

test('garbage bytes: moved aside and rebuilt', (t) => {
  corruptAndReopen(t, (p) => writeFileSync(p, Buffer.from('this is definitely not a SQLite database'.repeat(200))));
});

test('truncated database: moved aside and rebuilt', (t) => {
  corruptAndReopen(t, (p) => truncateSync(p, Math.floor(statSync(p).size / 2)));
});

test('damaged page detected by quick_check: moved aside and rebuilt', (t) => {
  corruptAndReopen(t, (p) => {
    const bytes = readFileSync(p);
    bytes.fill(0xff, 4096 * 3, 4096 * 4);
    writeFileSync(p, bytes);
  });
});

test('an older schema is migrated in place; a newer one is refused', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'index.db');
  // Exactly what schema version 1 created.
  const old = new Database(path);
  old.exec(`
    CREATE TABLE jobs (
      job_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, start_time INTEGER NOT NULL,
      end_time INTEGER, rest_url TEXT, pid INTEGER, log_file TEXT, checkpoint_dir TEXT,
      restored_from TEXT, failure_cause TEXT);
    CREATE TABLE snapshots (
      path TEXT PRIMARY KEY, job_id TEXT NOT NULL, checkpoint_id INTEGER NOT NULL, kind TEXT NOT NULL,
      status TEXT NOT NULL, trigger_time INTEGER NOT NULL, duration_ms INTEGER, size_bytes INTEGER,
      failure_cause TEXT, UNIQUE (job_id, kind, checkpoint_id));
    INSERT INTO jobs (job_id, name, status, start_time) VALUES ('${JOB_A}', 'old job', 'FINISHED', 7);
    PRAGMA user_version = 1;`);
  old.close();

  const idx = CheckpointIndex.open({ path });
  assert.equal(idx.rebuiltBecause, undefined);
  assert.equal(idx.getJob(JOB_A)?.name, 'old job');
  idx.close();
  const check = new Database(path, { readonly: true });
  assert.equal(check.pragma('user_version', { simple: true }), INDEX_SCHEMA_VERSION);
  assert.ok(INDEX_SCHEMA_VERSION >= 2);
  const indexes = check.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'`).all();
  assert.ok(indexes.length >= 2);
  check.close();

  const newer = new Database(path);
  newer.pragma(`user_version = ${INDEX_SCHEMA_VERSION + 1}`);
  newer.close();
  assertFlinkError(() => CheckpointIndex.open({ path }), 'config', /newer flink-ts/);
  assert.ok(existsSync(path), 'a newer database is left alone');
  assert.equal(readdirSync(dir).filter((n) => n.includes('corrupt')).length, 0);
});

type WorkerResult = { code: number | null; out: string; err: string };

/**
 * Runs `workers` copies of fixtures/index-writer.ts that all open `path` at the same instant: each says when it
 * is loaded (a ready file), and they start together once all are (a go file), however slow the machine.
 */
async function runWriters(path: string, workers: number, count: number, checkpointsDir: string, sharedJob?: string): Promise<WorkerResult[]> {
  const go = join(mkdtempSync(join(tmpdir(), 'flink-ts-index-writers-')), 'go');
  const results = Promise.all(Array.from({ length: workers }, (_, w) => new Promise<WorkerResult>((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'index-writer.ts'), path, String(w), String(count),
      go, checkpointsDir, ...(sharedJob ? [sharedJob] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => done({ code, out, err }));
  })));
  const ready = () => Array.from({ length: workers }, (_, w) => existsSync(`${go}.ready-${w}`)).every(Boolean);
  const deadline = Date.now() + 60_000;
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  writeFileSync(go, '');
  try {
    return await results;
  } finally {
    rmSync(dirname(go), { recursive: true, force: true });
  }
}

function assertAllSucceeded(results: WorkerResult[]): (string | null)[] {
  for (const r of results) assert.equal(r.code, 0, `worker failed: ${r.err}`);
  assert.ok(results.every((r) => !/locked|busy/i.test(r.err)));
  return results.map((r) => JSON.parse(r.out).rebuiltBecause as string | null);
}

test('concurrent processes: no lost writes, no "database is locked"', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const f = buildFolders(dir);
  const path = join(dir, 'shared', 'index.db');
  const workers = 8;
  const count = 100;
  // All workers open the missing database at once, so creation, migration and rebuild race too.
  const rebuilt = assertAllSucceeded(await runWriters(path, workers, count, f.checkpointsDir)).filter((x) => x !== null);
  assert.deepEqual(rebuilt, ['missing'], 'exactly one process builds the fresh index');

  const idx = CheckpointIndex.open({ path });
  t.after(() => idx.close());
  const jobs = idx.listJobs();
  assert.equal(jobs.length, workers * count + 1); // + JOB_A from the folders
  assert.equal(jobs.filter((j) => j.status === 'FINISHED').length, workers * count);
  assert.equal(idx.listSnapshots({ status: 'IN_PROGRESS' }).length, workers * count);
  assert.equal(idx.listSnapshots({ status: 'COMPLETED' }).length, 2);
});

test('concurrent processes ending one job (as `flink list` does for a lost one): exactly one write wins', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'index.db');
  const shared = 'c'.repeat(32);
  const idx = CheckpointIndex.open({ path });
  idx.upsertJob(job(shared));
  idx.close();
  const results = await runWriters(path, 8, 5, '', shared);
  assertAllSucceeded(results);
  const winners = results.map((r) => JSON.parse(r.out) as { worker: string; ended: boolean }).filter((r) => r.ended);
  assert.equal(winners.length, 1, `exactly one process ended the job: ${JSON.stringify(winners)}`);
  const after = CheckpointIndex.open({ path });
  t.after(() => after.close());
  assert.deepEqual([after.getJob(shared)!.status, after.getJob(shared)!.failureCause], ['FAILED', `ended by worker ${winners[0]!.worker}`]);
});

test('concurrent processes opening a corrupt database: one moves it aside, all succeed', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const f = buildFolders(dir);
  const path = join(dir, 'index.db');
  writeFileSync(path, Buffer.alloc(64 * 1024, 0x5a));
  const reasons = assertAllSucceeded(await runWriters(path, 6, 20, f.checkpointsDir));
  assert.equal(reasons.filter((r) => r?.startsWith('corrupt: ')).length, 1, JSON.stringify(reasons));
  assert.equal(readdirSync(dir).filter((n) => n.startsWith('index.db.corrupt-') && !/-(wal|shm)$/.test(n)).length, 1);
  const idx = CheckpointIndex.open({ path });
  t.after(() => idx.close());
  assert.equal(idx.listJobs().length, 6 * 20 + 1);
});
