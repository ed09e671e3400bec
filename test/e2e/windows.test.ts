/**
 * Event-time windows end to end: each window kind (tumbling, sliding, session) over out-of-order data,
 * interrupted (SIGKILL of the detached cluster, a user-function failure, a savepoint and a rescaled
 * restore) and resumed; the committed results and the late-data side output must equal those of an
 * uninterrupted run. `stop --drain` fires every window into the final savepoint.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ROOT, checkpoints, cleanup, committedLines, createWorkspace, flink, jobIdFrom, jobStatus, killCluster, latestCheckpoint, readJobLog,
  readSnapshot, recordsEmittedAt, savepointPathFrom, show, waitFor, waitForStatus, type Workspace,
} from './helpers.js';
import { windowModel } from './models.js';

const WINDOW_JOB = join(ROOT, 'test', 'jobs', 'WindowJob.ts');
const COUNT = 3000;
const SLOW = '100'; // ~30 s: still running when killed or stopped a few checkpoints in, even on a loaded machine
const FAST = '1000000';
/** Attached runs: generous, the machine running the suite may be loaded. */
const ATTACHED = { timeoutMs: 150_000 };

interface Output {
  main: string[];
  late: string[];
}

function read(out: string): Output {
  return { main: committedLines(out), late: committedLines(`${out}-late`) };
}

/**
 * What an uninterrupted run commits: the window model of test/e2e/models.ts, computed from the job's events with
 * Flink's event-time semantics — not the engine's own run.
 */
function reference(kind: string): Promise<Output> {
  return Promise.resolve(windowModel(kind, COUNT));
}

async function assertExact(kind: string, out: string): Promise<void> {
  const expected = await reference(kind);
  const actual = read(out);
  assert.ok(expected.main.length > 100 && expected.late.length > 10, `the reference has windows and late data: ${expected.main.length}/${expected.late.length}`);
  const missing = expected.main.filter((l) => !actual.main.includes(l));
  const extra = actual.main.filter((l) => !expected.main.includes(l));
  assert.deepEqual(actual.main, expected.main, `${kind}: missing ${JSON.stringify(missing.slice(0, 5))}, extra ${JSON.stringify(extra.slice(0, 5))}`);
  assert.deepEqual(actual.late, expected.late, `${kind}: late data`);
}

function args(kind: string, out: string, rate: string): string[] {
  return ['--kind', kind, '--count', String(COUNT), '--output', out, '--rate', rate];
}

async function runDetached(ws: Workspace, kind: string, out: string): Promise<string> {
  const r = await flink(ws, ['run', '-d', WINDOW_JOB, ...args(kind, out, SLOW)]);
  assert.equal(r.exitCode, 0, show(r));
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING', 60_000);
  return jobId;
}

async function waitForCheckpoints(ws: Workspace, jobId: string, n: number): Promise<void> {
  await waitFor(() => {
    const latest = checkpoints(ws, jobId).at(-1);
    return latest && Number(basename(latest).slice(4)) >= n;
  }, 60_000, `${n} checkpoints of ${jobId}`);
}

