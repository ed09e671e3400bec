/**
 * State of TypeScript jobs on a real Apache Flink cluster through the flink-ts runner (docs/flink-runner.md), beside
 * flink-runner.test.ts: keyed state of every kind with TTL, timers and operator list and union state live in Flink's
 * state, so Flink's savepoints restore them, exactly, also at another parallelism.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flinkSkip, type FlinkCluster } from '../support/flink.js';
import { startRunnerCluster, stopRunnerCluster } from './runnerCluster.js';
import { committedLines, flink, jobIdFrom, ROOT, waitFor, type Workspace } from './helpers.js';

const skip = flinkSkip();

async function jobState(cluster: FlinkCluster, jobId: string): Promise<string> {
  return ((await (await fetch(`${cluster.rest}/jobs/${jobId}`)).json()) as { state: string }).state;
}

/** Runs `job` detached at a low rate, takes a savepoint with our CLI, cancels; returns the savepoint's path. */
async function savepointAndCancel(ws: Workspace, cluster: FlinkCluster, runArgs: string[]): Promise<string> {
  const run = await flink(ws, ['run', '-d', '-m', cluster.address, ...runArgs], { timeoutMs: 120_000 });
  assert.equal(run.exitCode, 0, run.stderr);
  const jobId = jobIdFrom(run.stdout);
  await waitFor(async () => (await jobState(cluster, jobId)) === 'RUNNING', 60_000, 'the job running');
  await new Promise((r) => setTimeout(r, 2000));
  const sp = await flink(ws, ['savepoint', '-m', cluster.address, jobId, join(ws.dir, 'savepoints')], { timeoutMs: 120_000 });
  assert.equal(sp.exitCode, 0, sp.stderr);
  const path = /Path: (\S+)/.exec(sp.stdout)?.[1];
  assert.ok(path, sp.stdout);
  const cancel = await flink(ws, ['cancel', '-m', cluster.address, jobId]);
  assert.equal(cancel.exitCode, 0, `the job ended before the cancel (the savepoint came too late): ${cancel.stderr}`);
  await waitFor(async () => (await jobState(cluster, jobId)) === 'CANCELED', 30_000, 'the job cancelled');
  return path.replace(/^file:/, '');
}

describe('state of TypeScript jobs on a real Apache Flink cluster (the flink-ts runner)', { skip, timeout: 300_000 }, () => {
  let cluster: FlinkCluster;
  let ws: Workspace;
  let m: string;

  before(async () => ({ cluster, ws, m } = await startRunnerCluster()));
  after(() => stopRunnerCluster({ cluster, ws }));

  it('test/jobs/TimersJob.ts: processing- and event-time timers live in Flink; pending ones fire once after savepoint, cancel and run -s', async () => {
    const job = join(ROOT, 'test', 'jobs', 'TimersJob.ts');
    const args = ['--count', '20000', '--keys', '20'];
    const local = join(ws.dir, 'timers-local');
    // 2 s of input: the processing-time timers (300 ms) fire before the end of input, which drops pending ones.
    const l = await flink(ws, ['run', job, ...args, '--rate', '10000', '--output', local], { timeoutMs: 120_000 });
    assert.equal(l.exitCode, 0, l.stderr);
    const expected = committedLines(local);
    assert.equal(expected.filter((x) => x.startsWith('ptimer,')).length, 20);
    assert.deepEqual(expected.filter((x) => x.startsWith('etimer,')), Array.from({ length: 20 }, (_, k) => `etimer,${k},1000,1000`).sort());

    const out = join(ws.dir, 'timers-restored');
    const path = await savepointAndCancel(ws, cluster, [job, ...args, '--rate', '1000', '--output', out]);
    const again = await flink(ws, ['run', '-m', m, '-s', path, job, ...args, '--rate', '1000000', '--output', out], { timeoutMs: 120_000 });
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual(committedLines(out), expected, 'every timer fired exactly once across the restore');
  });

  it('test/jobs/StateKindsJob.ts: value, list, reducing, aggregating and map state (with TTL) in Flink, the same as on the mini-cluster', async () => {
    const job = join(ROOT, 'test', 'jobs', 'StateKindsJob.ts');
    const args = ['--count', '2000', '--rate', '1000000'];
    const onCluster = join(ws.dir, 'kinds-cluster');
    // -p 1: the job's map runs at the default parallelism, and a rebalance into it would reorder a key's records.
    const r = await flink(ws, ['run', '-m', m, '-p', '1', job, ...args, '--output', onCluster], { timeoutMs: 120_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    const local = join(ws.dir, 'kinds-local');
    const l = await flink(ws, ['run', '-p', '1', job, ...args, '--output', local], { timeoutMs: 120_000 });
    assert.equal(l.exitCode, 0, l.stderr);
    const lines = committedLines(onCluster);
    assert.equal(lines.length, 2000);
    assert.deepEqual(lines, committedLines(local));
  });

  it('test/jobs/OperatorStateJob.ts: split and union operator list state through savepoint, cancel and run -s -p 3 (from 2)', async () => {
    const job = join(ROOT, 'test', 'jobs', 'OperatorStateJob.ts');
    const args = ['--count', '20000'];
    const out = join(ws.dir, 'opstate');
    const path = await savepointAndCancel(ws, cluster, ['-p', '2', job, ...args, '--rate', '1000', '--output', out]);
    const again = await flink(ws, ['run', '-m', m, '-s', path, '-p', '3', job, ...args, '--rate', '1000000', '--output', out], { timeoutMs: 120_000 });
    assert.equal(again.exitCode, 0, again.stderr);
    const lines = committedLines(out);
    // Every number exactly once: the held-back buffer (split list state) was neither lost nor duplicated.
    assert.deepEqual(lines.filter((l) => l.startsWith('data,')), Array.from({ length: 20000 }, (_, i) => `data,${i}`).sort());
    // Every new subtask got the union state of both old ones.
    const seen = lines.filter((l) => l.startsWith('seen,g1,'));
    assert.deepEqual(seen, ['seen,g1,s0of3,g0/s0of2 g0/s1of2', 'seen,g1,s1of3,g0/s0of2 g0/s1of2', 'seen,g1,s2of3,g0/s0of2 g0/s1of2']);
  });
});
