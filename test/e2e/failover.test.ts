/**
 * Failover edge cases and several jobs at once, through the real CLI: restart attempts exhausted (and just
 * enough), a savepoint and a cancel requested while the job is RESTARTING, and two detached jobs sharing one index with REST
 * ports from one `rest.bind-port` range, each reached by `list`, `savepoint` and `cancel`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  FAIL_ONCE_JOB, ROOT, assertOneLineError, cleanup, committedLines, createWorkspace, flink, jobIdFrom, listJobs, readJobLog, readSnapshot,
  referenceLines, savepointPathFrom, show, waitFor, waitForStatus,
} from './helpers.js';

const ARGS = ['--count', '1000', '--fail-at', '600'];

/** Whether nothing listens on `port` on loopback right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A range of `n` consecutive free ports, picked at random (for a `rest.bind-port` range). */
async function freeRange(n: number): Promise<[number, number]> {
  for (;;) {
    const lo = 40_000 + Math.floor(Math.random() * 20_000);
    const all = await Promise.all(Array.from({ length: n }, (_, i) => portFree(lo + i)));
    if (all.every(Boolean)) return [lo, lo + n - 1];
  }
}

describe('failover and several jobs (e2e)', () => {
  test('restart attempts exhausted: the job fails with the cause and why recovery stopped; one attempt fewer succeeds exactly', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace({ 'restart-strategy.fixed-delay.attempts': '2' });
    t.after(() => cleanup(ws));
    // Attempts 0, 1 and 2 fail: two restarts are allowed, the third failure ends the job.
    const failed = await flink(ws, ['run', FAIL_ONCE_JOB, ...ARGS, '--fail-attempts', '3', '--rate', '2000', '--output', join(ws.dir, 'out-failed')]);
    const line = assertOneLineError(failed, 1);
    assert.match(line, /Injected failure at record 600 \(recovery is suppressed: fixed-delay restart strategy allowed 2 attempt\(s\)\)/);
    const jobId = jobIdFrom(failed.stdout);
    assert.equal(readJobLog(ws, jobId).split('\n').filter((l) => /switched from state RUNNING to RESTARTING/.test(l)).length, 2, 'two restarts, then no more');
    assert.equal((await listJobs(ws)).find((j) => j.jobId === jobId)?.status, 'FAILED');

    // Attempts 0 and 1 fail, attempt 2 (the last allowed) runs through: exact output.
    const out = join(ws.dir, 'out');
    const ok = await flink(ws, ['run', FAIL_ONCE_JOB, ...ARGS, '--fail-attempts', '2', '--rate', '2000', '--output', out]);
    assert.equal(ok.exitCode, 0, show(ok));
    assert.equal(readJobLog(ws, jobIdFrom(ok.stdout)).split('\n').filter((l) => /switched from state RUNNING to RESTARTING/.test(l)).length, 2);
    assert.deepEqual(committedLines(out), await referenceLines(FAIL_ONCE_JOB, ARGS));
  });

  test('a savepoint requested while RESTARTING is refused in one line; the job recovers and finishes exactly', { timeout: 120_000 }, async (t) => {
    // A long restart delay: the job sits in RESTARTING while the CLI asks for a savepoint.
    const ws = createWorkspace({ 'restart-strategy.fixed-delay.delay': '8 s' });
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', '-d', FAIL_ONCE_JOB, ...ARGS, '--rate', '500', '--output', out]);
    assert.equal(r.exitCode, 0, show(r));
    const jobId = jobIdFrom(r.stdout);
    await waitForStatus(ws, jobId, 'RESTARTING', 30_000);
    const sp = await flink(ws, ['savepoint', jobId, join(ws.dir, 'sp')]);
    const line = assertOneLineError(sp);
    assert.match(line, /not running but RESTARTING/);
    await waitForStatus(ws, jobId, 'FINISHED', 60_000);
    assert.deepEqual(committedLines(out), await referenceLines(FAIL_ONCE_JOB, ARGS));
  });

  test('a cancel while RESTARTING ends the job CANCELED; it is not restarted afterwards', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace({ 'restart-strategy.fixed-delay.delay': '8 s' });
    t.after(() => cleanup(ws));
    const r = await flink(ws, ['run', '-d', FAIL_ONCE_JOB, ...ARGS, '--rate', '500', '--output', join(ws.dir, 'out')]);
    assert.equal(r.exitCode, 0, show(r));
    const jobId = jobIdFrom(r.stdout);
    await waitForStatus(ws, jobId, 'RESTARTING', 30_000);
    const c = await flink(ws, ['cancel', jobId]);
    assert.equal(c.exitCode, 0, show(c));
    await waitForStatus(ws, jobId, 'CANCELED', 30_000);
    assert.doesNotMatch(readJobLog(ws, jobId), /switched from state RESTARTING to RUNNING/, 'no restart after the cancel');
  });

  test('two jobs at once: separate rows, REST ports from one range, list/savepoint/cancel reach the right one', { timeout: 120_000 }, async (t) => {
    const [lo, hi] = await freeRange(4);
    const ws = createWorkspace({ 'rest.bind-port': `${lo}-${hi}` });
    t.after(() => cleanup(ws));
    const job = join(ROOT, 'test', 'jobs', 'StateKindsJob.ts');
    const ids: string[] = [];
    for (const name of ['a', 'b']) {
      // Held at event 100 (the gate never opens): both stay RUNNING for as long as the test needs.
      const r = await flink(ws, ['run', '-d', job, '--count', '3000', '--output', join(ws.dir, `out-${name}`), '--gate', join(ws.dir, 'gate'), '--hold-at', '100']);
      assert.equal(r.exitCode, 0, show(r));
      ids.push(jobIdFrom(r.stdout));
    }
    for (const id of ids) await waitForStatus(ws, id, 'RUNNING', 30_000);
    const listed = (await listJobs(ws)).filter((j) => ids.includes(j.jobId));
    assert.equal(listed.length, 2, 'a row per job');
    const ports = listed.map((j) => Number(new URL(j.restUrl!).port));
    assert.notEqual(ports[0], ports[1], 'each cluster its own port');
    for (const p of ports) assert.ok(p >= lo && p <= hi, `port ${p} in ${lo}-${hi}`);
    assert.notEqual(listed[0]!.pid, listed[1]!.pid);

    for (const id of ids) {
      const sp = await flink(ws, ['savepoint', id, join(ws.dir, `sp-${id}`)]);
      assert.equal(sp.exitCode, 0, show(sp));
      assert.equal(readSnapshot(savepointPathFrom(sp.stdout)).jobId, id, 'the savepoint is of the job asked for');
    }
    const c = await flink(ws, ['cancel', ids[0]!]);
    assert.equal(c.exitCode, 0, show(c));
    await waitForStatus(ws, ids[0]!, 'CANCELED', 30_000);
    const after = await listJobs(ws);
    assert.equal(after.find((j) => j.jobId === ids[1])?.status, 'RUNNING', 'cancelling one leaves the other running');
    await waitFor(async () => (await flink(ws, ['cancel', ids[1]!])).exitCode === 0, 30_000, 'the second job cancelled');
  });
});
