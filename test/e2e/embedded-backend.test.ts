/**
 * The embedded on-disk backend through the real CLI, with every keyed state kind (StateKindsJob):
 * incremental checkpoints in shared/ that later ones refer to, a failure restart from them, canonical
 * savepoints restored on the heap backend (rescaled), native savepoints, and the restore modes claim
 * and no_claim deciding who deletes a restored checkpoint. Each run ends with exactly the output of an
 * uninterrupted run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadSnapshot, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';
import {
  ROOT, checkpoints, cleanup, committedLines, createWorkspace, flink, jobIdFrom, readJobLog, recordsEmittedAt, referenceLines, savepointPathFrom, show,
  waitFor,
  waitForStatus, withArgs, type Workspace,
} from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'StateKindsJob.ts');
const TIMERS_JOB = join(ROOT, 'test', 'jobs', 'TimersJob.ts');
const ARGS = ['--count', '3000', '--keys', '12'];
/** 3000 events at 60/s: ~50 s, so the CLI (slow on a loaded machine) reaches the job while it runs. */
const SLOW = '60';
const FAST = '1000000';
const EMBEDDED = { 'state.backend.type': 'embedded', 'execution.checkpointing.incremental': 'true', 'state.checkpoints.num-retained': '2' };

/** The keyed state files of a snapshot's subtasks, relative to its folder. */
function keyedFiles(md: CheckpointMetadata): { file: string; delta: boolean }[] {
  return md.operators.flatMap((o) => o.subtasks.flatMap((s) => (s.state.keyedStateFiles ?? []).map((f) => ({ file: f.file, delta: f.delta === true }))));
}

/** Shared files that the retained checkpoints of a job refer to. */
function referenced(ws: Workspace, jobId: string): Set<string> {
  const out = new Set<string>();
  for (const c of checkpoints(ws, jobId)) for (const f of keyedFiles(loadSnapshot(c).metadata)) out.add(resolve(c, f.file));
  return out;
}

function logTail(ws: Workspace, jobId: string): string {
  return readJobLog(ws, jobId).split('\n').filter((l) => !/Triggering|Completed checkpoint|Deleted/.test(l)).slice(-25).join('\n');
}

/** StateKindsJob lines carry their event index second. */
const indexOf = (line: string) => Number(line.split(',')[1]);

/**
 * Asserts that `got` is exactly the expected lines of the events from..from+n-1 for some n — each once, none
 * missing in between (what a sink commits up to a checkpoint of a parallelism-1 source) — and returns n. With
 * `toEnd`, n must reach the last event.
 */
function assertSpan(got: string[], expected: string[], from: number, what: string, toEnd = false): number {
  const n = toEnd ? expected.filter((l) => indexOf(l) >= from).length : got.length;
  const span = expected.filter((l) => indexOf(l) >= from && indexOf(l) < from + n);
  assert.equal(got.length, span.length, `${what}: ${got.length} lines, the events ${from}..${from + n - 1} make ${span.length}`);
  assert.deepEqual(got, span, `${what}: exactly the events ${from}..${from + n - 1}, each once`);
  return n;
}

async function runDetached(ws: Workspace, output: string, extra: string[] = []): Promise<string> {
  const r = await flink(ws, ['run', '-d', ...extra, JOB, ...withArgs(ARGS, { output, rate: SLOW })]);
  assert.equal(r.exitCode, 0, show(r));
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING', 20_000);
  return jobId;
}

