/**
 * Rescaling on restore and recovery through the real CLI: operator list and union state (and the source's
 * splits) through savepoints at parallelism 2 → 3 → 1, keyed state through the same chain, a changed max
 * parallelism refused, and every keyed state kind through a failure restart. Each scenario ends with
 * exactly the output of an uninterrupted run of the same job.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadSnapshot } from '../../src/checkpoint/Metadata.js';
import {
  ROOT, STATE_MACHINE_JOB, assertOneLineError, cleanup, committedLines, createWorkspace, flink, jobIdFrom, listTree, readJobLog,
  referenceLines, savepointPathFrom, show, waitFor, waitForStatus, withArgs, type Workspace,
} from './helpers.js';

const OPERATOR_STATE_JOB = join(ROOT, 'test', 'jobs', 'OperatorStateJob.ts');
const STATE_KINDS_FAIL_ONCE_JOB = join(ROOT, 'test', 'jobs', 'StateKindsJob.ts'); // with --fail-at

const SLOW = '150';
const FAST = '1000000';

/** 6000 numbers at 150/s (~40 s): two detached phases of a few seconds each leave most of them to the last run. */
const COUNT = 6000;
const OP_ARGS = ['--count', String(COUNT), '--splits', '2', '--group', '20', '--tail', '8'];
const SM_ARGS = ['--count', '3000', '--keys', '10'];

/** `run -d` at the slow rate; returns the JobID once RUNNING. */
async function runDetached(ws: Workspace, job: string, args: string[], output: string, extra: string[] = []): Promise<string> {
  const r = await flink(ws, ['run', '-d', ...extra, job, ...withArgs(args, { output, rate: SLOW })]);
  assert.equal(r.exitCode, 0, `run -d ${extra.join(' ')}: ${show(r)}`);
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING', 20_000);
  return jobId;
}

/** `cancel -s <dir>`; returns the savepoint once the job is CANCELED. */
async function cancelWithSavepoint(ws: Workspace, jobId: string, dir: string): Promise<string> {
  const c = await flink(ws, ['cancel', '-s', dir, jobId]);
  assert.equal(c.exitCode, 0, `cancel -s of ${jobId}: ${show(c)}\njob log:\n${logExcerpt(ws, jobId)}`);
  await waitForStatus(ws, jobId, 'CANCELED', 15_000);
  return savepointPathFrom(c.stdout);
}

/** The operator of a snapshot with the given uid: its parallelism and per-subtask operator state modes. */
function operatorOf(dir: string, uid: string) {
  const op = loadSnapshot(dir).metadata.operators.find((o) => o.uid === uid);
  assert.ok(op, `operator ${uid} is in the snapshot ${dir}`);
  return op;
}

/** The last lines of a job's log that say something about checkpoints, restores, failures or state changes. */
function logExcerpt(ws: Workspace, jobId: string): string {
  return readJobLog(ws, jobId).split('\n')
    .filter((l) => /checkpoint|savepoint|Restor|switched|fail|error|skipped/i.test(l))
    .slice(-15).join('\n');
}

/** Compares sorted line lists with a diff that tells lost records from replayed ones. */
function assertSameLines(actual: string[], expected: string[], what: string): void {
  if (actual.length !== expected.length || actual.some((l, i) => l !== expected[i])) {
    const count = (ls: string[]) => ls.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
    const a = count(actual);
    const e = count(expected);
    const missing = [...e].filter(([l, n]) => (a.get(l) ?? 0) < n).map(([l]) => l);
    const extra = [...a].filter(([l, n]) => (e.get(l) ?? 0) < n).map(([l, n]) => `${l} x${n}`);
    assert.fail(`${what}: ${actual.length} lines, an uninterrupted run gives ${expected.length}; ` +
      `missing (${missing.length}) ${JSON.stringify(missing.slice(0, 20))}; extra or repeated (${extra.length}) ${JSON.stringify(extra.slice(0, 20))}`);
  }
}

/** The test means something only if numbers were held back in list state when the savepoint was taken. */
async function assertBuffered(ws: Workspace, savepoint: string): Promise<void> {
  const dump = await flink(ws, ['state', savepoint, '--dump', 'buffer', '--operator', 'buffering']);
  assert.equal(dump.exitCode, 0, show(dump));
  const buffered = dump.stdout.split('\n').filter(Boolean).length;
  assert.ok(buffered > 0, `the savepoint ${savepoint} holds buffered numbers in list state:\n${dump.stdout}`);
}

/**
 * Scenario 1: `OperatorStateJob` run at p=2, savepointed and cancelled with a savepoint, restored at -p 3,
 * savepointed and cancelled again, and restored at -p 1 to the end. `extra` are more program arguments.
 */
