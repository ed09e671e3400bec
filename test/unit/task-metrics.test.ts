import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration } from '../../src/config/Configuration.js';
import { newJobId } from '../../src/core/ids.js';
import { Logger } from '../../src/core/Logger.js';
import { openIndex } from '../../src/client/openIndex.js';
import { MiniCluster } from '../../src/runtime/MiniCluster.js';
import type { JobMaster } from '../../src/runtime/JobMaster.js';
import { runProgram } from '../../src/runtime/ProgramLoader.js';

/**
 * Task metrics end to end on an in-process mini-cluster (worker-thread slots, the real REST endpoint): record
 * and byte counts of a bounded job equal what it processed; a slow sink shows HIGH backpressure upstream.
 */
const root = mkdtempSync(join(tmpdir(), 'flink-ts-metrics-'));
after(() => rmSync(root, { recursive: true, force: true }));

function jobFile(name: string, source: string): string {
  const p = join(root, `${name}.ts`);
  writeFileSync(p, source);
  return p;
}

/** Submits a program; `inspect` runs while the cluster and its REST endpoint are up, after the job started. */
async function withJob(file: string, inspect: (jm: JobMaster, rest: string, cluster: MiniCluster) => Promise<void>): Promise<void> {
  const config = Configuration.fromMap({
    'state.checkpoints.dir': join(root, 'chk'), 'env.log.dir': join(root, 'log'), 'index.path': join(root, 'index.sqlite'),
    'taskmanager.numberOfTaskSlots': '2', 'execution.buffer-timeout': '10 ms',
  });
  const index = openIndex(config);
  const cluster = new MiniCluster(config, index, Logger.toFile(join(root, 'log', 'metrics.log')));
  try {
    const rest = await cluster.startRestEndpoint();
    await runProgram(file, [], config.toMap(), 'submit', async (graph) => {
      const jobId = newJobId();
      const jm = await cluster.submitJob(graph, { jobId, jobFile: file, programArgs: [], stdout: () => {} });
      await inspect(jm, rest, cluster);
      return { getJobID: () => jobId, getNetRuntime: () => 0 };
    });
  } finally {
    await cluster.close();
    index.close();
  }
}

async function get(rest: string, path: string): Promise<any> {
  const r = await fetch(`${rest}${path}`);
  assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('task metrics', { timeout: 120_000 }, () => {
  test('a bounded job: records in/out per vertex equal what it processed, bytes between slots match', async () => {
    const file = jobFile('bounded', `
import { StreamExecutionEnvironment } from 'flink-ts';
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(2);
env.fromSequence(1, 5000)
  .filter((x: number) => x % 5 !== 0)            // 4000 leave the source vertex
  .keyBy((x: number) => x % 7)
  .map((x: number) => [x % 7, x])
  .flatMap((t: [number, number], out: { collect(v: number): void }) => { if (t[1] % 2 === 0) out.collect(t[1]); }) // 2000 leave
  .addSink(() => {});
await env.execute('bounded metrics job');
`);
    await withJob(file, async (jm, rest) => {
      const result = await jm.result;
      assert.equal(result.status, 'FINISHED');
      const d = await get(rest, `/jobs/${jm.jobId}`);
      assert.equal(d.vertices.length, 2, JSON.stringify(d.vertices.map((v: any) => v.name)));
      const [src, keyed] = d.vertices;
      assert.deepEqual(
        [src.metrics['read-records'], src.metrics['write-records'], keyed.metrics['read-records'], keyed.metrics['write-records']],
        [0, 4000, 4000, 0],
      );
      for (const v of d.vertices) {
        for (const k of ['read-records-complete', 'write-records-complete', 'read-bytes-complete', 'write-bytes-complete']) assert.equal(v.metrics[k], true, k);
      }
      // Two slots: half the keyed channels cross workers, serialized; what one side wrote the other read.
      assert.ok(src.metrics['write-bytes'] > 0);
      assert.equal(keyed.metrics['read-bytes'], src.metrics['write-bytes']);
      // The subtask view sums to the same.
      const agg = await get(rest, `/jobs/${jm.jobId}/vertices/${keyed.id}/subtasks/metrics?get=numRecordsIn,numRecordsOut&agg=sum,max`);
      assert.deepEqual(agg, [{ id: 'numRecordsIn', sum: 4000, max: agg[0].max }, { id: 'numRecordsOut', sum: 0, max: 0 }]);
      const perSubtask = await get(rest, `/jobs/${jm.jobId}/vertices/${keyed.id}/metrics?get=0.numRecordsIn,1.numRecordsIn`);
      assert.equal(perSubtask.reduce((a: number, m: any) => a + Number(m.value), 0), 4000);
      // At the end of input the watermark is Long.MAX_VALUE, as in Flink.
      const wm = await get(rest, `/jobs/${jm.jobId}/vertices/${keyed.id}/watermarks`);
      assert.deepEqual(wm.map((m: any) => m.id).sort(), ['0.currentInputWatermark', '1.currentInputWatermark']);
      assert.ok(wm.every((m: any) => m.value === '9223372036854775807'), JSON.stringify(wm));
      assert.deepEqual(await get(rest, `/jobs/${jm.jobId}/vertices/${src.id}/watermarks`), [], 'a source has no input watermark');
      // An unknown vertex: no metrics and 'deprecated' backpressure (Flink's answers), a 404 for its watermarks.
      const unknown = `/jobs/${jm.jobId}/vertices/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee`;
      assert.deepEqual(await get(rest, `${unknown}/metrics`), []);
      assert.deepEqual(await get(rest, `${unknown}/backpressure`), { status: 'deprecated' });
      assert.equal((await fetch(`${rest}${unknown}/watermarks`)).status, 404);
    });
  });

  test('a slow sink: HIGH backpressure upstream, OK at the sink, which is busy; rates are per second', async () => {
    const file = jobFile('slow', `
import { StreamExecutionEnvironment } from 'flink-ts';
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(1);
env.fromSequence(1, 1_000_000_000)
  .rebalance()
  .addSink(() => { const until = performance.now() + 1; while (performance.now() < until) { /* a slow external system */ } });
await env.execute('slow sink job');
`);
    await withJob(file, async (jm, rest) => {
      await waitFor('RUNNING', async () => (jm.status === 'RUNNING' ? true : undefined));
      const d = await get(rest, `/jobs/${jm.jobId}`);
      const [src, sink] = d.vertices;
      const bp = await waitFor('HIGH backpressure at the source', async () => {
        const s = await get(rest, `/jobs/${jm.jobId}/vertices/${src.id}/backpressure`);
        return s.status === 'ok' && s.backpressureLevel === 'high' ? s : undefined;
      });
      assert.equal(bp.subtasks.length, 1);
      assert.ok(bp.subtasks[0].ratio > 0.5, JSON.stringify(bp));
      const atSink = await get(rest, `/jobs/${jm.jobId}/vertices/${sink.id}/backpressure`);
      assert.equal(atSink.backpressureLevel, 'ok', JSON.stringify(atSink));
      assert.ok(atSink.subtasks[0].busyRatio > 0.5, `the sink is busy: ${JSON.stringify(atSink)}`);
      const rates = await get(rest, `/jobs/${jm.jobId}/vertices/${sink.id}/subtasks/metrics?get=numRecordsInPerSecond`);
      // About 1 ms per record: some hundreds per second, never the source's unthrottled speed.
      assert.ok(rates[0].sum > 50 && rates[0].sum < 1500, JSON.stringify(rates));
      await jm.cancel();
    });
  });
});
