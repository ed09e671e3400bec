/** Which keyed state backend a job gets: configuration, Flink's `rocksdb`, and env.setStateBackend(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedRocksDBStateBackend, HashMapStateBackend } from '../../src/api/stateBackends.js';
import { Configuration } from '../../src/config/Configuration.js';
import { StateRecoveryOptions } from '../../src/config/ConfigOptions.js';
import { EmbeddedKeyedStateBackend } from '../../src/state/EmbeddedKeyedStateBackend.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { createKeyedStateBackend, loadStateBackend, stateBackendSpec } from '../../src/state/StateBackendLoader.js';
import { parseRestoreMode } from '../../commands/run.js';

const cfg = (m: Record<string, string>) => Configuration.fromMap(m);

test('state.backend.type: hashmap by default, embedded, and rocksdb as embedded with a notice', () => {
  assert.deepEqual(stateBackendSpec(cfg({})), { type: 'hashmap', incremental: false, localDir: join(tmpdir(), 'flink-ts-state'), notice: undefined });
  const e = stateBackendSpec(cfg({ 'state.backend.type': 'embedded', 'execution.checkpointing.incremental': 'true', 'state.backend.rocksdb.localdir': '/tmp/x' }));
  assert.deepEqual(e, { type: 'embedded', incremental: true, localDir: '/tmp/x', notice: undefined });
  const r = stateBackendSpec(cfg({ 'state.backend': 'rocksdb', 'state.backend.incremental': 'true' }));
  assert.equal(r.type, 'embedded');
  assert.equal(r.incremental, true, 'the deprecated key still counts');
  assert.match(r.notice!, /^state.backend.type 'rocksdb': using flink-ts's embedded on-disk backend/);
});

test('env.setStateBackend() wins over the configuration', () => {
  assert.equal(stateBackendSpec(cfg({ 'state.backend.type': 'rocksdb' }), new HashMapStateBackend()).type, 'hashmap');
  const s = stateBackendSpec(cfg({ 'execution.checkpointing.incremental': 'false' }), new EmbeddedRocksDBStateBackend(true));
  assert.deepEqual([s.type, s.incremental, s.notice], ['embedded', true, undefined]);
  assert.equal(stateBackendSpec(cfg({ 'execution.checkpointing.incremental': 'true' }), new EmbeddedRocksDBStateBackend()).incremental, true);
});

test('the factory builds the backend of the spec, in a per-job, operator and subtask working directory', async (t) => {
  const range = new KeyGroupRange(0, 127);
  const root = mkdtempSync(join(tmpdir(), 'flink-ts-loader-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // Loaded first, so that the default has both backends to choose from.
  await loadStateBackend({ type: 'embedded', incremental: false, localDir: root });
  // The embedded backend extends the heap one: `instanceof HeapKeyedStateBackend` holds for both, the class does not.
  const classOf = (b: object) => Object.getPrototypeOf(b).constructor;
  assert.equal(classOf(createKeyedStateBackend(undefined, range, 128, { jobId: 'j', operatorId: 'o', subtask: 0 })), HeapKeyedStateBackend);
  assert.equal(classOf(createKeyedStateBackend(stateBackendSpec(cfg({})), range, 128, { jobId: 'j', operatorId: 'o', subtask: 0 })), HeapKeyedStateBackend);
  const b = createKeyedStateBackend({ type: 'embedded', incremental: false, localDir: root }, range, 128, { jobId: 'abc', operatorId: '0123456789abcdef', subtask: 3 });
  assert.equal(classOf(b), EmbeddedKeyedStateBackend);
  assert.match((b as EmbeddedKeyedStateBackend).options.localDir, /job_abc_op_01234567_3_[0-9a-f]{8}$/);
  b.dispose();
});

test('restore modes: claim and no_claim in any case; legacy is refused', () => {
  assert.equal(parseRestoreMode('claim'), 'CLAIM');
  assert.equal(parseRestoreMode('NO_CLAIM'), 'NO_CLAIM');
  assert.throws(() => parseRestoreMode('legacy'), /removed in Flink 2.0/);
  assert.throws(() => parseRestoreMode('own'), /expected claim or no_claim/);
  assert.equal(cfg({}).get(StateRecoveryOptions.CLAIM_MODE), 'NO_CLAIM');
  assert.equal(cfg({ 'execution.savepoint-restore-mode': 'claim' }).get(StateRecoveryOptions.CLAIM_MODE), 'CLAIM');
});

test('env.setStateBackend() travels in the stream graph, which the task slots rebuild from the program', async () => {
  const { StreamExecutionEnvironment } = await import('../../src/api/StreamExecutionEnvironment.js');
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setStateBackend(new EmbeddedRocksDBStateBackend(true));
  const graph = env.getStreamGraph();
  assert.deepEqual(stateBackendSpec(cfg({}), graph.stateBackend).type, 'embedded');
  assert.equal(stateBackendSpec(cfg({}), graph.stateBackend).incremental, true);
});