async function operatorStateChain(ws: Workspace, extra: string[]): Promise<void> {
  const args = [...OP_ARGS, ...extra];
  const reference = referenceLines(OPERATOR_STATE_JOB, args);
  reference.catch(() => undefined); // awaited below; runs alongside the detached job
  const out = join(ws.dir, 'out');

  // Phase 1: p=2.
  const first = await runDetached(ws, OPERATOR_STATE_JOB, args, out, ['-p', '2']);
  await waitFor(() => committedLines(out).length >= 150, 20_000, 'committed output of the p=2 run');
  const sp = await flink(ws, ['savepoint', first]);
  assert.equal(sp.exitCode, 0, show(sp));
  const buffering = operatorOf(savepointPathFrom(sp.stdout), 'buffering');
  assert.equal(buffering.parallelism, 2);
  for (const s of buffering.subtasks) {
    assert.deepEqual(s.state.operatorStates, { buffer: 'SPLIT_DISTRIBUTE', 'seen-subtasks': 'UNION' }, 'operator state kinds in _metadata');
  }
  const sp1 = await cancelWithSavepoint(ws, first, join(ws.dir, 'sp-p2'));
  await assertBuffered(ws, sp1);
  const afterFirst = committedLines(out).length;
  assert.ok(afterFirst < COUNT, `cancelled part-way: ${afterFirst} lines committed`);

  // Phase 2: rescaled to p=3; every subtask must get the union state of both old ones.
  const second = await runDetached(ws, OPERATOR_STATE_JOB, args, out, ['-s', sp1, '-p', '3']);
  // Committed output grows with each checkpoint; a checkpoint that cannot be triggered is logged as skipped.
  const blocked = /Checkpoint triggering skipped: .*/;
  await waitFor(() => committedLines(out).length >= afterFirst + 150 || blocked.test(readJobLog(ws, second)), 20_000,
    'committed output of the p=3 run (or a skipped checkpoint)');
  const sp2a = await flink(ws, ['savepoint', second]);
  assert.equal(sp2a.exitCode, 0, `savepoint of the job restored at -p 3: ${show(sp2a)}\njob log:\n${logExcerpt(ws, second)}`);
  const sp2 = await cancelWithSavepoint(ws, second, join(ws.dir, 'sp-p3'));
  assert.equal(operatorOf(sp2, 'buffering').parallelism, 3);
  await assertBuffered(ws, sp2);
  assert.ok(committedLines(out).length < COUNT, 'the p=3 run was cancelled part-way');

  // Phase 3: p=1 to the end.
  const last = await flink(ws, ['run', '-s', sp2, '-p', '1', OPERATOR_STATE_JOB, ...withArgs(args, { output: out, rate: FAST })]);
  assert.equal(last.exitCode, 0, `restore at -p 1: ${show(last)}`);
  assert.match(last.stdout, /Job with JobID [0-9a-f]{32} has finished\./);

  const lines = committedLines(out);
  const data = lines.filter((l) => l.startsWith('data,'));
  const expected = (await reference).filter((l) => l.startsWith('data,'));
  // The uninterrupted run has every number exactly once; so must the interrupted one (splits neither re-read nor skipped).
  assertSameLines(expected, Array.from({ length: COUNT }, (_, n) => `data,${n}`).sort(), 'the reference run');
  assertSameLines(data, expected, 'numbers after p=2 -> 3 -> 1');

  // Union state: each new subtask saw every subtask of the deployment before it (and, through them, earlier ones).
  const seen = lines.filter((l) => l.startsWith('seen,'));
  const old2 = 'g0/s0of2 g0/s1of2';
  const old3 = `${old2} g1/s0of3 g1/s1of3 g1/s2of3`;
  const wanted = [0, 1, 2].map((i) => `seen,g1,s${i}of3,${old2}`).concat(`seen,g2,s0of1,${old3}`);
  assert.deepEqual(seen.filter((l) => !l.startsWith('seen,g0,')), wanted.sort(), `union state seen after the restores:\n${seen.join('\n')}`);
  for (const l of seen.filter((x) => x.startsWith('seen,g0,'))) assert.match(l, /^seen,g0,s[01]of2,$/);
}

