import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJob } from '../../src/client/JobRunner.js';
import { Configuration } from '../../src/config/Configuration.js';
import { newJobId } from '../../src/core/ids.js';

// GET /jobs/:jobid/checkpoints/config names the state backend the job really runs on (Flink's CheckpointConfigInfo).

const root = mkdtempSync(join(tmpdir(), 'flink-ts-ckcfg-backend-'));
after(() => rmSync(root, { recursive: true, force: true }));

const JOB = join(root, 'Endless.ts');
writeFileSync(JOB, `
import { EmbeddedRocksDBStateBackend, StreamExecutionEnvironment } from 'flink-ts';
const env = StreamExecutionEnvironment.getExecutionEnvironment();
if (process.argv.includes('--program-embedded')) env.setStateBackend(new EmbeddedRocksDBStateBackend());
env.fromSequence(1, 1_000_000_000).keyBy((x: number) => x % 7).sum(0).filter(() => false).print();
await env.execute('endless');
`);

/** Runs the job until it is reachable over REST, reads the endpoint, and cancels it. */
async function stateBackendOf(extra: Record<string, string>, args: string[] = []): Promise<unknown> {
  let cancel: () => void = () => {};
  const cancelSignal = new Promise<void>((r) => (cancel = r));
  let body: Record<string, unknown> | undefined;
  let failure: unknown;
  const config = Configuration.fromMap({
    'state.checkpoints.dir': join(root, 'checkpoints'), 'env.log.dir': join(root, 'log'), 'index.path': join(root, 'index.sqlite'),
    'state.backend.rocksdb.localdir': join(root, 'local'), ...extra,
  });
  const jobId = newJobId();
  await runJob({
    jobFile: JOB, programArgs: args, config, jobId, stdout: () => {}, cancelSignal,
    onSubmitted: ({ restUrl }) => {
      fetch(`${restUrl}/jobs/${jobId}/checkpoints/config`)
        .then(async (r) => (body = (await r.json()) as Record<string, unknown>), (e) => (failure = e))
        .finally(cancel);
    },
  });
  assert.equal(failure, undefined);
  return body?.state_backend;
}

describe('checkpoint config over REST', () => {
  test('state_backend is HashMapStateBackend on the heap, EmbeddedRocksDBStateBackend on the embedded backend', async () => {
    assert.equal(await stateBackendOf({ 'state.backend.type': 'hashmap' }), 'HashMapStateBackend');
    assert.equal(await stateBackendOf({ 'state.backend.type': 'embedded' }), 'EmbeddedRocksDBStateBackend');
    assert.equal(await stateBackendOf({ 'state.backend.type': 'hashmap' }, ['--program-embedded']), 'EmbeddedRocksDBStateBackend', 'the program\'s choice wins');
  });
});
