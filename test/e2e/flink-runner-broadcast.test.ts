/**
 * Broadcast state of TypeScript jobs on a real Apache Flink cluster through the flink-ts runner (docs/flink-runner.md
 * "Broadcast state"): test/jobs/BroadcastStateJob.ts gives the same output as on the mini-cluster, and its broadcast
 * state, held in Flink's own broadcast MapState, comes back on every subtask after savepoint, cancel and a restore at
 * another parallelism (the rule source has finished by then, so only the restored state can hold the rules).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flinkSkip, type FlinkCluster } from '../support/flink.js';
import { startRunnerCluster, stopRunnerCluster } from './runnerCluster.js';
import { committedLines, flink, jobIdFrom, ROOT, waitFor, type Workspace } from './helpers.js';

const skip = flinkSkip();
const JOB = join(ROOT, 'test', 'jobs', 'BroadcastStateJob.ts');
const RULES = '0:2 1:3 2:4 3:5';

async function jobState(cluster: FlinkCluster, jobId: string): Promise<string> {
  return ((await (await fetch(`${cluster.rest}/jobs/${jobId}`)).json()) as { state: string }).state;
}

/** The data lines every exact run has: each number once, times its group's factor. */
function expectedData(count: number): string[] {
  return Array.from({ length: count }, (_, n) => `data,${n},k${n % 12},${n * ((n % 4) + 2)}`).sort();
}

describe('broadcast state of TypeScript jobs on a real Apache Flink cluster (the flink-ts runner)', { skip, timeout: 240_000 }, () => {
  let cluster: FlinkCluster;
  let ws: Workspace;
  let m: string;

  before(async () => ({ cluster, ws, m } = await startRunnerCluster()));
  after(() => stopRunnerCluster({ cluster, ws }));

  for (const [flag, what] of [
    ['', 'a broadcast rule stream and a keyed event stream (KeyedBroadcastProcessFunction)'],
    ['--plain', 'a BroadcastProcessFunction on a non-keyed stream'],
  ] as const) {
    it(`test/jobs/BroadcastStateJob.ts ${flag}: ${what} gives the same output as on the mini-cluster`, async () => {
      // The events come at once and the rules slowly, so events wait for their rule, and the last rule comes just
      // before the end of input (which drops pending processing-time timers, on Flink and on the mini-cluster).
      const args = ['--count', '2000', '--rate', '1000000', '--rule-rate', '4', ...(flag ? [flag] : [])];
      const onCluster = join(ws.dir, `bc${flag}-cluster`);
      const r = await flink(ws, ['run', '-m', m, '-p', '2', JOB, ...args, '--output', onCluster], { timeoutMs: 120_000 });
      assert.equal(r.exitCode, 0, r.stderr);
      const local = join(ws.dir, `bc${flag}-local`);
      const l = await flink(ws, ['run', '-p', '2', JOB, ...args, '--output', local], { timeoutMs: 120_000 });
      assert.equal(l.exitCode, 0, l.stderr);
      const lines = committedLines(onCluster);
      assert.deepEqual(lines, committedLines(local));
      assert.deepEqual(lines.filter((x) => x.startsWith('data,')), expectedData(2000));
      assert.deepEqual(lines.filter((x) => !x.startsWith('data,')), [`rules,s0of2,${RULES}`, `rules,s1of2,${RULES}`]);
    });
  }

  it('test/jobs/BroadcastStateJob.ts: the broadcast state is restored on every subtask after savepoint, cancel and run -s -p 3 (from 2)', async () => {
    const out = join(ws.dir, 'bc-restore');
    const count = 20000;
    const run = await flink(ws, ['run', '-d', '-m', m, '-p', '2', JOB, '--count', String(count), '--rate', '500', '--output', out], { timeoutMs: 120_000 });
    assert.equal(run.exitCode, 0, run.stderr);
    const jobId = jobIdFrom(run.stdout);
    await waitFor(async () => (await jobState(cluster, jobId)) === 'RUNNING', 60_000, 'the job running');
    await new Promise((res) => setTimeout(res, 3000));
    const sp = await flink(ws, ['savepoint', '-m', m, jobId, join(ws.dir, 'savepoints')], { timeoutMs: 120_000 });
    assert.equal(sp.exitCode, 0, sp.stderr);
    const path = /Path: (\S+)/.exec(sp.stdout)?.[1]?.replace(/^file:/, '');
    assert.ok(path, sp.stdout);
    const cancel = await flink(ws, ['cancel', '-m', m, jobId]);
    assert.equal(cancel.exitCode, 0, cancel.stderr);
    await waitFor(async () => (await jobState(cluster, jobId)) === 'CANCELED', 30_000, 'the job cancelled');
    // The restore runs fast, and gives up on a missing rule after 5 s: a lost broadcast state shows as `missing,n`.
    const again = await flink(ws, ['run', '-m', m, '-s', path, '-p', '3', JOB, '--count', String(count), '--rate', '1000000', '--give-up', '5000', '--output', out], { timeoutMs: 120_000 });
    assert.equal(again.exitCode, 0, again.stderr);
    const lines = committedLines(out);
    assert.deepEqual(lines.filter((x) => x.startsWith('missing,')), []);
    assert.deepEqual(lines.filter((x) => x.startsWith('data,')), expectedData(count));
    // Every subtask of the restored job (p=3) has the full broadcast state from the savepoint.
    assert.deepEqual(lines.filter((x) => /^rules,s\dof3,/.test(x)), [0, 1, 2].map((i) => `rules,s${i}of3,${RULES}`));
  });
});