describe('event-time windows (e2e)', () => {
  test('tumbling windows with allowed lateness: SIGKILL of the cluster, restore from the latest chk-N: exact results and late data', { timeout: 300_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, 'tumbling', out);
    await waitForCheckpoints(ws, jobId, 3);
    await waitFor(() => committedLines(out).length > 0, 60_000, 'committed windows');
    await killCluster(ws, jobId, 'SIGKILL');
    const chk = latestCheckpoint(ws, jobId);
    assert.ok(chk);
    const snap = readSnapshot(chk);
    const windows = snap.operators.find((o) => o.uid === 'windows');
    assert.ok(windows && windows.files.length > 0, 'the window operator has state in the checkpoint');
    const before = read(out);
    assert.ok(before.main.length < (await reference('tumbling')).main.length, 'killed mid-run');
    const r = await flink(ws, ['run', '-s', chk, WINDOW_JOB, ...args('tumbling', out, FAST)], ATTACHED);
    assert.equal(r.exitCode, 0, show(r));
    await assertExact('tumbling', out);
  });

  test('sliding windows (aggregate + process): a user-function failure restarts from a checkpoint: exact', { timeout: 300_000 }, async (t) => {
    const ws = createWorkspace({ 'execution.checkpointing.interval': '300 ms' });
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', WINDOW_JOB, ...args('sliding', out, '600'), '--fail-at', '1700'], ATTACHED);
    assert.equal(r.exitCode, 0, show(r));
    // The scenario happened: the function failed (after a completed checkpoint, by construction) and the job
    // restarted from a checkpoint rather than running through.
    const log = readJobLog(ws, jobIdFrom(r.stdout));
    assert.match(log, /Injected failure at event \d+/, 'the user function failed');
    assert.match(log, /Restoring job [0-9a-f]{32} from checkpoint \d+/, 'the restart restored a checkpoint');
    await assertExact('sliding', out);
  });

  test('session windows: stop with a savepoint, restore at another parallelism (-p 3): exact', { timeout: 300_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, 'session', out);
    await waitForCheckpoints(ws, jobId, 2);
    await waitFor(() => committedLines(out).length > 0, 60_000, 'committed sessions');
    const s = await flink(ws, ['stop', '-p', join(ws.dir, 'sp'), jobId], ATTACHED);
    assert.equal(s.exitCode, 0, show(s));
    const sp = savepointPathFrom(s.stdout);
    const before = read(out);
    const r = await flink(ws, ['run', '-p', '3', '-s', sp, WINDOW_JOB, ...args('session', out, FAST)], ATTACHED);
    assert.equal(r.exitCode, 0, show(r));
    assert.ok(read(out).main.length > before.main.length);
    await assertExact('session', out);
  });

  test('stop --drain: MAX_WATERMARK fires every pending window before the savepoint', { timeout: 300_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const jobId = await runDetached(ws, 'session', out);
    await waitFor(() => committedLines(out).length > 0, 60_000, 'committed sessions');
    const s = await flink(ws, ['stop', '--drain', '-p', join(ws.dir, 'sp'), jobId], ATTACHED);
    assert.equal(s.exitCode, 0, show(s));
    // Every event the source emitted before the savepoint is in exactly one fired session or in the late output.
    const { main, late } = read(out);
    const values = [
      ...main.flatMap((l) => l.split(',')[5].split(' ').map(Number)),
      ...late.map((l) => Number(l.split(',')[3])),
    ].sort((a, b) => a - b);
    // n from the final savepoint's source position, not from the output: a lost last commit shows.
    const n = recordsEmittedAt(savepointPathFrom(s.stdout), COUNT);
    assert.ok(n > 0 && n < COUNT, `stopped mid-run: at event ${n}`);
    assert.deepEqual(values, Array.from({ length: n }, (_, i) => i), `events 0..${n - 1} (the savepoint's source position), each once`);
  });

  test('a failure during stop --drain: the stop fails in one line, no savepoint completes, the job fails over; a second drain is exact', { timeout: 300_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const marker = join(ws.dir, 'drain-failed');
    const r = await flink(ws, ['run', '-d', WINDOW_JOB, ...args('session', out, SLOW), '--fail-on-drain', marker]);
    assert.equal(r.exitCode, 0, show(r));
    const jobId = jobIdFrom(r.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 60_000);
    await waitFor(() => committedLines(out).length > 0, 60_000, 'committed sessions');
    const failedTarget = join(ws.dir, 'sp-failed');
    const s = await flink(ws, ['stop', '--drain', '-p', failedTarget, jobId], ATTACHED);
    assert.notEqual(s.exitCode, 0, show(s));
    assert.ok(existsSync(marker), 'the failure happened while draining');
    const lines = s.stderr.split('\n').filter((l) => l.startsWith('flink: '));
    assert.equal(lines.length, 1, show(s));
    assert.ok(!s.stderr.includes('    at '), 'no stack trace');
    // No savepoint of that stop completed: nothing under its target holds a _metadata.
    const completed = existsSync(failedTarget) ? readdirSync(failedTarget).filter((d) => existsSync(join(failedTarget, d, '_metadata'))) : [];
    assert.deepEqual(completed, [], 'no completed savepoint from the failed stop');
    // The job failed over (restart strategy) and runs again from its latest checkpoint.
    await waitFor(() => /Restoring job [0-9a-f]{32} from checkpoint \d+/.test(readJobLog(ws, jobId)), 60_000, 'a restore after the failed drain');
    await waitForStatus(ws, jobId, 'RUNNING', 60_000);
    const again = await flink(ws, ['stop', '--drain', '-p', join(ws.dir, 'sp'), jobId], ATTACHED);
    assert.equal(again.exitCode, 0, show(again));
    const { main, late } = read(out);
    const values = [
      ...main.flatMap((l) => l.split(',')[5].split(' ').map(Number)),
      ...late.map((l) => Number(l.split(',')[3])),
    ].sort((a, b) => a - b);
    const n = recordsEmittedAt(savepointPathFrom(again.stdout), COUNT);
    assert.ok(n > 0, `stopped at event ${n}`);
    assert.deepEqual(values, Array.from({ length: n }, (_, i) => i), `events 0..${n - 1} (the final savepoint's source position), each once`);
  });

  test('examples/WindowWordCount.ts: counts per word and tumbling window, long words to a side output with their timestamps', { timeout: 200_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', join(ROOT, 'examples', 'WindowWordCount.ts'), '--output', out], ATTACHED);
    assert.equal(r.exitCode, 0, show(r));
    const lines = committedLines(out);
    for (const l of ['[0,3000) to,3', '[3000,6000) to,4', '[6000,9000) to,4', '[9000,12000) to,2', '[0,3000) be,2']) assert.ok(lines.includes(l), `${l} in ${JSON.stringify(lines)}`);
    // Every word of the sample is counted once over all windows: 87 words, 69 (window, word) pairs.
    assert.equal(lines.reduce((n, l) => n + Number(l.split(',').at(-1)), 0), 87);
    assert.equal(lines.length, 69);
    assert.deepEqual(committedLines(`${out}-long`), ['consummation@7000', 'outrageous@2000']);
  });
});

