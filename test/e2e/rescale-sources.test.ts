/**
 * Rescaling a source with several splits that are partly read: a directory of text files (one split per file,
 * its byte offset checkpointed), savepointed while every source subtask is held mid-file, restored at a higher
 * and a lower parallelism: every line must be committed exactly once over both runs. And an event-time source
 * restored at more subtasks than it has splits: the subtask without one must not hold the windows back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, cleanup, committedLines, createWorkspace, flink, jobIdFrom, listJobsInProcess, savepointPathFrom, show, stateEntries, waitFor,
  waitForStatus,
} from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'TextFilesJob.ts');
const EVENT_TIME_JOB = join(ROOT, 'test', 'jobs', 'EventTimeSplitsJob.ts');
const FILES = 5;
const LINES = 200;
const HOLD_AT = 150; // per source subtask: inside its first file

describe('rescaling a multi-split source (e2e)', () => {
  test('text files, savepointed mid-file at -p 2, restored at -p 3 and -p 1: every line exactly once', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const input = join(ws.dir, 'input');
    mkdirSync(input);
    const all: string[] = [];
    for (let f = 0; f < FILES; f++) {
      const lines = Array.from({ length: LINES }, (_, i) => `f${f},${i}`);
      writeFileSync(join(input, `part-${f}.txt`), lines.join('\n') + '\n');
      all.push(...lines.map((l) => `line,${l}`));
    }
    const out = join(ws.dir, 'out');
    const run = await flink(ws, ['run', '-d', '-p', '2', JOB, '--input', input, '--output', out, '--gate', join(ws.dir, 'gate'), '--hold-at', String(HOLD_AT)]);
    assert.equal(run.exitCode, 0, show(run));
    const jobId = jobIdFrom(run.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 30_000);
    // Both subtasks held (2 × HOLD_AT lines committed by a checkpoint), then savepointed and cancelled there.
    await waitFor(() => committedLines(out).length === 2 * HOLD_AT, 30_000, 'both source subtasks held');
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const sp = savepointPathFrom(c.stdout);
    const splits = stateEntries(sp, 'SourceReaderState', 'files').map((e) => e.value as { path: string; offset: number });
    assert.equal(splits.length, FILES, `every file still has a split: ${JSON.stringify(splits)}`);
    assert.equal(splits.filter((s) => s.offset > 0).length, 2, 'two of them are partly read');
    const atCancel = committedLines(out);
    assert.equal(atCancel.length, 2 * HOLD_AT);

    for (const p of ['3', '1']) {
      const copy = join(ws.dir, `out-p${p}`);
      cpSync(out, copy, { recursive: true });
      const r = await flink(ws, ['run', '-s', sp, '-p', p, JOB, '--input', input, '--output', copy]);
      assert.equal(r.exitCode, 0, show(r));
      assert.deepEqual(committedLines(copy), [...all].sort(), `restored at -p ${p}: every line once`);
    }
  });

  test('event time: 2 splits restored at -p 3, a source subtask without a split does not stall the windows', { timeout: 120_000 }, async (t) => {
    const ws = createWorkspace();
    t.after(() => cleanup(ws));
    const out = join(ws.dir, 'out');
    // Each source subtask holds after 500 events (times 0..4990 in both halves): the windows up to [3000, 4000) fire.
    const run = await flink(ws, ['run', '-d', '-p', '2', EVENT_TIME_JOB, '--output', out, '--gate', join(ws.dir, 'gate-1'), '--hold-at', '500']);
    assert.equal(run.exitCode, 0, show(run));
    const first = jobIdFrom(run.stdout);
    await waitForStatus(ws, first, 'RUNNING', 30_000);
    const expected = (below: number) => Array.from({ length: below / 1000 }, (_, w) => Array.from({ length: 5 }, (__, k) => `window,${k},${w * 1000},40`)).flat().sort();
    await waitFor(() => committedLines(out).length === 20, 30_000, 'the windows before the hold committed');
    assert.deepEqual(committedLines(out), expected(4000));
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'sp'), first]);
    assert.equal(c.exitCode, 0, show(c));
    const sp = savepointPathFrom(c.stdout);
    assert.equal(stateEntries(sp, 'SourceReaderState', 'events').length, 2, 'two splits in the savepoint');

    // Three subtasks for two splits; each reader holds again after 200 more events (times up to 6990).
    const gate = join(ws.dir, 'gate-2');
    const again = await flink(ws, ['run', '-d', '-s', sp, '-p', '3', EVENT_TIME_JOB, '--output', out, '--gate', gate, '--hold-at', '200']);
    assert.equal(again.exitCode, 0, show(again));
    const second = jobIdFrom(again.stdout);
    // The watermark advances past 6000 while the job still runs: the split-less subtask is not holding it at the minimum.
    await waitFor(() => committedLines(out).length === 30, 30_000, 'windows [4000, 5000) and [5000, 6000) fired while the job runs');
    assert.equal((await listJobsInProcess(ws)).find((j) => j.jobId === second)?.status, 'RUNNING', 'still held: the windows fired before the end of input');
    assert.deepEqual(committedLines(out), expected(6000));
    writeFileSync(gate, '');
    await waitForStatus(ws, second, 'FINISHED', 60_000);
    assert.deepEqual(committedLines(out), expected(10_000), 'every window of both halves, each once, 40 events each');
  });
});
