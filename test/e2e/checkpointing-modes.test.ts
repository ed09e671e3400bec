/**
 * Checkpointing modes end to end, through the real CLI and detached cluster processes: exactly-once (aligned)
 * and at-least-once runs killed while barriers are being aligned, unaligned checkpoints under backpressure
 * (and the aligned-checkpoint-timeout switch), tolerable-failed-checkpoints, and `flink checkpoint`.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ROOT, assertOneLineError, checkpoints, cleanup, committedLines, createWorkspace, flink, jobIdFrom, killCluster,
  listJobs, readJobLog, readSnapshot, show, waitFor, waitForStatus, withArgs, type Workspace,
} from './helpers.js';
import { decodeMetadata, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';

const JOB = join(ROOT, 'test', 'jobs', 'AlignmentJob.ts');
const KEYS = 10;

/** What an uninterrupted run of AlignmentJob commits (it is deterministic, so computed here). */
function expectedLines(count: number): string[] {
  const half = Math.floor(count / 2);
  const counts = new Map<number, number>();
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = (i < half ? 0 : 1000) + (i % KEYS);
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    out.push(`${key},${i},${n}`);
  }
  return out.sort();
}

function metadataOf(dir: string): CheckpointMetadata {
  return decodeMetadata(readFileSync(join(dir, '_metadata')), dir);
}

const workspaces: Workspace[] = [];
function workspace(overrides: Record<string, string>): Workspace {
  const ws = createWorkspace({ 'restart-strategy.type': 'none', ...overrides });
  workspaces.push(ws);
  return ws;
}
after(async () => {
  for (const ws of workspaces) await cleanup(ws);
});

async function runDetached(ws: Workspace, args: string[]): Promise<string> {
  const r = await flink(ws, ['run', '-d', JOB, ...args]);
  assert.equal(r.exitCode, 0, show(r));
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING', 30_000);
  return jobId;
}

/** Completed (retained) checkpoints of the job that satisfy `ok`, waiting for at least `n` of them. */
async function waitForCheckpoints(ws: Workspace, jobId: string, n: number, ok: (m: CheckpointMetadata) => boolean = () => true, timeoutMs = 60_000): Promise<string> {
  const seen = new Set<string>();
  return waitFor(() => {
    for (const c of checkpoints(ws, jobId)) {
      try {
        if (ok(metadataOf(c))) seen.add(basename(c));
      } catch {
        /* discarded between listing and reading */
      }
    }
    return seen.size >= n ? checkpoints(ws, jobId).at(-1) : undefined;
  }, timeoutMs, `${n} matching checkpoint(s) of job ${jobId}`, 50);
}

/** Restores `path` attached at full speed into the same output directory; asserts it finished. */
async function restore(ws: Workspace, path: string, args: string[]): Promise<void> {
  const r = await flink(ws, ['run', '-s', path, JOB, ...withArgs(args, { rate: '1000000', 'slow-us': '0' })], { timeoutMs: 120_000 });
  assert.equal(r.exitCode, 0, `restore from ${path}: ${show(r)}`);
}

function assertExact(output: string, count: number): void {
  const expected = expectedLines(count);
  const actual = committedLines(output);
  if (actual.length !== expected.length) {
    const missing = expected.filter((l) => !actual.includes(l)).slice(0, 10);
    const dup = actual.filter((l, i) => actual[i - 1] === l).slice(0, 10);
    assert.fail(`committed ${actual.length} lines, expected ${expected.length}; missing ${JSON.stringify(missing)}; duplicated ${JSON.stringify(dup)}`);
  }
  assert.deepEqual(actual, expected);
}

describe('checkpointing modes (e2e)', { concurrency: false }, () => {
  test('EXACTLY_ONCE: a job with two input channels per task, killed mid-alignment, restores exactly', async () => {
    const ws = workspace({ 'execution.checkpointing.interval': '150 ms', 'execution.checkpointing.mode': 'EXACTLY_ONCE' });
    const output = join(ws.dir, 'out');
    const args = ['--count', '16000', '--rate', '3000', '--slow-us', '150', '--output', output];
    const jobId = await runDetached(ws, args);
    await waitForCheckpoints(ws, jobId, 3);
    await killCluster(ws, jobId); // checkpoints every 150 ms under load: barriers are being aligned most of the time
    const latest = checkpoints(ws, jobId).at(-1)!;
    assert.equal(metadataOf(latest).unaligned, undefined, 'aligned checkpoints carry no in-flight data');
    await restore(ws, latest, args);
    assertExact(output, 16000);
  });

  test('AT_LEAST_ONCE: killed mid-checkpoint, the restored run loses nothing', async () => {
    const ws = workspace({ 'execution.checkpointing.interval': '150 ms', 'execution.checkpointing.mode': 'AT_LEAST_ONCE', 'execution.checkpointing.max-concurrent-checkpoints': '3' });
    const output = join(ws.dir, 'out');
    const args = ['--count', '16000', '--rate', '3000', '--slow-us', '150', '--output', output];
    const jobId = await runDetached(ws, args);
    await waitForCheckpoints(ws, jobId, 3);
    await killCluster(ws, jobId);
    await restore(ws, checkpoints(ws, jobId).at(-1)!, args);
    // Counts may include replayed records (at least once), but every input record reached the sink.
    const seen = new Set(committedLines(output).map((l) => Number(l.split(',')[1])));
    const missing = Array.from({ length: 16000 }, (_, i) => i).filter((i) => !seen.has(i));
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} records lost`);
  });
});
