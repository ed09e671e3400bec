/**
 * The real Apache Flink session cluster the remote-cluster tests use (test/support/flink.ts), checked with
 * Flink's own CLI: it starts on a free port, runs the test job from its JAR, and the job's output continues
 * exactly after savepoint -> cancel -> run -s. If this fails, the tests of our CLI against it mean nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkCountingOutput, FLINK_VERSION, flinkCli, flinkSkip, startFlinkCluster, TEST_JOB_JAR, type FlinkCluster } from '../support/flink.js';
import { waitUntil } from '../support/services.js';

const skip = flinkSkip();

async function jobState(flink: FlinkCluster, jobId: string): Promise<string> {
  const r = await fetch(`${flink.rest}/jobs/${jobId}`);
  return ((await r.json()) as { state: string }).state;
}

function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').length : 0;
}

describe('a real Apache Flink session cluster from Maven jars', { skip, timeout: 400_000 }, () => {
  let flink: FlinkCluster;
  before(async () => { flink = await startFlinkCluster({ log: (l) => process.stderr.write(`# ${l}\n`) }); });
  after(async () => { await flink?.stop(); });

  it('serves Flink REST on a free loopback port with the pinned version', async () => {
    const o = (await (await fetch(`${flink.rest}/overview`)).json()) as Record<string, unknown>;
    assert.equal(o['flink-version'], FLINK_VERSION);
    assert.equal(o['slots-total'], 4);
    assert.match(flink.address, /^127\.0\.0\.1:\d+$/);
  });

  it("Flink's CLI: the test job continues exactly after savepoint, cancel and run -s", async () => {
    const out = join(flink.dir, 'counting.txt');
    const run = await flinkCli(['run', '-m', flink.address, '-d', TEST_JOB_JAR, '--out', out, '--rate', '100']);
    assert.equal(run.code, 0, run.stderr);
    const jobId = /JobID ([0-9a-f]{32})/.exec(run.stdout)?.[1];
    assert.ok(jobId, run.stdout);
    await waitUntil(Date.now() + 60_000, () => lineCount(out) >= 40, () => `no output in ${out}`);

    const sp = await flinkCli(['savepoint', '-m', flink.address, jobId]);
    assert.equal(sp.code, 0, sp.stderr);
    const path = /Savepoint completed\. Path: (\S+)/.exec(sp.stdout)?.[1];
    assert.ok(path, sp.stdout);
    assert.ok(path.startsWith(`file:${flink.savepointsDir}/`), `${path} in the cluster's default savepoint dir ${flink.savepointsDir}`);
    // The job keeps writing after the savepoint: those lines are written again, identically, after the restore.
    await new Promise((r) => setTimeout(r, 1000));
    const cancel = await flinkCli(['cancel', '-m', flink.address, jobId]);
    assert.equal(cancel.code, 0, cancel.stderr);
    await waitUntil(Date.now() + 30_000, async () => (await jobState(flink, jobId)) === 'CANCELED', () => 'not canceled');
    const before = checkCountingOutput(readFileSync(out, 'utf8'));

    const again = await flinkCli(['run', '-m', flink.address, '-d', '-s', path, TEST_JOB_JAR, '--out', out, '--rate', '100']);
    assert.equal(again.code, 0, again.stderr);
    const jobId2 = /JobID ([0-9a-f]{32})/.exec(again.stdout)?.[1]!;
    // It first writes again what came after the savepoint (the CLI's JVM start made that seconds), then new elements.
    await waitUntil(Date.now() + 90_000, () => checkCountingOutput(readFileSync(out, 'utf8')).max > before.max + 40, () => `the restored job does not go on past ${before.max}`);
    const after = checkCountingOutput(readFileSync(out, 'utf8'));
    assert.ok(after.duplicates > 0, 'lines after the savepoint are written again (the source resumed at the savepoint, not at the end)');
    await flinkCli(['cancel', '-m', flink.address, jobId2]);
  });
});
