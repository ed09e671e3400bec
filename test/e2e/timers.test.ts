import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ROOT, cleanup, committedLines, createWorkspace, flink, jobIdFrom, savepointPathFrom, show, stateEntries, waitFor, waitForStatus,
} from './helpers.js';

const TIMERS_JOB = join(ROOT, 'test', 'jobs', 'TimersJob.ts');
const KEYS = 20;

/** Every key: seen once, its processing-time timer once, its event-time timer once with the final count. */
function expected(count: number): string[] {
  const lines: string[] = [];
  for (let k = 0; k < KEYS; k++) {
    const perKey = Math.floor(count / KEYS) + (k < count % KEYS ? 1 : 0);
    lines.push(`seen,${k}`, `ptimer,${k}`, `etimer,${k},${perKey},1000`);
  }
  return lines.sort();
}

describe('timers (e2e)', () => {
  test('processing- and event-time timers fire once each, in an uninterrupted run', { timeout: 60_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const r = await flink(ws, ['run', TIMERS_JOB, '--output', out, '--count', '3000', '--rate', '3000', '--delay', '200', '--keys', String(KEYS)]);
    assert.equal(r.exitCode, 0, show(r));
    assert.deepEqual(committedLines(out), expected(3000));
  });

  test('timers pending in a savepoint fire after the restore', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    const args = ['--output', out, '--count', '16000', '--rate', '1000', '--delay', '6000', '--keys', String(KEYS)];
    const run = await flink(ws, ['run', '-d', TIMERS_JOB, ...args]);
    assert.equal(run.exitCode, 0, show(run));
    const jobId = jobIdFrom(run.stdout);
    await waitForStatus(ws, jobId, 'RUNNING');
    // Every key seen (committed by a checkpoint), instead of a sleep racing the 6 s timers.
    await waitFor(() => committedLines(out).filter((l) => l.startsWith('seen,')).length === KEYS, 30_000, 'every key seen');
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const before = committedLines(out);
    assert.deepEqual(before.filter((l) => l.startsWith('seen,')).length, KEYS, 'every key was seen before the savepoint');
    // Timing-free: each key's processing-time timer either fired before the savepoint or is pending in it —
    // never both, never neither — however long the CLI took (on an idle machine: all pending, 6 s is long).
    const fired = new Set(before.filter((l) => l.startsWith('ptimer,')).map((l) => Number(l.split(',')[1])));
    const pending = new Set(stateEntries(savepointPathFrom(c.stdout), '_timer_service/processing', 'timers')
      .filter((e) => Array.isArray(e.value) && e.value.length > 0).map((e) => Number((e as { key: unknown }).key)));
    const keys = Array.from({ length: KEYS }, (_, k) => k);
    assert.deepEqual(keys.filter((k) => fired.has(k) === pending.has(k)), [], `fired before: ${[...fired]}; pending in the savepoint: ${[...pending]}`);
    assert.ok(pending.size > 0, 'the scenario happened: timers were pending in the savepoint');
    t.diagnostic(`processing-time timers fired before the savepoint: ${fired.size}, pending in it: ${pending.size}`);

    const restored = await flink(ws, ['run', '-s', savepointPathFrom(c.stdout), TIMERS_JOB, ...args]);
    assert.equal(restored.exitCode, 0, show(restored));
    // The restore ran attached: everything it commits is committed when it returns.
    assert.deepEqual(committedLines(out), expected(16000));
  });
});