async function restoreToEnd(ws: Workspace, from: string, output: string, extra: string[] = []): Promise<string> {
  const r = await flink(ws, ['run', '-s', from, ...extra, JOB, ...withArgs(ARGS, { output, rate: FAST })]);
  assert.equal(r.exitCode, 0, `restore ${extra.join(' ')}: ${show(r)}`);
  assert.match(r.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
  return jobIdFrom(r.stdout);
}

describe('embedded state backend (e2e)', () => {
  test('incremental checkpoints refer to shared files; canonical savepoint → heap backend at -p 3; native savepoint → embedded', { timeout: 180_000 }, async (t) => {
    const ws = createWorkspace(EMBEDDED);
    t.after(() => cleanup(ws));
    const reference = referenceLines(JOB, ARGS);
    reference.catch(() => undefined);
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, out);
    // Several checkpoints on top of each other: the latest refers to files an earlier one wrote.
    const latest = await waitFor(() => checkpoints(ws, jobId).find((c) => keyedFiles(loadSnapshot(c).metadata).some((f) => f.delta)), 30_000, 'an incremental checkpoint');
    const files = keyedFiles(loadSnapshot(latest).metadata);
    assert.ok(files.every((f) => f.file.startsWith('../shared/')), JSON.stringify(files));
    assert.ok(files.some((f) => !f.delta) && files.some((f) => f.delta));
    // flink checkpoint --full: every subtask writes a full file, though the backend is incremental.
    const forced = await flink(ws, ['checkpoint', '--full', jobId, '--json']);
    assert.equal(forced.exitCode, 0, show(forced));
    const forcedFiles = keyedFiles(loadSnapshot(JSON.parse(forced.stdout).path.replace(/^file:/, '')).metadata);
    assert.ok(forcedFiles.length > 0 && forcedFiles.every((f) => !f.delta), JSON.stringify(forcedFiles));

    const native = await flink(ws, ['savepoint', '--type', 'native', jobId, join(ws.dir, 'native')]);
    assert.equal(native.exitCode, 0, `${show(native)}\n${logTail(ws, jobId)}`);
    const nativeSp = savepointPathFrom(native.stdout);
    assert.equal(loadSnapshot(nativeSp).metadata.format, 'NATIVE');
    assert.ok(keyedFiles(loadSnapshot(nativeSp).metadata).every((f) => !f.file.includes('/')), 'a native savepoint is self-contained');

    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'canonical'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const canonical = savepointPathFrom(c.stdout);
    await waitForStatus(ws, jobId, 'CANCELED', 15_000);
    const md = loadSnapshot(canonical).metadata;
    assert.equal(md.format, 'CANONICAL');
    assert.equal(keyedFiles(md).length, 0, 'canonical: key groups in the state files, as the heap backend writes them');
    // Retained on cancellation: nothing in shared/ that no retained checkpoint refers to.
    const shared = join(ws.checkpointsDir, jobId, 'shared');
    const left = readdirSync(shared).map((f) => join(shared, f));
    const used = referenced(ws, jobId);
    assert.deepEqual(left.filter((f) => !used.has(f)), [], 'unreferenced shared files were deleted');
    for (const f of used) assert.ok(existsSync(f), `${f} (referenced) exists`);

    const atCancel = committedLines(out);
    const viaHeap = join(ws.dir, 'out-heap');
    cpSync(out, viaHeap, { recursive: true });
    await restoreToEnd(ws, canonical, viaHeap, ['-p', '3', '-D', 'state.backend.type=hashmap']);
    const viaNative = join(ws.dir, 'out-native');
    await restoreToEnd(ws, nativeSp, viaNative);
    const expected = await reference;
    assert.deepEqual(committedLines(viaHeap), expected, 'canonical savepoint of the embedded backend restored on the heap backend, rescaled');
    // The native savepoint was taken before the cancel: its continuation (own output folder) repeats some of
    // what the cancelled run committed after it, and together they are exactly an uninterrupted run.
    // Exactly: what the first run committed is the events 0..q-1, the continuation the events from the native
    // savepoint's source position to the end, and the savepoint is not after the last commit (nothing skipped).
    const q = assertSpan(atCancel, expected, 0, 'committed before the cancel');
    const p = recordsEmittedAt(nativeSp, 3000);
    assertSpan(committedLines(viaNative), expected, p, 'native savepoint restored on the embedded backend', true);
    assert.ok(p <= q, `the native savepoint (event ${p}) is not after the last commit (event ${q})`);
  });

  test('an incremental checkpoint restores rescaled, a failure restarts from one; claim deletes the restored checkpoint once subsumed, no_claim never does', { timeout: 180_000 }, async (t) => {
    const ws = createWorkspace(EMBEDDED);
    t.after(() => cleanup(ws));
    const reference = referenceLines(JOB, ARGS);
    reference.catch(() => undefined);
    // --fail-at: the first attempt throws part-way and the job restarts from its latest (incremental) checkpoint.
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, out, []);
    // Two retained checkpoints, one of them incremental (a delta on top of a full file).
    await waitFor(() => checkpoints(ws, jobId).length >= 2 && checkpoints(ws, jobId).some((x) => keyedFiles(loadSnapshot(x).metadata).some((f) => f.delta)), 30_000, 'two retained checkpoints, one incremental');
    const c = await flink(ws, ['cancel', jobId]);
    assert.equal(c.exitCode, 0, `${show(c)}\n${logTail(ws, jobId)}`);
    await waitForStatus(ws, jobId, 'CANCELED', 15_000);
    const retained = checkpoints(ws, jobId);
    const restoredFrom = retained.find((x) => keyedFiles(loadSnapshot(x).metadata).some((f) => f.delta));
    assert.ok(restoredFrom, `an incremental checkpoint among ${retained.join(', ')}`);
    const older = retained.find((x) => x !== restoredFrom)!; // the other retained one
    const restoredAt = recordsEmittedAt(restoredFrom, 3000); // read now: claim deletes it later

    // no_claim: the restored files stay. The restored checkpoint may be the older one, so the continuation
    // (own output folder) repeats what the first job committed after it; together they are exactly an
    // uninterrupted run, and every line depends on all restored state.
    const atCancel = committedLines(out);
    const outNoClaim = join(ws.dir, 'out-no-claim');
    const failing = withArgs(ARGS, { output: outNoClaim, rate: '400', 'fail-at': '2500' });
    // Rescaled 2 → 3: every new subtask reads its key groups from each file of the chain.
    const r1 = await flink(ws, ['run', '-s', restoredFrom, '-rm', 'no_claim', '-p', '3', JOB, ...failing]);
    assert.equal(r1.exitCode, 0, show(r1));
    const job1 = jobIdFrom(r1.stdout);
    assert.match(readJobLog(ws, job1), /Restoring job .* from checkpoint/, 'the injected failure restarted the job from a checkpoint');
    assert.ok(existsSync(join(restoredFrom, '_metadata')) && existsSync(join(older, '_metadata')), 'no_claim leaves the restored checkpoints alone');
    for (const f of referenced(ws, jobId)) assert.ok(existsSync(f));
    const expected = await reference;
    const q = assertSpan(atCancel, expected, 0, 'committed before the cancel');
    assertSpan(committedLines(outNoClaim), expected, restoredAt, 'no_claim restore, rescaled, with a failure restart', true);
    assert.ok(restoredAt <= q, `the restored checkpoint (event ${restoredAt}) is not after the last commit (event ${q})`);

    // claim: the restored checkpoint belongs to the new job and goes once newer ones subsume it.
    const job2 = await runDetached(ws, join(ws.dir, 'out-claim'), ['-s', restoredFrom, '--restoreMode', 'claim']);
    await waitFor(() => !existsSync(restoredFrom), 30_000, 'the claimed checkpoint deleted once subsumed');
    assert.match(readJobLog(ws, job2), /Claimed checkpoint/);
    assert.ok(existsSync(join(older, '_metadata')), 'the other retained checkpoint of the first job was not claimed');
    for (const f of referenced(ws, jobId)) assert.ok(existsSync(f), `${f}: still used by the other retained checkpoint`);
    const cancel2 = await flink(ws, ['cancel', job2]);
    assert.equal(cancel2.exitCode, 0, show(cancel2));
    await waitForStatus(ws, job2, 'CANCELED', 15_000);
    // The claim run's output: exactly the events from the claimed checkpoint on, up to its last commit (it
    // committed, since newer checkpoints completed and subsumed the claimed one).
    const claimed = assertSpan(committedLines(join(ws.dir, 'out-claim')), expected, restoredAt, 'claim restore');
    assert.ok(claimed > 0, 'the claim run committed output');

    const bad = await flink(ws, ['run', '-s', older, '-rm', 'legacy', JOB, ...ARGS]);
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /legacy.*removed/);
  });

  test('timers pending in a native savepoint of the embedded backend fire after the restore', { timeout: 180_000 }, async (t) => {
    const ws = createWorkspace(EMBEDDED);
    t.after(() => cleanup(ws));
    const KEYS = 20;
    const out = join(ws.dir, 'out');
    // 30 s of input and timers due 20 s after a key is first seen: the CLI is slow on a loaded machine.
    const args = ['--output', out, '--count', '30000', '--rate', '1000', '--delay', '20000', '--keys', String(KEYS)];
    const run = await flink(ws, ['run', '-d', '-D', 'execution.checkpointing.interval=200 ms', TIMERS_JOB, ...args]);
    assert.equal(run.exitCode, 0, show(run));
    const jobId = jobIdFrom(run.stdout);
    await waitForStatus(ws, jobId, 'RUNNING');
    await waitFor(() => checkpoints(ws, jobId).length >= 2, 10_000, 'checkpoints before the timers are due');
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), '--type', 'native', jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const sp = savepointPathFrom(c.stdout);
    assert.equal(loadSnapshot(sp).metadata.format, 'NATIVE');
    // Self-contained: its files (a copy of the last checkpoint's chain plus a delta, or one full file when
    // the task had not yet heard of a completed checkpoint) are all in its own folder.
    assert.ok(keyedFiles(loadSnapshot(sp).metadata).every((f) => !f.file.includes('/')));
    const before = committedLines(out);
    assert.ok(!before.some((l) => l.startsWith('ptimer,')), 'no processing-time timer fired before the savepoint');

    const restored = await flink(ws, ['run', '-s', sp, TIMERS_JOB, ...args]);
    assert.equal(restored.exitCode, 0, show(restored));
    const lines = committedLines(out); // attached: committed when it returns
    const expected: string[] = [];
    for (let k = 0; k < KEYS; k++) expected.push(`seen,${k}`, `ptimer,${k}`, `etimer,${k},${30000 / KEYS},1000`);
    assert.deepEqual(lines, expected.sort());
  });
});