describe('rescaling and recovery (e2e)', () => {
  test('operator list and union state, source following -p: p=2 -> savepoint, cancel -s -> -p 3 -> cancel -s -> -p 1: exact', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    await operatorStateChain(ws, []);
  });

  test('operator list and union state, source fixed at p=2: flatMap 2 -> 3 -> 1: exact', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    await operatorStateChain(ws, ['--source-parallelism', '2']);
  });

  test('keyed state: StateMachineExample -p 2 -> cancel -s -> -p 3 -> cancel -s -> -p 1: exact', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const reference = referenceLines(STATE_MACHINE_JOB, SM_ARGS);
    reference.catch(() => undefined);
    const out = join(ws.dir, 'out');

    const first = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out, ['-p', '2']);
    await waitFor(() => committedLines(out).length > 0, 20_000, 'committed output of the p=2 run');
    const sp1 = await cancelWithSavepoint(ws, first, join(ws.dir, 'sp-p2'));
    assert.equal(operatorOf(sp1, 'state-machine').parallelism, 2);
    const afterFirst = committedLines(out).length;

    const second = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out, ['-s', sp1, '-p', '3']);
    await waitFor(() => committedLines(out).length > afterFirst, 20_000, 'committed output of the p=3 run');
    const sp2 = await cancelWithSavepoint(ws, second, join(ws.dir, 'sp-p3'));
    assert.equal(operatorOf(sp2, 'state-machine').parallelism, 3);
    const expected = await reference;
    assert.ok(committedLines(out).length < expected.length, 'the p=3 run was cancelled part-way');

    const last = await flink(ws, ['run', '-s', sp2, '-p', '1', STATE_MACHINE_JOB, ...withArgs(SM_ARGS, { output: out, rate: FAST })]);
    assert.equal(last.exitCode, 0, `restore at -p 1: ${show(last)}`);
    assertSameLines(committedLines(out), expected, 'StateMachineExample after p=2 -> 3 -> 1');
  });

  test('a savepoint does not restore with another pipeline.max-parallelism (exit 7, nothing written); with the same it does', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const reference = referenceLines(STATE_MACHINE_JOB, SM_ARGS);
    reference.catch(() => undefined);
    const out = join(ws.dir, 'out');

    const jobId = await runDetached(ws, STATE_MACHINE_JOB, SM_ARGS, out);
    await waitFor(() => committedLines(out).length > 0, 20_000, 'committed output');
    const sp = await cancelWithSavepoint(ws, jobId, join(ws.dir, 'sp'));
    assert.equal(loadSnapshot(sp).metadata.maxParallelism, 128);

    const before = { out: listTree(out), sp: listTree(sp), checkpoints: listTree(ws.checkpointsDir).filter((f) => !f.includes('sqlite')) };
    const args = withArgs(SM_ARGS, { output: out, rate: FAST });
    const dry = await flink(ws, ['state', sp, '--dry-run', STATE_MACHINE_JOB, '-D', 'pipeline.max-parallelism=256', '--', ...args]);
    assert.equal(dry.exitCode, 7, `dry run with another max parallelism: ${show(dry)}`);
    const r = await flink(ws, ['run', '-s', sp, '-D', 'pipeline.max-parallelism=256', STATE_MACHINE_JOB, ...args]);
    const line = assertOneLineError(r, 7);
    assert.match(line, /max parallelism/i);
    assert.match(line, /\b256\b/);
    assert.match(line, /\b128\b/);
    assert.deepEqual(listTree(out), before.out, 'the refused restore wrote no output');
    assert.deepEqual(listTree(sp), before.sp, 'the savepoint is left as it was');
    assert.deepEqual(listTree(ws.checkpointsDir).filter((f) => !f.includes('sqlite')), before.checkpoints, 'the refused restore wrote no checkpoint');

    // The same savepoint, with the max parallelism it was taken with, restores (rescaled, too) to the exact result.
    const ok = await flink(ws, ['run', '-s', sp, '-p', '3', '-D', 'pipeline.max-parallelism=128', STATE_MACHINE_JOB, ...args]);
    assert.equal(ok.exitCode, 0, show(ok));
    assertSameLines(committedLines(out), await reference, 'restored with the same max parallelism');
  });

  test('every keyed state kind through a failure restart: exit 0, exact output, restored from a checkpoint', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    // 1500 events at 500/s, failing at the first event from 900 on that follows a completed checkpoint.
    const args = ['--count', '1500', '--rate', '500', '--keys', '7', '--fail-at', '900'];
    const reference = referenceLines(STATE_KINDS_FAIL_ONCE_JOB, withArgs(args, { 'fail-at': '-1' }));
    reference.catch(() => undefined);

    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', STATE_KINDS_FAIL_ONCE_JOB, ...withArgs(args, { output: out })]);
    assert.equal(r.exitCode, 0, show(r));
    assert.match(r.stdout, /has finished\./);
    const jobId = jobIdFrom(r.stdout);
    const log = readJobLog(ws, jobId);
    const failedAt = /Injected failure at record (\d+)/.exec(log);
    assert.ok(failedAt && Number(failedAt[1]) >= 900, 'the failure happened');
    assert.match(log, /switched from state RUNNING to RESTARTING/, `the job restarted:\n${logExcerpt(ws, jobId)}`);
    const restored = /Restoring job [0-9a-f]{32} from checkpoint (\d+) at /.exec(log);
    assert.ok(restored, `the restart restored from a completed checkpoint:\n${logExcerpt(ws, jobId)}`);
    assert.ok(Number(restored[1]) >= 1);
    assert.match(log, /switched from state RESTARTING to RUNNING/);
    const expected = await reference;
    assert.equal(expected.length, 1500);
    assertSameLines(committedLines(out), expected, 'state kinds after the failure restart');
  });
});
