import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ROOT, cleanup, committedLines, createWorkspace, flink, jobIdFrom, latestCheckpoint, savepointPathFrom, show, waitFor, waitForStatus,
} from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'FinishedSourceJob.ts');

describe('checkpoints after tasks finished (e2e)', () => {
  test('a pipeline that finished is restored as finished, not replayed; the running one continues exactly', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const args = ['--output', out, '--count', '3000'];
    // The running pipeline holds at event 1000 (its gate is never opened) while the test checkpoints and cancels.
    const run = await flink(ws, ['run', '-d', JOB, ...args, '--gate', join(ws.dir, 'gate'), '--hold-at', '1000']);
    assert.equal(run.exitCode, 0, show(run));
    const jobId = jobIdFrom(run.stdout);
    await waitForStatus(ws, jobId, 'RUNNING');
    await waitFor(() => committedLines(join(out, 'once')).length === 3, 20_000, 'the bounded pipeline committed');
    // A checkpoint taken after the bounded pipeline finished records it as finished.
    await waitFor(() => {
      const chk = latestCheckpoint(ws, jobId);
      return chk && readFileSync(join(chk, '_metadata')).includes('finishedOperators') ? chk : undefined;
    }, 20_000, 'a checkpoint that lists finished operators');
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    assert.equal(committedLines(join(out, 'events')).length, 1000, 'cancelled part-way, at the hold');

    const restored = await flink(ws, ['run', '-s', savepointPathFrom(c.stdout), JOB, ...args, '--rate', '100000']);
    assert.equal(restored.exitCode, 0, show(restored));
    assert.deepEqual(committedLines(join(out, 'once')), ['once,a', 'once,b', 'once,c']);
    assert.deepEqual(committedLines(join(out, 'events')), Array.from({ length: 3000 }, (_, i) => `event,${i}`).sort());
  });
});
