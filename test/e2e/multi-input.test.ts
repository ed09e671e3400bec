/**
 * More than one input, end to end through the CLI: union of sources with different parallelisms and
 * partitionings, connect with co-functions, and a KeyedCoProcessFunction with keyed state and timers.
 * Failures (a user function throwing → restart) and SIGKILL of the detached cluster followed by a
 * rescaled restore must end with exactly the committed output of an uninterrupted run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ROOT, cleanup, committedLines, createWorkspace, flink, jobIdFrom, killCluster, latestCheckpoint, readJobLog, readSnapshot, referenceLines,
  show, waitFor, waitForStatus, withArgs, type Workspace,
} from './helpers.js';

const UNION_JOB = join(ROOT, 'test', 'jobs', 'UnionJob.ts');
const CO_PROCESS_JOB = join(ROOT, 'test', 'jobs', 'KeyedCoProcessJob.ts');
const CONNECT_JOB = join(ROOT, 'test', 'jobs', 'ConnectJob.ts');

/** ~20 s per source at the slow rate: still running when killed a few checkpoints in, even on a loaded machine. */
const ARGS = ['--count', '3000'];
const SLOW = '150';

async function assertExact(output: string, job: string, args: string[]): Promise<void> {
  const expected = await referenceLines(job, args);
  const actual = committedLines(output);
  const missing = expected.filter((l) => !actual.includes(l));
  const extra = actual.filter((l) => !expected.includes(l));
  assert.deepEqual(actual, expected, `committed ${actual.length} lines, an uninterrupted run ${expected.length}; missing ${JSON.stringify(missing.slice(0, 10))}; extra ${JSON.stringify(extra.slice(0, 10))}`);
}

/** `run -d` at the slow rate; waits for two completed checkpoints and some committed output, then SIGKILLs the cluster. */
async function runAndKill(ws: Workspace, job: string, output: string): Promise<string> {
  const r = await flink(ws, ['run', '-d', job, ...withArgs(ARGS, { output, rate: SLOW })]);
  assert.equal(r.exitCode, 0, show(r));
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING', 20_000);
  await waitFor(() => {
    const chk = latestCheckpoint(ws, jobId);
    return chk && Number(chk.split('chk-')[1]) >= 2 && committedLines(output).length > 0;
  }, 30_000, `two checkpoints and committed output of job ${jobId}`);
  await killCluster(ws, jobId, 'SIGKILL');
  const chk = latestCheckpoint(ws, jobId);
  assert.ok(chk, 'a retained checkpoint survives the kill');
  return chk;
}

async function restoreRescaled(ws: Workspace, chk: string, job: string, output: string): Promise<void> {
  const r = await flink(ws, ['run', '-s', chk, '-p', '3', job, ...withArgs(ARGS, { output, rate: '1000000' })]);
  assert.equal(r.exitCode, 0, `restore from ${chk}: ${show(r)}`);
  assert.match(r.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
}

/**
 * An attached run whose user function throws once at record 700 (~1.75 s in, after checkpoints every 500 ms)
 * restarts and commits exactly what a run without the failure commits; returns those lines.
 */
async function failOnceExact(t: { after(fn: () => Promise<void>): void }, job: string, failure: RegExp): Promise<string[]> {
  const ws = createWorkspace();
  t.after(() => cleanup(ws));
  const args = ['--count', '1000', '--rate', '400', '--fail-at', '700'];
  const reference = referenceLines(job, withArgs(args, { 'fail-at': '-1' }));
  const out = join(ws.dir, 'out');
  const r = await flink(ws, ['run', job, ...withArgs(args, { output: out })], { timeoutMs: 90_000 });
  assert.equal(r.exitCode, 0, show(r));
  assert.match(readJobLog(ws, jobIdFrom(r.stdout)), failure, 'the failure did happen and was recovered from');
  const lines = await reference;
  assert.deepEqual(committedLines(out), lines);
  return lines;
}

describe('union (e2e)', () => {
  test('three sources (parallelism 1, 2, 3; rebalanced, forward, keyed) unioned: a user function failing once restarts, output exact', { timeout: 120_000 }, async (t) => {
    const lines = await failOnceExact(t, UNION_JOB, /Injected failure at record 700/);
    assert.equal(lines.length, 2 * 3000, 'every record of the three sources, and its count');
  });

  test('SIGKILL of the detached cluster, restore from its latest chk-N at -p 3: exact', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const chk = await runAndKill(ws, UNION_JOB, out);
    const counter = readSnapshot(chk).operators.find((o) => o.uid === 'counter');
    assert.deepEqual(counter?.keyedStates, ['count']);
    await restoreRescaled(ws, chk, UNION_JOB, out);
    await assertExact(out, UNION_JOB, ARGS);
  });
});

describe('connect (e2e)', () => {
  test('CoMap, CoFlatMap, CoProcess and a keyed RichCoFlatMap with state see every record of both inputs', { timeout: 60_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const n = 30;
    const r = await flink(ws, ['run', CONNECT_JOB, '--count', String(n)]);
    assert.equal(r.exitCode, 0, show(r));
    const lines = r.stdout.split('\n').map((l) => l.replace(/^\d+> /, '')).filter((l) => /^(map|flatMap|process|keyed)/.test(l)).sort();
    const words = ['a', 'bb', 'ccc', 'dddd'];
    const nums = [...Array(n).keys()];
    const perKey = new Map<number, number>();
    for (const k of [...nums.map((i) => i % 3), ...words.map((w) => w.length % 3)]) perKey.set(k, (perKey.get(k) ?? 0) + 1);
    const expected = [
      ...nums.map((i) => `map1,${i}`), ...words.map((w) => `map2,${w}`),
      ...nums.filter((i) => i % 2 === 0).map((i) => `flatMap1,${i}`), ...words.flatMap((w) => [...w].map((c) => `flatMap2,${c}`)),
      ...nums.map((i) => `process1,${i},undefined`), ...words.map((w) => `process2,${w}`),
      ...[...perKey].flatMap(([k, c]) => Array.from({ length: c }, (_, j) => `keyed,${k},${j + 1}`)),
      ...nums.map((i) => `keyed-number,${i % 3}`), ...words.map((w) => `keyed-word,${w.length % 3}`),
    ].sort();
    assert.deepEqual(lines, expected);
  });

  test('KeyedCoProcessFunction: a failure restarts from the checkpoint with state and timers, output exact', { timeout: 120_000 }, async (t) => {
    const lines = await failOnceExact(t, CO_PROCESS_JOB, /Injected failure at order 700/);
    assert.equal(lines.filter((l) => l.startsWith('matched,')).length, 800);
    assert.deepEqual(lines.filter((l) => l.startsWith('unmatched,')), Array.from({ length: 200 }, (_, i) => `unmatched,${i * 5},${i * 5},order ${i * 15}`).sort());
  });

  test('KeyedCoProcessFunction: SIGKILL, restore from the latest chk-N at -p 3 (state and timers rescaled): exact', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const chk = await runAndKill(ws, CO_PROCESS_JOB, out);
    const matcher = readSnapshot(chk).operators.find((o) => o.uid === 'matcher');
    assert.ok(matcher, 'the matcher has state in the checkpoint');
    for (const s of ['_timer_service/event', 'order', 'payment']) assert.ok(matcher.keyedStates.includes(s), `${s} in ${matcher.keyedStates}`);
    await restoreRescaled(ws, chk, CO_PROCESS_JOB, out);
    await assertExact(out, CO_PROCESS_JOB, ARGS);
  });
});
