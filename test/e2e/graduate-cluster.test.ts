/**
 * Graduate with state (issue 17): StateMachineExample runs on the mini-cluster, is savepointed and cancelled there,
 * and continues on a real Apache Flink 2.2.1 cluster (test/support/flink.ts) with `flink run -m host:port -s
 * <mini-cluster savepoint>`: the CLI converts the savepoint into a Flink savepoint of the runner job first (keyed
 * state per key, the data generator's position as Flink's own split state). The committed output across the move
 * is exactly that of an uninterrupted run. Then the way back: the job runs on the cluster, is stopped with a
 * savepoint there, and `flink run -s <Flink savepoint>` continues it on the mini-cluster, again exactly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { flinkSkip, startFlinkCluster, type FlinkCluster } from '../support/flink.js';
import { converterSkip, ensureConverterJars } from '../support/converter.js';
import {
  STATE_MACHINE_JOB, cleanup, committedLines, createWorkspace, flink, jobIdFrom, referenceLines, savepointPathFrom, show, waitFor, waitForStatus,
  withArgs, type Workspace,
} from './helpers.js';

const COUNT = 6000;
const ARGS = ['--count', String(COUNT), '--keys', '40'];
const skip = flinkSkip() ?? converterSkip();

describe('graduation with state: mini-cluster savepoint -> real Flink cluster (e2e)', { skip, timeout: 600_000 }, () => {
  let cluster: FlinkCluster;
  let ws: Workspace;
  before(async () => {
    ensureConverterJars((l) => process.stderr.write(`# ${l}\n`));
    cluster = await startFlinkCluster({ log: (l) => process.stderr.write(`# ${l}\n`) });
    ws = createWorkspace();
  });
  after(async () => {
    await cluster?.stop();
    if (ws) await cleanup(ws);
  });

  test('StateMachineExample: mini-cluster, savepoint, cancel, run -m -s on the cluster: output exact across the move', { timeout: 580_000 }, async () => {
    const out = join(ws.dir, 'out');
    const expected = await referenceLines(STATE_MACHINE_JOB, ARGS);
    const run = await flink(ws, ['run', '-d', STATE_MACHINE_JOB, ...withArgs(ARGS, { output: out, rate: '1500' })]);
    assert.equal(run.exitCode, 0, show(run));
    const jobId = jobIdFrom(run.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 20_000);
    await waitFor(() => committedLines(out).length > 20, 30_000, 'some alerts committed on the mini-cluster');
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'moved'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const savepoint = savepointPathFrom(c.stdout);
    await waitForStatus(ws, jobId, 'CANCELED', 15_000);
    const before = committedLines(out).length;
    assert.ok(before < expected.length, `moved part-way (${before} of ${expected.length} lines)`);

    const moved = await flink(ws, ['run', '-m', cluster.address, '-s', savepoint, STATE_MACHINE_JOB, ...withArgs(ARGS, { output: out, rate: '100000' })], { timeoutMs: 300_000 });
    assert.equal(moved.exitCode, 0, show(moved));
    assert.match(moved.stderr + moved.stdout, /into the Flink savepoint/);
    assert.match(moved.stdout, /has finished/);
    assert.deepEqual(committedLines(out), expected, 'the cluster continued exactly where the mini-cluster stopped');
  });

  test('the way back: a savepoint of the job on the cluster, stop, run -s on the mini-cluster: output exact', { timeout: 580_000 }, async () => {
    const out = join(ws.dir, 'back');
    // Slow on the cluster (40 s at most) so that the stop finds it running.
    const args = withArgs(ARGS, { count: '20000' });
    const expected = await referenceLines(STATE_MACHINE_JOB, args);
    // Checkpoints on the cluster commit the file sink's part files as the job goes (the program itself sets none).
    const run = await flink(ws, ['run', '-m', cluster.address, '-d', '-D', 'execution.checkpointing.interval=500ms', STATE_MACHINE_JOB, ...withArgs(args, { output: out, rate: '500' })], { timeoutMs: 300_000 });
    assert.equal(run.exitCode, 0, show(run));
    const jobId = jobIdFrom(run.stdout);
    await waitFor(() => committedLines(out).length > 20, 120_000, 'some alerts committed on the cluster');
    // stop-with-savepoint: Flink commits the sink's last part files before the job ends.
    const stop = await flink(ws, ['stop', '-m', cluster.address, '-p', join(ws.dir, 'from-cluster'), jobId], { timeoutMs: 120_000 });
    assert.equal(stop.exitCode, 0, show(stop));
    const savepoint = savepointPathFrom(stop.stdout);
    const before = committedLines(out).length;
    assert.ok(before < expected.length, `moved part-way (${before} of ${expected.length} lines)`);

    const back = await flink(ws, ['run', '-s', savepoint, STATE_MACHINE_JOB, ...withArgs(args, { output: out, rate: '100000' })], { timeoutMs: 300_000 });
    assert.equal(back.exitCode, 0, show(back));
    assert.match(back.stderr + back.stdout, /into the flink-ts savepoint/);
    assert.deepEqual(committedLines(out), expected, 'the mini-cluster continued exactly where the cluster stopped');
  });
});
