/**
 * End-to-end job lifecycle: the compiled `flink` CLI, real detached cluster processes and attached runs,
 * savepoints, retained checkpoints, restores, failures and kills. Every scenario must end with exactly the
 * output of an uninterrupted run of the same job.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  FAIL_ONCE_JOB, SAVEPOINT_DIR_NAME, STATE_MACHINE_JOB, STATE_MACHINE_VARIANT_JOB, assertOneLineError, checkpoints, cleanup,
  committedLines, createWorkspace, flink, jobIdFrom, jobStatus, killCluster, latestCheckpoint, listTree, readJobLog, readSnapshot,
  recordsEmittedAt, referenceLines, savepointFolders, savepointPathFrom, show, sleep, startAttached, waitFor, waitForStatus, withArgs,
  type Workspace,
} from './helpers.js';

/**
 * The job of most scenarios: 3000 events, ~20 s at the slow rate, so a detached run is still going when it is
 * savepointed, cancelled or killed a few seconds in (even on a loaded machine); restores run at the fast rate.
 */
const SM_ARGS = ['--count', '3000', '--keys', '10'];
const SLOW = '150';
const FAST = '1000000';

/** `run -d` of `job` with `args` at the slow rate; returns the JobID once the job is RUNNING. */
async function runDetached(ws: Workspace, job: string, args: string[], output: string, extra: string[] = [], rate = SLOW): Promise<string> {
  const r = await flink(ws, ['run', '-d', ...extra, job, ...withArgs(args, { output, rate })]);
  assert.equal(r.exitCode, 0, show(r));
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING', 20_000);
  return jobId;
}

/**
 * `run -s <path>` attached, at the fast rate; asserts success, and that the snapshot restored from is left
 * as it was (a restore never claims, changes or deletes the snapshot it starts from).
 */