describe('idle inputs (e2e)', () => {
  const IDLE_JOB = join(ROOT, 'test', 'jobs', 'IdleSourceJob.ts');
  const expected = Array.from({ length: 20 }, (_, w) => `window,${w * 100},10`).sort();

  for (const idleness of [500, 0]) {
    test(idleness > 0
      ? 'withIdleness: a source subtask without events goes idle, and the windows fire while it waits'
      : 'without idleness a source subtask without events holds every window back until it finishes', { timeout: 300_000 }, async (t) => {
      const ws = createWorkspace();
      t.after(() => cleanup(ws));
      const out = join(ws.dir, 'out');
      const releaseFile = join(ws.dir, 'release');
      const r = await flink(ws, ['run', '-d', IDLE_JOB, '--output', out, '--release', releaseFile, '--idleness', String(idleness)]);
      assert.equal(r.exitCode, 0, show(r));
      const jobId = jobIdFrom(r.stdout);
      await waitForStatus(ws, jobId, 'RUNNING', 60_000);
      if (idleness > 0) {
        // All windows committed while the idle subtask is still waiting for the release file.
        await waitFor(() => committedLines(out).length === expected.length, 60_000, 'every window committed');
      } else {
        // Checkpoints complete (the sink commits what it has), yet no window has fired.
        await waitForCheckpoints(ws, jobId, 4);
        assert.deepEqual(committedLines(out), []);
      }
      // One look, not a wait: had the job finished, this fails.
      assert.equal((await jobStatus(ws, jobId))?.status, 'RUNNING', 'the idle subtask still holds the job');
      writeFileSync(releaseFile, '');
      await waitForStatus(ws, jobId, 'FINISHED', 60_000);
      assert.deepEqual(committedLines(out), expected);
    });
  }
});
