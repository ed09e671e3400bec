/**
 * Every keyed state kind (value, list, reducing, aggregating, map; with TTL, a user serializer and
 * Date/bigint/Set/Map values) through the real CLI: a detached run is savepointed and cancelled with a
 * savepoint, restored at the same parallelism and rescaled (-p 3); both end with exactly the output of
 * an uninterrupted run.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { loadSnapshot } from '../../src/checkpoint/Metadata.js';
import {
  ROOT, cleanup, committedLines, createWorkspace, flink, jobIdFrom, readJobLog, recordsEmittedAt, referenceLines, savepointPathFrom, show, waitFor,
  waitForStatus,
  withArgs, type Workspace,
} from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'StateKindsJob.ts');
const ARGS = ['--count', '3000', '--keys', '12'];
/** The detached run holds at this event until the test creates its gate file: savepointed and cancelled there. */
const HOLD_AT = 1500;
const FAST = '1000000';
const KINDS = { count: 'value', recent: 'list', sum: 'reducing', distinct: 'aggregating', buckets: 'map' };

/** The keyed state kinds the snapshot's metadata records for the keyed operator, and its parallelism. */
function keyedStatesOf(dir: string): { parallelism: number; kinds: Record<string, string>[] } {
  const op = loadSnapshot(dir).metadata.operators.find((o) => o.uid === 'all-state-kinds');
  assert.ok(op, `the keyed operator is in the snapshot ${dir}`);
  return { parallelism: op.parallelism, kinds: op.subtasks.map((s) => s.state.keyedStates) };
}

async function restore(ws: Workspace, savepoint: string, output: string, extra: string[] = []): Promise<void> {
  const r = await flink(ws, ['run', '-s', savepoint, ...extra, JOB, ...withArgs(ARGS, { output, rate: FAST })]);
  assert.equal(r.exitCode, 0, `restore ${extra.join(' ')}: ${show(r)}`);
  assert.match(r.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
}

describe('keyed state kinds (e2e)', () => {
  test('value, list, reducing, aggregating and map state survive savepoint, cancel -s and restore, also rescaled', { timeout: 90_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    // Held at event HOLD_AT (the gate file is never created): the savepoint and the cancel find it there.
    const gate = join(ws.dir, 'gate');
    const run = await flink(ws, ['run', '-d', JOB, ...withArgs(ARGS, { output: out, rate: FAST, gate, 'hold-at': String(HOLD_AT) })]);
    assert.equal(run.exitCode, 0, show(run));
    const jobId = jobIdFrom(run.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 20_000);
    // A checkpoint has committed everything before the hold, so every key has state in every kind.
    await waitFor(() => committedLines(out).length === HOLD_AT, 20_000, 'the events before the hold committed');

    const sp = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp.exitCode, 0, show(sp));
    const first = keyedStatesOf(savepointPathFrom(sp.stdout));
    assert.equal(first.parallelism, 2);
    for (const kinds of first.kinds) {
      // Only the job's states: the operator may keep internal ones of its own (timers).
      const mine = Object.fromEntries(Object.entries(kinds).filter(([name]) => name in KINDS));
      assert.deepEqual(mine, KINDS, 'the metadata records each state with its kind');
    }

    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'cancel-savepoints'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const savepoint = savepointPathFrom(c.stdout);
    await waitForStatus(ws, jobId, 'CANCELED', 15_000);
    // The accumulator holds a Set, which binary rows cannot: the JobManager's log says so, once per subtask.
    const moved = readJobLog(ws, jobId).split('\n').filter((l) => l.includes('moved from binary rows to JS objects'));
    assert.deepEqual(moved.map((l) => / - (State '\w+' of All state kinds .*\((\d)\/2\))/.exec(l)?.[2]).sort(), ['1', '2'], moved.join('\n'));
    assert.ok(moved.every((l) => l.includes("State 'distinct' of All state kinds")), moved.join('\n'));
    // Cancelled exactly at the hold: the savepoint's source position and the committed output both say so.
    assert.equal(recordsEmittedAt(savepoint, 3000), HOLD_AT);
    assert.equal(committedLines(out).length, HOLD_AT, `cancelled part-way: ${HOLD_AT} of 3000 lines committed`);

    // Two continuations of the same cancelled run: at the same parallelism, and rescaled 2 → 3.
    const rescaled = join(ws.dir, 'out-p3');
    cpSync(out, rescaled, { recursive: true });
    await restore(ws, savepoint, out);
    await restore(ws, savepoint, rescaled, ['-p', '3']);

    const expected = await referenceLines(JOB, ARGS); // the model (test/e2e/models.ts)
    assert.equal(expected.length, 3000);
    assert.deepEqual(committedLines(out), expected, 'restored at parallelism 2');
    assert.deepEqual(committedLines(rescaled), expected, 'restored at parallelism 3');
  });
});