async function restore(ws: Workspace, path: string, job: string, args: string[], output: string, extra: string[] = []) {
  const snapshotDir = basename(path) === '_metadata' ? dirname(path) : path;
  const before = listTree(snapshotDir);
  const r = await flink(ws, ['run', '-s', path, ...extra, job, ...withArgs(args, { output, rate: FAST })]);
  assert.equal(r.exitCode, 0, `restore from ${path}: ${show(r)}`);
  assert.match(r.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
  assert.deepEqual(listTree(snapshotDir), before, `the snapshot ${snapshotDir} is intact after the restore`);
  return r;
}

async function assertExact(output: string, job = STATE_MACHINE_JOB, args = SM_ARGS): Promise<void> {
  const expected = await referenceLines(job, args);
  const actual = committedLines(output);
  if (actual.length !== expected.length) {
    // Enough to tell a lost file from lost records or a replay from the wrong position.
    const missing = expected.filter((l) => !actual.includes(l));
    const extra = actual.filter((l) => !expected.includes(l));
    const files = readdirSync(output, { withFileTypes: true }).map((e) => `${e.name}:${e.isFile() ? readFileSync(join(output, e.name), 'utf8').split('\n').length - 1 : '-'}`);
    assert.fail(`committed ${actual.length} lines, an uninterrupted run commits ${expected.length}; missing ${JSON.stringify(missing.slice(0, 20))}; extra ${JSON.stringify(extra.slice(0, 20))}; files ${files.join(' ')}`);
  }
  assert.deepEqual(actual, expected);
}

function assertSavepointFolder(path: string, parent?: string): void {
  assert.match(basename(path), SAVEPOINT_DIR_NAME, path);
  if (parent !== undefined) assert.equal(dirname(path), parent);
  assert.ok(existsSync(join(path, '_metadata')), `${path}/_metadata exists`);
  assert.equal(readSnapshot(path).kind, 'SAVEPOINT');
}

/**
 * Waits until the job has completed `atLeast` checkpoints (judged by what is retained: at most 2 folders are
 * kept, and ids continue from the snapshot a job was restored from); returns the latest one.
 */
async function waitForCheckpoint(ws: Workspace, jobId: string, atLeast = 1): Promise<string> {
  return waitFor(() => {
    const retained = checkpoints(ws, jobId);
    const latest = retained.at(-1);
    const id = latest ? Number(basename(latest).slice('chk-'.length)) : 0;
    return retained.length >= Math.min(atLeast, 2) && id >= atLeast ? latest : undefined;
  }, 20_000, `${atLeast} completed checkpoint(s) of job ${jobId}`);
}

describe('job lifecycle (e2e)', () => {
  test('savepoint (default and given dir), cancel -s, restore: exact results', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out);

    const list = await flink(ws, ['list']);
    assert.equal(list.exitCode, 0, show(list));
    assert.match(list.stdout, new RegExp(`: ${jobId} : State machine job \\(RUNNING\\)`));

    const sp1 = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp1.exitCode, 0, show(sp1));
    assert.match(sp1.stdout, /^Savepoint completed\. Path: file:\S+\/savepoint-[0-9a-f]{6}-[0-9a-f]{12}$/m);
    assertSavepointFolder(savepointPathFrom(sp1.stdout), ws.savepointsDir);
    assert.ok(basename(savepointPathFrom(sp1.stdout)).startsWith(`savepoint-${jobId.slice(0, 6)}-`));

    const dir2 = join(ws.dir, 'given-savepoints');
    const sp2 = await flink(ws, ['savepoint', jobId, dir2]);
    assert.equal(sp2.exitCode, 0, show(sp2));
    assertSavepointFolder(savepointPathFrom(sp2.stdout), dir2);

    const dir3 = join(ws.dir, 'cancel-savepoints');
    const c = await flink(ws, ['cancel', '-s', dir3, jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const sp3 = savepointPathFrom(c.stdout);
    assertSavepointFolder(sp3, dir3);
    await waitForStatus(ws, jobId, 'CANCELED', 15_000);
    assert.ok(committedLines(out).length < (await referenceLines(STATE_MACHINE_JOB, SM_ARGS)).length,
      'the job was cancelled before it produced all of its output');

    await restore(ws, sp3, STATE_MACHINE_JOB, SM_ARGS, out);
    await assertExact(out);
  });

  test('stop --savepointPath: FINISHED, then restore: exact results', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out);
    await waitForCheckpoint(ws, jobId);

    const dir = join(ws.dir, 'stop-savepoints');
    const s = await flink(ws, ['stop', '--savepointPath', dir, jobId]);
    assert.equal(s.exitCode, 0, show(s));
    const sp = savepointPathFrom(s.stdout);
    assertSavepointFolder(sp, dir);
    await waitForStatus(ws, jobId, 'FINISHED', 15_000);

    await restore(ws, sp, STATE_MACHINE_JOB, SM_ARGS, out);
    await assertExact(out);
  });

  test('restore from a retained chk-N directory and from a _metadata file path', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const outDir = join(ws.dir, 'out-dir');
    const jobId = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, outDir);
    await waitForCheckpoint(ws, jobId, 3);
    const c = await flink(ws, ['cancel', jobId]);
    assert.equal(c.exitCode, 0, show(c));
    await waitForStatus(ws, jobId, 'CANCELED', 15_000);

    // RETAIN_ON_CANCELLATION keeps the latest state.checkpoints.num-retained (2) checkpoints.
    const retained = checkpoints(ws, jobId);
    assert.ok(retained.length >= 1 && retained.length <= 2, `1..2 retained checkpoints: ${retained.join(', ')}`);
    const chk = retained.at(-1)!;
    assert.equal(readSnapshot(chk).kind, 'CHECKPOINT');

    // Two independent continuations of the same cancelled run: the output as it was, copied.
    const outFile = join(ws.dir, 'out-file');
    cpSync(outDir, outFile, { recursive: true });
    await restore(ws, chk, STATE_MACHINE_JOB, SM_ARGS, outDir);
    await assertExact(outDir);
    await restore(ws, join(chk, '_metadata'), STATE_MACHINE_JOB, SM_ARGS, outFile);
    await assertExact(outFile);
  });

  test('a user function failing once restarts and ends with exact results; restart-strategy none fails in one line', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    // 1000 records at 500/s, failing at record 600 (~1.2 s in, after checkpoints at 500 ms intervals).
    const args = ['--count', '1000', '--rate', '500', '--fail-at', '600'];
    const reference = referenceLines(FAIL_ONCE_JOB, withArgs(args, { 'fail-at': '-1' }));

    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', FAIL_ONCE_JOB, ...withArgs(args, { output: out })]);
    assert.equal(r.exitCode, 0, show(r));
    assert.match(r.stdout, /has finished\./);
    const jobId = jobIdFrom(r.stdout);
    // The failure did happen (and was recovered from), it was not skipped.
    assert.match(readJobLog(ws, jobId), /Injected failure at record 600/);
    assert.deepEqual(committedLines(out), await reference);

    const out2 = join(ws.dir, 'out-none');
    const n = await flink(ws, ['run', '-D', 'restart-strategy.type=none', FAIL_ONCE_JOB, ...withArgs(args, { output: out2 })]);
    assert.match(assertOneLineError(n, 1), /^flink: .*Injected failure at record 600/);
    const failed = await jobStatus(ws, jobIdFrom(n.stdout));
    assert.equal(failed?.status, 'FAILED');
  });

  test('SIGKILL of the detached cluster: list reports it lost, restore from the latest retained chk-N is exact', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out);
    await waitForCheckpoint(ws, jobId, 2);
    await waitFor(() => committedLines(out).length > 0, 10_000, 'committed output');

    await killCluster(ws, jobId, 'SIGKILL');
    const l = await flink(ws, ['list', '-a', '--json']);
    assert.equal(l.exitCode, 0, show(l));
    const job = (JSON.parse(l.stdout) as Array<{ jobId: string; status: string; lost: boolean; failureCause: string | null }>)
      .find((j) => j.jobId === jobId);
    assert.ok(job, 'the killed job is still listed');
    assert.notEqual(job.status, 'RUNNING', `killed job listed as ${JSON.stringify(job)}`);
    assert.equal(job.status, 'FAILED', JSON.stringify(job));
    assert.ok(job.lost && job.failureCause, `reported as lost, with a cause: ${JSON.stringify(job)}`);
    // And it stays that way for later listings (the index was updated).
    assert.equal((await jobStatus(ws, jobId))?.status, 'FAILED');
    // A savepoint of the lost job is refused in one line, promptly.
    assertOneLineError(await flink(ws, ['savepoint', jobId], { timeoutMs: 20_000 }));

    const chk = latestCheckpoint(ws, jobId);
    assert.ok(chk, 'a retained checkpoint survives the kill');
    await restore(ws, chk, STATE_MACHINE_JOB, SM_ARGS, out);
    await assertExact(out);
  });

  test('generations: savepoint → rescaled detached restore (-p 3) → SIGKILL → restore from its chk-N: exact', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const first = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out);
    await waitForCheckpoint(ws, first);
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), first]);
    assert.equal(c.exitCode, 0, show(c));
    const sp = savepointPathFrom(c.stdout);
    const linesAfterFirst = committedLines(out).length;

    // Second generation: restored from the savepoint with another parallelism (keyed state and sink state rescaled).
    const second = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out, ['-p', '3', '-s', sp]);
    assert.notEqual(second, first);
    await waitForCheckpoint(ws, second, 2);
    await waitFor(() => committedLines(out).length > linesAfterFirst, 10_000, 'output of the second generation');
    const chk = readSnapshot(latestCheckpoint(ws, second)!);
    assert.ok(chk.operators.some((o) => o.uid === 'state-machine' && o.files.length === 3), 'the state machine runs with 3 subtasks');
    await killCluster(ws, second, 'SIGKILL');

    // Third generation, back to the default parallelism, from the killed job's latest retained checkpoint.
    const latest = latestCheckpoint(ws, second);
    assert.ok(latest);
    await restore(ws, latest, STATE_MACHINE_JOB, SM_ARGS, out);
    await assertExact(out);
  });

  test('-n: unmatched operator state fails with exit 7 naming uid and states; with -n it runs', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const jobId = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, join(ws.dir, 'out'));
    await waitForCheckpoint(ws, jobId);
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const sp = savepointPathFrom(c.stdout);
    const sm = readSnapshot(sp).operators.find((o) => o.uid === 'state-machine');
    assert.deepEqual(sm?.keyedStates, ['cycles', 'state'], 'the savepoint holds the state machine state');

    const without = ['--without-state-machine'];
    const out2 = join(ws.dir, 'out-without');
    const before = listTree(sp);
    const r = await flink(ws, ['run', '-s', sp, STATE_MACHINE_VARIANT_JOB, ...withArgs(SM_ARGS, { output: out2, rate: FAST }), ...without]);
    const line = assertOneLineError(r, 7);
    assert.match(line, /state-machine/);
    assert.match(line, /\bstate\b/);
    assert.match(line, /\bcycles\b/);
    assert.match(line, /allowNonRestoredState/);
    assert.deepEqual(committedLines(out2), [], 'nothing ran');
    assert.deepEqual(listTree(sp), before, 'the savepoint is untouched');

    const ok = await flink(ws, ['run', '-n', '-s', sp, STATE_MACHINE_VARIANT_JOB, ...withArgs(SM_ARGS, { output: out2, rate: FAST }), ...without]);
    assert.equal(ok.exitCode, 0, show(ok));
    // The source resumed from its savepoint position: exactly the events after it were written, each once.
    const at = recordsEmittedAt(sp, 3000);
    assert.ok(at > 0 && at < 3000, `the savepoint was taken part-way: at event ${at}`);
    const after = (await referenceLines(STATE_MACHINE_VARIANT_JOB, [...SM_ARGS, ...without])).filter((l) => Number(l.split(',').at(-1)) >= at);
    assert.equal(after.length, 3000 - at);
    assert.deepEqual(committedLines(out2), after);
  });

  test('operators without uid get deterministic ids: two runs of the same program restore into each other', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const args = [...SM_ARGS, '--no-uids'];
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, STATE_MACHINE_VARIANT_JOB, args, out);
    await waitForCheckpoint(ws, jobId);
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const sp = savepointPathFrom(c.stdout);
    const ops = readSnapshot(sp).operators;
    assert.ok(ops.length > 0 && ops.every((o) => o.uid === undefined), `no uids in the savepoint: ${JSON.stringify(ops)}`);
    assert.ok(ops.some((o) => o.keyedStates.includes('state')), 'the auto-id state machine operator has its state');

    // Without -n: every operator's state must find the same auto id in the new run.
    await restore(ws, sp, STATE_MACHINE_VARIANT_JOB, args, out);
    // The variant writes exactly what the example writes.
    await assertExact(out);
  });

  test('a relocated savepoint folder restores from its new place: exact results', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out);
    await waitForCheckpoint(ws, jobId);
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const sp = savepointPathFrom(c.stdout);

    // Copied elsewhere (as across filesystems), the original removed: nothing may point back to it.
    const moved = join(ws.dir, 'elsewhere', 'deeper', 'my-savepoint');
    mkdirSync(dirname(moved), { recursive: true });
    cpSync(sp, moved, { recursive: true });
    rmSync(sp, { recursive: true });
    await restore(ws, moved, STATE_MACHINE_JOB, SM_ARGS, out);
    await assertExact(out);
  });

  test('5 concurrent savepoints of one job: distinct valid folders; savepoint -d disposes one, refuses a non-savepoint', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const jobId = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, join(ws.dir, 'out'));

    const results = await Promise.all(Array.from({ length: 5 }, () => flink(ws, ['savepoint', jobId])));
    for (const r of results) assert.equal(r.exitCode, 0, show(r));
    const paths = results.map((r) => savepointPathFrom(r.stdout));
    assert.equal(new Set(paths).size, 5, `distinct folders: ${paths.join(', ')}`);
    for (const p of paths) {
      assertSavepointFolder(p, ws.savepointsDir);
      const s = readSnapshot(p);
      assert.equal(s.jobId, jobId);
      assert.ok(s.operators.some((o) => o.uid === 'state-machine'), `${p} holds the state machine`);
    }
    assert.deepEqual(savepointFolders(ws.savepointsDir).sort(), [...paths].sort());
    // The job is still running after all of that.
    assert.equal((await jobStatus(ws, jobId))?.status, 'RUNNING');

    const d = await flink(ws, ['savepoint', '-d', paths[0]]);
    assert.equal(d.exitCode, 0, show(d));
    assert.ok(!existsSync(paths[0]), 'the disposed savepoint folder is gone');
    for (const p of paths.slice(1)) assert.ok(existsSync(join(p, '_metadata')), `${p} is untouched`);

    const notSp = join(ws.dir, 'not-a-savepoint');
    mkdirSync(notSp);
    writeFileSync(join(notSp, 'precious.txt'), 'keep me\n');
    const bad = await flink(ws, ['savepoint', '-d', notSp]);
    assertOneLineError(bad);
    assert.deepEqual(listTree(notSp), ['precious.txt']);

  });

  test('a savepoint racing stop-with-savepoint: stop prints the savepoint it took; restore from it is exact', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    // A slow operator in front of the sink queues records, so the stop's savepoint barrier takes a while to
    // get through: the second savepoint reliably lands while the stop is still in flight. At 40 ms per line one CI
    // run's stop savepoint completed in 446 ms, sooner than the second CLI started on that loaded machine (no race);
    // at 100 ms per line the window is several seconds.
    const slow = ['--slow-ms', '100'];
    const jobId = await runDetached(ws, STATE_MACHINE_VARIANT_JOB, [...SM_ARGS, ...slow], out, [], '300');
    await sleep(2_000); // not waiting for checkpoints: with the backlog they are slow too

    const dir = join(ws.dir, 'race');
    const stopping = flink(ws, ['stop', '-p', dir, jobId]);
    // The other savepoint is asked for once the stop's own savepoint has been triggered (not after a sleep).
    await waitFor(() => /Triggering savepoint \d+ \(type=SAVEPOINT_TERMINATE\)/.test(readJobLog(ws, jobId)), 30_000, 'the stop\'s savepoint triggered', 20);
    const [stop, other] = await Promise.all([stopping, flink(ws, ['savepoint', jobId, dir])]);
    assert.equal(stop.exitCode, 0, show(stop));
    const printedByStop = savepointPathFrom(stop.stdout);
    await waitForStatus(ws, jobId, 'FINISHED', 15_000);

    // What was written, and which of it is the stop's own savepoint: the job log names the checkpoint id of the
    // SAVEPOINT_TERMINATE; without that line, the lowest id (the stop was triggered first).
    const folders = savepointFolders(dir).map((p) => ({ p, s: readSnapshot(p) })).sort((a, b) => a.s.checkpointId - b.s.checkpointId);
    const jobLog = readJobLog(ws, jobId);
    const log = jobLog.split('\n').filter((l) => /savepoint \d+/.test(l)).map((l) => l.replace(/^.*? - /, '')).join('\n  ');
    const written = `written: ${folders.map((f) => `${basename(f.p)} (id ${f.s.checkpointId})`).join(', ')}\njob log:\n  ${log}`;
    assert.ok(folders.length >= 1, written);
    const terminateId = Number(/Triggering savepoint (\d+) \(type=SAVEPOINT_TERMINATE\)/.exec(jobLog)?.[1] ?? folders[0].s.checkpointId);
    const stopsOwn = folders.find((f) => f.s.checkpointId === terminateId);
    assert.ok(stopsOwn, `the stop's savepoint (id ${terminateId}) was written\n${written}`);
    const printed = [printedByStop];
    if (other.exitCode === 0) {
      const printedByOther = savepointPathFrom(other.stdout);
      assert.notEqual(printedByOther, printedByStop, `both commands printed the same savepoint ${printedByStop}\n${written}`);
      assertSavepointFolder(printedByOther, dir);
      printed.push(printedByOther);
      // The race happened: the other savepoint was triggered while the stop's was still in flight.
      const lines = jobLog.split('\n');
      const triggered = lines.findIndex((l) => l.includes(`Triggering savepoint ${readSnapshot(printedByOther).checkpointId} `));
      const stopDone = lines.findIndex((l) => l.includes(`Completed savepoint ${terminateId} `));
      assert.ok(triggered >= 0 && stopDone >= 0 && triggered < stopDone, `the other savepoint was triggered before the stop's completed\n${written}`);
    } else {
      // Refused because of the stop in flight, not because the job had already gone (that would be no race).
      assert.doesNotMatch(assertOneLineError(other), /already terminated|not found/, `the race happened\n${written}`);
    }
    assert.equal(basename(printedByStop), basename(stopsOwn.p),
      `stop printed ${basename(printedByStop)}, but its savepoint is ${basename(stopsOwn.p)}\n${written}`);
    // A savepoint that was written is reported by the command that asked for it (not an error, not nothing).
    assert.deepEqual(folders.map((f) => f.p).sort(), printed.sort(),
      `every written savepoint is reported by its command; savepoint: ${show(other)}\n${written}`);

    await restore(ws, printedByStop, STATE_MACHINE_VARIANT_JOB, [...SM_ARGS, '--slow-ms', '1'], out);
    await assertExact(out);
  });

  test('savepoint of an attached job from another process, then SIGINT cancels it (exit 130)', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const { child, output } = startAttached(ws, ['run', STATE_MACHINE_JOB, ...withArgs(SM_ARGS, { output: out, rate: SLOW })]);
    const jobId = await waitFor(() => /JobID ([0-9a-f]{32})/.exec(output.stdout)?.[1], 20_000, 'the attached job to be submitted');
    await waitForStatus(ws, jobId, 'RUNNING', 20_000);

    const sp = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp.exitCode, 0, show(sp));
    assertSavepointFolder(savepointPathFrom(sp.stdout), ws.savepointsDir);
    assert.equal(child.exitCode, null, 'the attached run is still going');

    child.kill('SIGINT');
    const r = await child;
    assert.equal(r.exitCode, 130, `attached run after SIGINT: exit ${r.exitCode}\n${output.stdout}\n${output.stderr}`);
    assert.match(output.stdout, new RegExp(`Job with JobID ${jobId} has been cancelled`));
    const j = await waitForStatus(ws, jobId, 'CANCELED', 10_000);
    assert.equal(j.status, 'CANCELED');
  });
});
