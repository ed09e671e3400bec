/**
 * Checkpointing modes end to end, through the real CLI and detached cluster processes: exactly-once (aligned)
 * and at-least-once runs killed while barriers are being aligned, unaligned checkpoints under backpressure
 * (and the aligned-checkpoint-timeout switch), tolerable-failed-checkpoints, and `flink checkpoint`.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ROOT, assertOneLineError, checkpoints, cleanup, committedLines, createWorkspace, flink, jobIdFrom, killCluster,
  readJobLog, readSnapshot, show, waitFor, waitForStatus, withArgs, type Workspace,
} from './helpers.js';
import { alignmentModel } from './models.js';
import { decodeMetadata, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';

const JOB = join(ROOT, 'test', 'jobs', 'AlignmentJob.ts');

const expectedLines = alignmentModel;

function metadataOf(dir: string): CheckpointMetadata {
  return decodeMetadata(readFileSync(join(dir, '_metadata')), dir);
}

const workspaces: Workspace[] = [];
function workspace(overrides: Record<string, string>): Workspace {
  const ws = createWorkspace({ 'restart-strategy.type': 'none', ...overrides });
  workspaces.push(ws);
  return ws;
}
after(async () => {
  for (const ws of workspaces) await cleanup(ws);
});

async function runDetached(ws: Workspace, args: string[]): Promise<string> {
  const r = await flink(ws, ['run', '-d', JOB, ...args]);
  assert.equal(r.exitCode, 0, show(r));
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING', 30_000);
  return jobId;
}

/** Completed (retained) checkpoints of the job that satisfy `ok`, waiting for at least `n` of them. */
async function waitForCheckpoints(ws: Workspace, jobId: string, n: number, ok: (m: CheckpointMetadata) => boolean = () => true, timeoutMs = 60_000): Promise<string> {
  const seen = new Set<string>();
  return waitFor(() => {
    for (const c of checkpoints(ws, jobId)) {
      try {
        if (ok(metadataOf(c))) seen.add(basename(c));
      } catch {
        /* discarded between listing and reading */
      }
    }
    return seen.size >= n ? checkpoints(ws, jobId).at(-1) : undefined;
  }, timeoutMs, `${n} matching checkpoint(s) of job ${jobId}`, 50);
}

/** Restores `path` attached at full speed into the same output directory; asserts it finished. */
async function restore(ws: Workspace, path: string, args: string[]): Promise<void> {
  const r = await flink(ws, ['run', '-s', path, JOB, ...withArgs(args, { rate: '1000000', 'slow-us': '0' })], { timeoutMs: 120_000 });
  assert.equal(r.exitCode, 0, `restore from ${path}: ${show(r)}`);
}

function assertExact(output: string, count: number): void {
  const expected = expectedLines(count);
  const actual = committedLines(output);
  if (actual.length !== expected.length) {
    const missing = expected.filter((l) => !actual.includes(l)).slice(0, 10);
    const dup = actual.filter((l, i) => actual[i - 1] === l).slice(0, 10);
    assert.fail(`committed ${actual.length} lines, expected ${expected.length}; missing ${JSON.stringify(missing)}; duplicated ${JSON.stringify(dup)}`);
  }
  assert.deepEqual(actual, expected);
}

