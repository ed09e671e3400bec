/** The client side of a remote (Apache Flink) cluster that needs no cluster: address resolution, client.timeout, JAR checks. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { jobManagerAddress } from '../../commands/base.js';
import { checkJarFile } from '../../src/client/JarSubmission.js';
import { isRemoteRecord } from '../../src/client/RemoteJobs.js';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';
import { ClientOptions } from '../../src/config/ConfigOptions.js';
import { Configuration } from '../../src/config/Configuration.js';
import { isFlinkError } from '../../src/core/FlinkError.js';

describe('a remote cluster from the client side', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ts-remote-client-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('-m wins; else rest.address/rest.port when either is set (Flink\'s defaults fill the other); else the index', () => {
    assert.equal(jobManagerAddress(new Configuration([['rest.port', '9000']]), 'jm:8081'), 'jm:8081');
    assert.equal(jobManagerAddress(new Configuration([['rest.port', '9000']]), undefined), 'localhost:9000');
    assert.equal(jobManagerAddress(new Configuration([['rest.address', 'jm.example']]), undefined), 'jm.example:8081');
    assert.equal(jobManagerAddress(new Configuration([['rest.bind-address', '127.0.0.1']]), undefined), undefined);
  });

  it("client.timeout: Flink's default of 60 s, durations in Flink's syntax", () => {
    assert.equal(new Configuration().get(ClientOptions.CLIENT_TIMEOUT), 60_000);
    assert.equal(new Configuration([['client.timeout', '2 s']]).get(ClientOptions.CLIENT_TIMEOUT), 2_000);
    assert.equal(new Configuration([['client.timeout', '1min']]).get(ClientOptions.CLIENT_TIMEOUT), 60_000);
  });

  it('a JAR is checked before any upload: missing (exit 3), a folder or not a zip archive (exit 2)', () => {
    const kind = (f: () => void) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        assert.ok(isFlinkError(e));
        return `${e.kind}: ${e.message}`;
      }
    };
    assert.match(kind(() => checkJarFile(join(dir, 'missing.jar'))), /^not-found: JAR file does not exist: /);
    assert.match(kind(() => checkJarFile(dir)), /^invalid-argument: JAR file is not a file: /);
    writeFileSync(join(dir, 'text.jar'), 'not a jar');
    assert.match(kind(() => checkJarFile(join(dir, 'text.jar'))), /^invalid-argument: Error while opening jar file '.*text\.jar': not a JAR \(zip\) archive$/);
    writeFileSync(join(dir, 'zip.jar'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]));
    assert.equal(kind(() => checkJarFile(join(dir, 'zip.jar'))), 'ok');
  });

  it('a remote job row: a cluster URL and no process of ours', () => {
    assert.equal(isRemoteRecord({ pid: null, restUrl: 'http://jm:8081' }), true);
    assert.equal(isRemoteRecord({ pid: 42, restUrl: 'http://127.0.0.1:40000' }), false);
    assert.equal(isRemoteRecord({ pid: null, restUrl: null }), false); // rebuilt from folders
  });
});

describe('a remote job\'s checkpoints as its cluster\'s statistics tell them (CheckpointIndex.syncRemoteSnapshots)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ts-remote-sync-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const jobId = 'ab'.repeat(16);
  const chk = (id: number, status: 'COMPLETED' | 'DISCARDED', kind: 'CHECKPOINT' | 'SAVEPOINT' = 'CHECKPOINT') => ({
    jobId, checkpointId: id, kind, status, path: `file:/flink/chk/${jobId}/${kind === 'SAVEPOINT' ? 'savepoint' : 'chk'}-${id}`,
    triggerTime: 1_000 + id, durationMs: 10, sizeBytes: 100, failureCause: null,
  });

  it('records retained ones, marks what Flink discarded or subsumed out of its history, never revives a disposed row', () => {
    const index = CheckpointIndex.open({ path: join(dir, 'catalog.sqlite') });
    try {
      index.upsertJob({
        jobId, name: 'CountingJob', status: 'RUNNING', startTime: 1, endTime: null, restUrl: 'http://127.0.0.1:1', pid: null,
        logFile: null, checkpointDir: null, restoredFrom: null, failureCause: null, checkpointStorage: null,
      });
      const status = () => Object.fromEntries(index.listSnapshots({ jobId }).map((r) => [`${r.kind}-${r.checkpointId}`, r.status]));
      // First look: 2 retained, 1 discarded (never recorded: not added), a savepoint from someone else's CLI.
      index.syncRemoteSnapshots(jobId, [chk(3, 'COMPLETED'), chk(2, 'COMPLETED'), chk(1, 'DISCARDED'), chk(2, 'COMPLETED', 'SAVEPOINT')]);
      assert.deepEqual(status(), { 'CHECKPOINT-3': 'COMPLETED', 'CHECKPOINT-2': 'COMPLETED', 'SAVEPOINT-2': 'COMPLETED' });
      // Later: 2 was subsumed and is flagged, 3 fell out of the bounded history; 9 is retained.
      index.syncRemoteSnapshots(jobId, [chk(9, 'COMPLETED'), chk(8, 'DISCARDED'), chk(2, 'DISCARDED')]);
      assert.deepEqual(status(), { 'CHECKPOINT-9': 'COMPLETED', 'CHECKPOINT-3': 'DISCARDED', 'CHECKPOINT-2': 'DISCARDED', 'SAVEPOINT-2': 'COMPLETED' });
      // A savepoint disposed through us stays DISCARDED although Flink's statistics still list it as completed.
      index.upsertRemoteSnapshot({ ...chk(2, 'DISCARDED', 'SAVEPOINT') });
      index.syncRemoteSnapshots(jobId, [chk(9, 'COMPLETED'), chk(2, 'COMPLETED', 'SAVEPOINT')]);
      assert.equal(status()['SAVEPOINT-2'], 'DISCARDED');
      // Cancelled with DELETE_ON_CANCELLATION: everything discarded, nothing retained.
      index.syncRemoteSnapshots(jobId, [chk(10, 'DISCARDED')]);
      assert.equal(status()['CHECKPOINT-9'], 'DISCARDED');
      assert.equal(index.listSnapshots({ jobId, kind: 'CHECKPOINT', status: 'COMPLETED' }).length, 0);
    } finally {
      index.close();
    }
  });
});
