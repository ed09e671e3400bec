/**
 * Crash safety beyond SIGKILL (the chaos harness covers that): a worker thread dying, a filesystem that
 * refuses writes (full disk, an unwritable checkpoint directory), a damaged checkpoint during automatic
 * recovery, and the savepoint cron storm.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkpoints, cleanup, committedLines, createWorkspace, ensureBuilt, flink, jobIdFrom, readJobLog, readSnapshot, recordsEmittedAt, savepointFolders,
  savepointPathFrom, show,
  STACK_FRAME, waitFor, type Workspace,
} from './helpers.js';
import { CHAOS_CONFIG, CHAOS_JOB, expectedLines, recordLines } from '../chaos/harness.js';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';

interface Listed {
  jobId: string;
  status: string;
  failureCause: string | null;
  checkpointFailures: number;
  lastCheckpointFailure: string | null;
  latestCheckpoint: string | null;
}

async function listed(ws: Workspace, jobId: string): Promise<Listed | undefined> {
  const r = await flink(ws, ['list', '-a', '--json'], { timeoutMs: 30_000 });
  assert.equal(r.exitCode, 0, show(r));
  return (JSON.parse(r.stdout) as Listed[]).find((j) => j.jobId === jobId);
}

async function submit(ws: Workspace, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await flink(ws, ['run', '-d', CHAOS_JOB, ...args], { env });
  assert.equal(r.exitCode, 0, show(r));
  return jobIdFrom(r.stdout);
}

const isRoot = process.getuid?.() === 0;

/** Makes a directory refuse new entries: chmod when permissions apply, else (root) a regular file in its place. */
function refuseWrites(dir: string): () => void {
  if (!isRoot) {
    chmodSync(dir, 0o555);
    return () => chmodSync(dir, 0o755);
  }
  const aside = `${dir}.aside`;
  renameSync(dir, aside);
  writeFileSync(dir, 'not a directory');
  return () => {
    rmSync(dir, { force: true });
    renameSync(aside, dir);
  };
}