describe('checkpointing modes (e2e)', { concurrency: false }, () => {
  /**
   * Runs AlignmentJob in `mode` and SIGKILLs its cluster from inside, at a named point: a subtask about to
   * write its state file for a checkpoint (its 12th, so checkpoints have completed before), while the other
   * subtasks of that checkpoint have written theirs or are still aligning. Then restores the latest completed one.
   * A fault point instead of a kill timed from outside: on a loaded machine the checkpoint seen in progress
   * over REST may complete before a signal lands.
   */
  async function killAndRestore(mode: string, maxConcurrent: string): Promise<{ output: string; restoredFrom: string }> {
    const ws = workspace({ 'execution.checkpointing.interval': '150 ms', 'execution.checkpointing.mode': mode, 'execution.checkpointing.max-concurrent-checkpoints': maxConcurrent });
    const output = join(ws.dir, 'out');
    const args = ['--count', '16000', '--rate', '800', '--slow-us', '150', '--output', output];
    const r = await flink(ws, ['run', '-d', '--json', JOB, ...args], { env: { FLINK_TS_FAULT: 'state-file.write:12:kill' } });
    assert.equal(r.exitCode, 0, show(r));
    const { jobId, outFile } = JSON.parse(r.stdout) as { jobId: string; outFile: string };
    const fired = await waitFor(() => {
      const m = /FaultInjection: killing process (\d+) at state-file\.write \(pass \d+\) at (\S+)/.exec(existsSync(outFile) ? readFileSync(outFile, 'utf8') : '');
      return m ? { pid: Number(m[1]), file: m[2]! } : undefined;
    }, 60_000, `the cluster of job ${jobId} killed at a state file write`, 100);
    await waitFor(() => {
      try {
        process.kill(fired.pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000, `cluster process ${fired.pid} to be gone`);
    const killedDuring = Number(/chk-(\d+)/.exec(fired.file)?.[1]);
    assert.ok(killedDuring > 0, `the state file being written belongs to a checkpoint: ${fired.file}`);
    // The scenario happened: the kill landed inside that checkpoint, before it completed, after earlier ones did.
    assert.ok(!existsSync(join(ws.checkpointsDir, jobId, `chk-${killedDuring}`, '_metadata')), `checkpoint ${killedDuring} did not complete before the kill`);
    const latest = checkpoints(ws, jobId).at(-1);
    assert.ok(latest && Number(basename(latest).slice(4)) < killedDuring, `a checkpoint completed before checkpoint ${killedDuring}: ${latest}`);
    await restore(ws, latest, args);
    return { output, restoredFrom: latest };
  }

  test('EXACTLY_ONCE: a job with two input channels per task, killed mid-alignment, restores exactly', async () => {
    const { output, restoredFrom } = await killAndRestore('EXACTLY_ONCE', '2');
    assert.equal(metadataOf(restoredFrom).unaligned, undefined, 'aligned checkpoints carry no in-flight data');
    assertExact(output, 16000);
  });

  test('AT_LEAST_ONCE: killed mid-checkpoint, the restored run loses nothing', async () => {
    const { output } = await killAndRestore('AT_LEAST_ONCE', '3');
    // Counts may include replayed records (at least once), but every input record reached the sink.
    const seen = new Set(committedLines(output).map((l) => Number(l.split(',')[1])));
    const missing = Array.from({ length: 16000 }, (_, i) => i).filter((i) => !seen.has(i));
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} records lost`);
  });

  /**
   * Backpressure: the sink takes 2 ms a record and the source is unthrottled, so every buffer is full and an
   * aligned barrier waits behind ~8000 queued records (~16 s), far beyond the checkpoint timeout; an unaligned
   * one overtakes them. The margins are wide because the machine may be loaded.
   */
  const SLOW = ['--count', '30000', '--rate', '1000000', '--slow-us', '2000'];
  const UNDER_PRESSURE = {
    'execution.checkpointing.interval': '300 ms',
    'execution.checkpointing.timeout': '6 s',
    'execution.checkpointing.tolerable-failed-checkpoints': '1000',
  };
  const expired = (ws: Workspace, jobId: string) => (readJobLog(ws, jobId).match(/Checkpoint expired before completing/g) ?? []).length;

  test('under backpressure aligned checkpoints time out, unaligned ones complete, and restore exactly', async () => {
    const aligned = workspace({ ...UNDER_PRESSURE });
    const alignedOut = join(aligned.dir, 'out');
    const a = await runDetached(aligned, withArgs(SLOW, { output: alignedOut }));
    await waitFor(() => expired(aligned, a) >= 2, 60_000, 'two aligned checkpoints to expire');
    assert.equal(checkpoints(aligned, a).length, 0, 'no aligned checkpoint completed under backpressure');
    assert.equal((await flink(aligned, ['cancel', a])).exitCode, 0);

    // The same job, with one key switched.
    const ws = workspace({ ...UNDER_PRESSURE, 'execution.checkpointing.unaligned.enabled': 'true' });
    const output = join(ws.dir, 'out');
    const args = withArgs(SLOW, { output });
    const jobId = await runDetached(ws, args);
    const withInFlight = (m: CheckpointMetadata) => m.unaligned === true && (m.channelState ?? []).some((c) => c.subtasks.some((s) => s.state.inputRecords + s.state.outputRecords > 0));
    await waitForCheckpoints(ws, jobId, 2, withInFlight);
    await killCluster(ws, jobId);
    const latest = checkpoints(ws, jobId).at(-1)!; // what a restore would pick (the killed run kept running meanwhile)
    const md = metadataOf(latest);
    assert.ok(withInFlight(md), 'the checkpoint restored from holds in-flight data');
    for (const cs of md.channelState!) for (const s of cs.subtasks) assert.ok(existsSync(join(latest, s.state.file)), s.state.file);
    // In-flight data goes back into the channels it came from: no rescaling of the tasks holding it.
    const rescaled = await flink(ws, ['run', '-s', latest, JOB, ...withArgs(args, { 'count-parallelism': '3' })]);
    assert.match(assertOneLineError(rescaled, 7), /Cannot restore the unaligned checkpoint .* with a different parallelism/);
    await restore(ws, latest, args);
    assertExact(output, 30000);
  });

  test('aligned-checkpoint-timeout: checkpoints start aligned and switch to unaligned when alignment takes too long', async () => {
    // Without backpressure the alignment is quick: the checkpoints stay aligned. A generous timeout here, since
    // on a loaded machine even a calm alignment can take a second; the point is that they start aligned.
    const calmWs = workspace({ ...UNDER_PRESSURE, 'execution.checkpointing.unaligned': 'true', 'execution.checkpointing.aligned-checkpoint-timeout': '10 s' });
    const calm = await runDetached(calmWs, ['--count', '100000', '--rate', '500', '--output', join(calmWs.dir, 'calm')]);
    await waitForCheckpoints(calmWs, calm, 2);
    for (const c of checkpoints(calmWs, calm)) assert.equal(metadataOf(c).unaligned, undefined, `${c} stayed aligned`);
    assert.equal((await flink(calmWs, ['cancel', calm])).exitCode, 0);

    const ws = workspace({ ...UNDER_PRESSURE, 'execution.checkpointing.unaligned': 'true', 'execution.checkpointing.aligned-checkpoint-timeout': '1 s' });

    // Under backpressure they switch after 1 s instead of expiring after 6.

    const output = join(ws.dir, 'out');
    const args = withArgs(SLOW, { output });
    const jobId = await runDetached(ws, args);
    await waitForCheckpoints(ws, jobId, 2, (m) => m.unaligned === true && (m.channelState?.length ?? 0) > 0);
    assert.equal(expired(ws, jobId), 0, 'no checkpoint expired: they switched instead');
    await killCluster(ws, jobId);
    const latest = checkpoints(ws, jobId).at(-1)!;
    assert.equal(metadataOf(latest).unaligned, true);
    await restore(ws, latest, args);
    assertExact(output, 30000);
  });

  test('tolerable-failed-checkpoints: more checkpoint failures in a row than tolerated fail the job over', async () => {
    const ws = workspace({ ...UNDER_PRESSURE, 'execution.checkpointing.timeout': '1 s', 'execution.checkpointing.tolerable-failed-checkpoints': '1' });
    const r = await flink(ws, ['run', '-d', JOB, ...withArgs(SLOW, { output: join(ws.dir, 'out') })]);
    assert.equal(r.exitCode, 0, show(r));
    const jobId = jobIdFrom(r.stdout);
    const failed = await waitForStatus(ws, jobId, 'FAILED', 60_000);
    assert.match(failed.failureCause ?? '', /Exceeded checkpoint tolerable failure threshold \(1\)/);
    // Completions reset the count: what matters is the failures since the last completed checkpoint.
    const outcomes = readJobLog(ws, jobId).split('\n').filter((l) => /CheckpointCoordinator - (Completed checkpoint|Checkpoint \d+ of job \w+ failed)/.test(l));
    const lastCompleted = outcomes.map((l) => l.includes('Completed')).lastIndexOf(true);
    assert.equal(outcomes.length - 1 - lastCompleted, 2, `the second failure in a row is one too many:\n${outcomes.join('\n')}`);
  });

  test('flink checkpoint: triggers a checkpoint of a running job; --full, --json, and errors', async () => {
    const ws = workspace({ 'execution.checkpointing.interval': '1 h' });
    const jobId = await runDetached(ws, ['--count', '100000', '--rate', '500', '--output', join(ws.dir, 'out')]);

    const r = await flink(ws, ['checkpoint', jobId]);
    assert.equal(r.exitCode, 0, show(r));
    assert.match(r.stderr, new RegExp(`^Triggering checkpoint for job ${jobId}\\.$`, 'm')); // progress goes to stderr
    // Flink's lines: no type for CONFIGURED, then the resume hint (the path is in --json).
    assert.match(r.stdout, new RegExp(`^Checkpoint 1 for job ${jobId} completed\\.\nYou can resume your program from this checkpoint with the run command\\.$`, 'm'));
    const chk1 = join(ws.checkpointsDir, jobId, 'chk-1');
    assert.equal(readSnapshot(chk1).kind, 'CHECKPOINT');

    const full = await flink(ws, ['checkpoint', '--full', jobId, '--json']);
    assert.equal(full.exitCode, 0, show(full));
    const body = JSON.parse(full.stdout);
    assert.deepEqual(body, { jobId, checkpointId: 2, checkpointType: 'FULL', path: `file:${join(ws.checkpointsDir, jobId, 'chk-2')}` });

    const unknown = 'ffffffffffffffffffffffffffffffff';
    const nf = await flink(ws, ['checkpoint', unknown]);
    assert.equal(nf.exitCode, 3, show(nf));
    assert.match(assertOneLineError(nf, 3), new RegExp(`Job ${unknown} not found`));
    const nfJson = await flink(ws, ['checkpoint', unknown, '--json']);
    assert.equal(nfJson.exitCode, 3);
    assert.deepEqual(JSON.parse(nfJson.stdout), { error: { kind: 'not-found', message: `Job ${unknown} not found` } });
    assertOneLineError(await flink(ws, ['checkpoint']), 2);
    assertOneLineError(await flink(ws, ['checkpoint', 'not-a-job-id']), 2);

    assert.equal((await flink(ws, ['cancel', jobId])).exitCode, 0);
    const ended = await flink(ws, ['checkpoint', jobId]);
    assert.match(assertOneLineError(ended, 5), /has already terminated/);
  });
});
