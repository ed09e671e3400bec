import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ROOT, cleanup, committedLines, createWorkspace, flink, jobIdFrom, savepointPathFrom, show, sleep, waitFor, waitForStatus,
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
    await sleep(800); // every key seen, no processing-time timer due yet (6 s)
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const before = committedLines(out);
    assert.ok(before.some((l) => l.startsWith('seen,')), `keys were seen before the savepoint: ${before.length} lines`);
    assert.ok(!before.some((l) => l.startsWith('ptimer,')), 'no processing-time timer fired before the savepoint');

    const restored = await flink(ws, ['run', '-s', savepointPathFrom(c.stdout), TIMERS_JOB, ...args]);
    assert.equal(restored.exitCode, 0, show(restored));
    const lines = await waitFor(() => committedLines(out), 5_000);
    assert.deepEqual(lines, expected(16000));
  });
});