describe('reliability (e2e)', () => {
  let expected: string[];
  before(async () => {
    await ensureBuilt();
    expected = expectedLines(6000); // the model, not the engine's own run
  });

  test('a worker thread dying of an uncaught error: failover from the latest checkpoint, exact output', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace(CHAOS_CONFIG);
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', CHAOS_JOB, '--output', out, '--count', '6000', '--rate', '3000', '--crash-worker-at', '2500'], { timeoutMs: 120_000 });
    assert.equal(r.exitCode, 0, show(r));
    const jobId = jobIdFrom(r.stdout);
    const log = readJobLog(ws, jobId);
    assert.match(log, /Task slot \d+ (crashed|exited)/);
    assert.match(log, /Injected uncaught error in the task slot thread/);
    assert.match(log, /Restoring job [0-9a-f]{32} from checkpoint \d+/);
    assert.deepEqual(committedLines(out), expected);
  });

  // docs/reliability.md, finding 8: a bounded FileSink used to commit its last file at end of input with no
  // checkpoint after it, so a crash between that commit and FINISHED repeated the tail on recovery. With the
  // final checkpoint (FLIP-147) the end of input commits nothing; the kill lands there and the restore from the
  // latest checkpoint writes the tail once.
  test('a kill at the end of input, before FINISHED: the restore from the latest checkpoint duplicates nothing', {
    timeout: 120_000,
  }, async (t) => {
    const ws = createWorkspace(CHAOS_CONFIG);
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', '-d', '--json', CHAOS_JOB, '--output', out, '--count', '6000', '--rate', '3000'], { env: { FLINK_TS_FAULT: 'sink.end-input:1:kill' } });
    assert.equal(r.exitCode, 0, show(r));
    const { jobId, outFile } = JSON.parse(r.stdout) as { jobId: string; outFile: string };
    const j = await waitFor(async () => {
      const l = await listed(ws, jobId);
      return l && l.status === 'FAILED' ? l : undefined;
    }, 60_000, 'the cluster killed at the end-of-input commit, found lost', 300);
    assert.match(readFileSync(outFile, 'utf8'), /FaultInjection: killing process \d+ at sink\.end-input /, 'the kill landed at the end of input');
    assert.ok(j.latestCheckpoint, 'a checkpoint to restore');
    const again = await flink(ws, ['run', '-s', j.latestCheckpoint!, CHAOS_JOB, '--output', out, '--count', '6000', '--rate', '1000000'], { timeoutMs: 120_000 });
    assert.equal(again.exitCode, 0, show(again));
    const got = committedLines(out);
    t.diagnostic(`${got.length - expected.length} lines more than the model's ${expected.length}`);
    assert.deepEqual(got, expected);
  });

  test('a kill after the final checkpoint committed the last file, before FINISHED (FLIP-147): the restore repeats nothing', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace(CHAOS_CONFIG);
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', '-d', '--json', CHAOS_JOB, '--output', out, '--count', '6000', '--rate', '3000'], { env: { FLINK_TS_FAULT: 'task.final-checkpoint:2:kill' } });
    assert.equal(r.exitCode, 0, show(r));
    const { jobId, outFile } = JSON.parse(r.stdout) as { jobId: string; outFile: string };
    const j = await waitFor(async () => {
      const l = await listed(ws, jobId);
      return l && l.status === 'FAILED' ? l : undefined;
    }, 60_000, 'the cluster killed after the final commit, found lost', 300);
    assert.match(readFileSync(outFile, 'utf8'), /FaultInjection: killing process \d+ at task\.final-checkpoint /, 'the kill landed after a final checkpoint completed');
    assert.ok(j.latestCheckpoint, 'a checkpoint to restore');
    const again = await flink(ws, ['run', '-s', j.latestCheckpoint!, CHAOS_JOB, '--output', out, '--count', '6000', '--rate', '1000000'], { timeoutMs: 120_000 });
    assert.equal(again.exitCode, 0, show(again));
    assert.deepEqual(committedLines(out), expected);
  });

  test('disk full while writing state files: checkpoints declined, job keeps running, failures in flink list', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace({ ...CHAOS_CONFIG, 'execution.checkpointing.tolerable-failed-checkpoints': '1000' });
    t.after(() => cleanup(ws));
    const jobId = await submit(ws, ['--output', join(ws.dir, 'out'), '--count', '1000000', '--rate', '500'], { FLINK_TS_FAULT: 'state-file.write:1+:enospc' });
    const j = await waitFor(async () => {
      const l = await listed(ws, jobId);
      return l && l.checkpointFailures >= 3 ? l : undefined;
    }, 60_000, 'three failed checkpoints', 300);
    assert.equal(j.status, 'RUNNING');
    assert.match(j.lastCheckpointFailure ?? '', /declined checkpoint \d+: ENOSPC: no space left on device/);
    assert.equal(j.latestCheckpoint, null);
    assert.deepEqual(checkpoints(ws, jobId), [], 'no checkpoint folder counts as complete');
    const text = await flink(ws, ['list']);
    assert.match(text.stdout, new RegExp(`${jobId} : Chaos job \\(RUNNING\\) - \\d+ checkpoint\\(s\\) failed since the last completed one; last: .*ENOSPC`));
    // Declined checkpoints leave no folder behind.
    const left = readdirSync(join(ws.checkpointsDir, jobId)).filter((d) => d.startsWith('chk-'));
    assert.ok(left.length <= 1, `at most the one in progress is left: ${left.join(', ')}`);
  });

  test('tolerable-failed-checkpoints is respected: N failures tolerated, the next fails the job over', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace({ ...CHAOS_CONFIG, 'execution.checkpointing.tolerable-failed-checkpoints': '2', 'restart-strategy.type': 'none' });
    t.after(() => cleanup(ws));
    const jobId = await submit(ws, ['--output', join(ws.dir, 'out'), '--count', '1000000', '--rate', '500'], { FLINK_TS_FAULT: 'metadata.fsync:1+:enospc' });
    const j = await waitFor(async () => {
      const l = await listed(ws, jobId);
      return l && l.status === 'FAILED' ? l : undefined;
    }, 60_000, 'the job to fail', 300);
    assert.match(j.failureCause ?? '', /Exceeded checkpoint tolerable failure threshold \(2\)\. Last failure: .*ENOSPC/);
    const failures = readJobLog(ws, jobId).split('\n').filter((l) => /Checkpoint \d+ of job [0-9a-f]{32} failed: Failed to write the metadata/.test(l));
    assert.equal(failures.length, 3, `two tolerated, the third fails the job:\n${failures.join('\n')}`);
  });

  test('an unwritable checkpoint directory: checkpoints fail, the job runs on, and completes them again once writable', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace({ ...CHAOS_CONFIG, 'execution.checkpointing.interval': '300 ms', 'execution.checkpointing.tolerable-failed-checkpoints': '1000' });
    t.after(() => cleanup(ws));
    const jobId = await submit(ws, ['--output', join(ws.dir, 'out'), '--count', '1000000', '--rate', '500']);
    const jobDir = join(ws.checkpointsDir, jobId);
    await waitFor(() => checkpoints(ws, jobId).length > 0, 30_000, 'a first checkpoint');
    const restore = refuseWrites(jobDir);
    let restored = false;
    t.after(() => (restored ? undefined : restore()));
    const j = await waitFor(async () => {
      const l = await listed(ws, jobId);
      return l && l.checkpointFailures >= 2 ? l : undefined;
    }, 60_000, 'failed checkpoints', 300);
    assert.equal(j.status, 'RUNNING');
    assert.match(j.lastCheckpointFailure ?? '', /Failed to create the folder of checkpoint \d+|declined/);
    restore();
    restored = true;
    const again = await waitFor(async () => {
      const l = await listed(ws, jobId);
      return l && l.checkpointFailures === 0 && l.latestCheckpoint ? l : undefined;
    }, 60_000, 'checkpoints to complete again', 300);
    assert.equal(again.status, 'RUNNING');
    assert.match(again.latestCheckpoint!, /chk-\d+$/);
  });

  test('automatic recovery skips a damaged newest checkpoint, says so, and falls back to an intact one: exact output', { timeout: 120_000 }, async (t) => {
    // Every checkpoint after the third fails here, so no final checkpoint could ever complete (FLIP-147: the bounded
    // job would wait for one, as Flink's does); this test is about the fallback, so its sink commits at end of input.
    const ws = createWorkspace({
      ...CHAOS_CONFIG, 'execution.checkpointing.interval': '300 ms', 'execution.checkpointing.tolerable-failed-checkpoints': '1000',
      'execution.checkpointing.checkpoints-after-tasks-finish': 'false',
    });
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    // Checkpoints 1-3 complete, later ones fail (so chk-3 stays the newest); the worker dies at record 4500 or
    // later, once the test has damaged chk-3 and created the crash gate (no race between the two).
    const crashGate = join(ws.dir, 'crash-gate');
    const r = flink(ws, ['run', CHAOS_JOB, '--output', out, '--count', '6000', '--rate', '1000', '--crash-worker-at', '4500', '--crash-gate', crashGate],
      { timeoutMs: 120_000, env: { FLINK_TS_FAULT: 'metadata.rename:4+:throw' } });
    const chk3 = await waitFor(() => {
      if (!existsSync(ws.checkpointsDir)) return undefined;
      for (const job of readdirSync(ws.checkpointsDir).filter((d) => /^[0-9a-f]{32}$/.test(d))) {
        const p = join(ws.checkpointsDir, job, 'chk-3');
        if (existsSync(join(p, '_metadata'))) return p;
      }
      return undefined;
    }, 60_000, 'chk-3', 10);
    // Flip one byte of its keyed state file.
    const md = readSnapshot(chk3);
    const file = join(chk3, md.operators.find((o) => o.uid === 'running-count')!.files[0]!);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(file, bytes);
    // Where the source was at checkpoints 2 and 3 (its own state file is intact), read while both are there.
    const at2 = recordsEmittedAt(join(chk3, '..', 'chk-2'), 6000);
    const at3 = recordsEmittedAt(chk3, 6000);
    assert.ok(at2 < at3, `checkpoint 2 read ${at2} records, checkpoint 3 ${at3}`);
    writeFileSync(crashGate, '');
    const res = await r;
    assert.equal(res.exitCode, 0, show(res));
    const jobId = jobIdFrom(res.stdout);
    const log = readJobLog(ws, jobId);
    assert.match(log, /Checkpoint 3 at .*chk-3 is damaged, not restoring from it: State file .* is corrupted: checksum mismatch\. Falling back/);
    assert.match(log, /Restoring job [0-9a-f]{32} from checkpoint 2 /);
    // Nothing is lost. Output the sink committed for checkpoint 3 is produced again from checkpoint 2 (as in
    // Flink, restoring an older checkpoint than the last committed one repeats that span): exactly the records
    // between the two checkpoints' source positions appear twice, nothing else does.
    const got = committedLines(out);
    const twice = recordLines(at2, at3);
    assert.equal(got.length - expected.length, twice.length, `duplicates: the ${twice.length} records ${at2}..${at3 - 1}, no more, no fewer`);
    assert.deepEqual(got, [...expected, ...twice].sort());
    // An explicit restore from the damaged one names the file.
    const bad = await flink(ws, ['run', '-s', chk3, CHAOS_JOB, '--output', join(ws.dir, 'out2')]);
    assert.equal(bad.exitCode, 7, show(bad));
    assert.doesNotMatch(bad.stderr, STACK_FRAME);
    assert.match(bad.stderr, new RegExp(`flink: State file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupted: checksum mismatch`));
  });

  test('the index deleted under a running job: rebuilt from the folders, the job found again, nothing lost', { timeout: 180_000 }, async (t) => {
    const ws = createWorkspace({ ...CHAOS_CONFIG, 'execution.checkpointing.interval': '300 ms' });
    t.after(() => cleanup(ws));
    const jobId = await submit(ws, ['--output', join(ws.dir, 'out'), '--count', '1000000', '--rate', '500']);
    await waitFor(async () => (await listed(ws, jobId))?.latestCheckpoint, 60_000, 'a checkpoint');
    const sp = await flink(ws, ['savepoint', jobId], { timeoutMs: 120_000 });
    assert.equal(sp.exitCode, 0, show(sp));
    const savepoint = savepointPathFrom(sp.stdout);
    for (const suffix of ['', '-wal', '-shm']) rmSync(ws.indexPath + suffix, { force: true });
    // The next CLI rebuilds the index from the folders; the cluster notices at its next checkpoint and re-registers.
    const j = await waitFor(async () => {
      const l = await listed(ws, jobId);
      return l?.status === 'RUNNING' ? l : undefined;
    }, 60_000, 'the job to be listed RUNNING again', 300);
    assert.ok(j.latestCheckpoint, 'its checkpoints are indexed again');
    const all = await flink(ws, ['list', '-a', '--json']);
    assert.equal(all.exitCode, 0, show(all));
    const again = await flink(ws, ['savepoint', jobId], { timeoutMs: 120_000 });
    assert.equal(again.exitCode, 0, show(again));
    assert.match(readJobLog(ws, jobId), /The index .* was deleted or replaced; rebuilt it/);
    // Nothing lost from the index: both savepoints and every checkpoint folder on disk are indexed COMPLETED.
    const index = CheckpointIndex.open({ path: ws.indexPath });
    try {
      for (const p of [savepoint, savepointPathFrom(again.stdout), ...checkpoints(ws, jobId)]) {
        if (!existsSync(join(p, '_metadata'))) continue; // a checkpoint subsumed since (its row says DISCARDED)
        assert.equal(index.findSnapshotByPath(p)?.status, 'COMPLETED', `${p} is indexed as completed`);
      }
      assert.ok(checkpoints(ws, jobId).length > 0);
    } finally {
      index.close();
    }
    // The savepoint taken before the deletion is still known to savepoint -d (it finds and disposes it).
    const dispose = await flink(ws, ['savepoint', '-d', savepoint]);
    assert.equal(dispose.exitCode, 0, show(dispose));
  });

  describe('the savepoint cron storm', () => {
    let ws: Workspace;
    let jobId: string;
    before(async () => {
      ws = createWorkspace({ ...CHAOS_CONFIG, 'execution.checkpointing.interval': '200 ms' });
      jobId = await submit(ws, ['--output', join(ws.dir, 'out'), '--count', '1000000', '--rate', '1000']);
      await waitFor(async () => (await listed(ws, jobId))?.status === 'RUNNING', 30_000, 'RUNNING');
    });
    after(() => cleanup(ws));

    test('20 concurrent savepoints and 5 concurrent lists: each a valid savepoint or a clean refusal, no "database is locked", no shared folder', { timeout: 400_000 }, async () => {
      // Generous process timeouts: 25 CLI processes start at once on what may be a loaded machine.
      const saves = Array.from({ length: 20 }, () => flink(ws, ['savepoint', jobId], { timeoutMs: 300_000 }));
      const lists = Array.from({ length: 5 }, () => flink(ws, ['list', '--json'], { timeoutMs: 300_000 }));
      const results = await Promise.all([...saves, ...lists]);
      const paths: string[] = [];
      for (const r of results) {
        assert.doesNotMatch(r.stderr + r.stdout, /database is locked|SQLITE_BUSY/i, show(r));
        assert.doesNotMatch(r.stderr, STACK_FRAME, show(r));
        if (r.exitCode !== 0) {
          assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('flink: ')).length, 1, show(r));
          continue;
        }
        if (r.stdout.startsWith('[') || r.stdout.startsWith('{')) continue; // list --json
        // A savepoint that exits 0 says where it went: none is skipped silently.
        assert.match(r.stdout, /Savepoint completed/, show(r));
        paths.push(savepointPathFrom(r.stdout));
      }
      assert.ok(paths.length >= 1, 'at least one savepoint completed');
      assert.equal(new Set(paths).size, paths.length, 'no two savepoints share a directory');
      // The folders on disk are exactly the reported ones: no orphan of a refused or lost request.
      assert.deepEqual(savepointFolders(ws.savepointsDir).sort(), [...paths].sort());
      for (const p of paths) assert.equal(readSnapshot(p).kind, 'SAVEPOINT');
      for (const r of results.slice(20)) assert.equal(r.exitCode, 0, show(r));
      const j = await listed(ws, jobId);
      assert.equal(j?.status, 'RUNNING');
    });
  });
});
