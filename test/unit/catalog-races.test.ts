/**
 * Read-then-write races on the job/snapshot catalog (the SQLite index), each interleaving reproduced
 * deterministically: the "other writer" runs inside a hook the code under test calls between its read and its
 * write (the liveness check, the REST answer, the folder scan), so the window is hit on every run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient } from '../../src/client/ClusterClient.js';
import { abandonInProgress } from '../../src/client/AbandonedSnapshots.js';
import { Configuration } from '../../src/config/Configuration.js';
import { isFlinkError } from '../../src/core/FlinkError.js';
import { writeMetadataAtomically, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';
import { CheckpointIndex, type JobRecord } from '../../src/catalog/CheckpointIndex.js';

const JOB = 'abcdefabcdefabcdefabcdefabcdef01';
const DEAD_PID = 999_999_991;

function job(patch: Partial<JobRecord> = {}): JobRecord {
  return {
    jobId: JOB, name: 'job', status: 'RUNNING', startTime: 1_700_000_000_000, endTime: null, restUrl: null, pid: DEAD_PID,
    logFile: null, checkpointDir: null, restoredFrom: null, failureCause: null, ...patch,
  };
}

describe('catalog read-then-write races', () => {
  let tmp: string;
  let n = 0;
  const fresh = () => CheckpointIndex.open({ path: join(tmp, `index-${n++}.sqlite`) });

  /** An endpoint that, when asked, lets the cluster record `status` and then vanishes (socket destroyed). */
  let finishing: { server: Server; url: string; onRequest: () => void };
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'flink-ts-catalog-races-'));
    const server = createServer((req, res) => {
      finishing.onRequest();
      res.socket?.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    finishing = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, onRequest: () => {} };
  });
  after(async () => {
    await new Promise((r) => finishing.server.close(r));
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const ended of ['FINISHED', 'CANCELED'] as const) {
    test(`flink list: a job that reaches ${ended} during the live query is not rewritten as FAILED/lost`, async () => {
      const index = fresh();
      try {
        index.upsertJob(job({ restUrl: finishing.url }));
        let asked = 0;
        finishing.onRequest = () => {
          asked++;
          index.updateJob(JOB, { status: ended, endTime: 1_700_000_001_000 });
        };
        const client = new ClusterClient({ config: Configuration.fromMap({}), index, requestTimeoutMs: 2000, isProcessAlive: () => false });
        const listed = await client.listJobs({ all: true });
        assert.equal(asked, 1, 'the interleaving happened: the endpoint was asked once, and recorded the end meanwhile');
        assert.deepEqual(listed.map((j) => [j.status, j.lost, j.failureCause]), [[ended, false, null]]);
        const row = index.getJob(JOB)!;
        assert.deepEqual([row.status, row.failureCause, row.endTime], [ended, null, 1_700_000_001_000]);
      } finally {
        finishing.onRequest = () => {};
        index.close();
      }
    });
  }

  test('flink list: a job that ends between the liveness check and the write keeps its status', async () => {
    const index = fresh();
    try {
      index.upsertJob(job({ restUrl: 'http://127.0.0.1:9' })); // nothing answers there
      const client = new ClusterClient({
        config: Configuration.fromMap({}), index, requestTimeoutMs: 2000,
        // The cluster writes FINISHED and exits just as the CLI looks at its pid.
        isProcessAlive: () => (index.updateJob(JOB, { status: 'FINISHED', endTime: 1_700_000_002_000 }), false),
      });
      const listed = await client.listJobs({ all: true });
      assert.deepEqual(listed.map((j) => [j.status, j.lost]), [['FINISHED', false]]);
      assert.equal(index.getJob(JOB)!.status, 'FINISHED');
      assert.equal(index.getJob(JOB)!.failureCause, null);
    } finally {
      index.close();
    }
  });

  test('a genuinely lost job is still marked FAILED/lost, once', async () => {
    const index = fresh();
    try {
      index.upsertJob(job({ restUrl: 'http://127.0.0.1:9' }));
      const client = new ClusterClient({ config: Configuration.fromMap({}), index, requestTimeoutMs: 2000, isProcessAlive: () => false });
      const first = await client.listJobs();
      assert.deepEqual(first.map((j) => [j.status, j.lost, j.failureCause]), [['FAILED', true, `cluster process ${DEAD_PID} is gone`]]);
      const endTime = index.getJob(JOB)!.endTime;
      assert.ok(endTime !== null);
      // A second listing neither reports it lost again nor moves its end time.
      assert.deepEqual(await client.listJobs(), []);
      assert.equal(index.getJob(JOB)!.endTime, endTime);
    } finally {
      index.close();
    }
  });

  test('savepoint/cancel against a job that finished meanwhile: "already terminated", not "lost", and the row stays FINISHED', async () => {
    const index = fresh();
    try {
      // endpointFor: the row has no endpoint yet; the cluster finishes while the CLI checks its pid.
      index.upsertJob(job({ restUrl: null }));
      const client = new ClusterClient({
        config: Configuration.fromMap({}), index, requestTimeoutMs: 2000,
        isProcessAlive: () => (index.updateJob(JOB, { status: 'FINISHED', endTime: 1_700_000_003_000 }), false),
      });
      await assert.rejects(client.cancel(JOB), (e) => isFlinkError(e) && e.kind === 'conflict' && /already terminated with status FINISHED$/.test(e.message));
      assert.equal(index.getJob(JOB)!.status, 'FINISHED');

      // withJob: the endpoint stops answering, the cluster records CANCELED while the CLI checks its pid.
      const index2 = fresh();
      try {
        index2.upsertJob(job({ restUrl: 'http://127.0.0.1:9' }));
        const client2 = new ClusterClient({
          config: Configuration.fromMap({}), index: index2, requestTimeoutMs: 2000,
          isProcessAlive: () => (index2.updateJob(JOB, { status: 'CANCELED', endTime: 1_700_000_004_000 }), false),
        });
        await assert.rejects(client2.cancel(JOB), (e) => isFlinkError(e) && e.kind === 'conflict' && /already terminated with status CANCELED$/.test(e.message));
        assert.equal(index2.getJob(JOB)!.status, 'CANCELED');
        assert.equal(index2.getJob(JOB)!.failureCause, null);
      } finally {
        index2.close();
      }
    } finally {
      index.close();
    }
  });

  test('abandoning IN_PROGRESS snapshots of a lost job leaves a row someone else settled meanwhile', () => {
    const index = fresh();
    try {
      index.upsertJob(job());
      const dir = join(tmp, `chk-abandon-${n}`);
      mkdirSync(dir, { recursive: true }); // no _metadata: a partial leftover
      index.upsertSnapshot({ jobId: JOB, checkpointId: 7, kind: 'SAVEPOINT', status: 'IN_PROGRESS', path: dir, triggerTime: 1, durationMs: null, sizeBytes: null, failureCause: null });
      // Another CLI settles the row between this one's read and its write (here: at the read, via listSnapshots).
      const listSnapshots = index.listSnapshots.bind(index);
      index.listSnapshots = (f) => {
        const rows = listSnapshots(f);
        index.updateSnapshot(dir, { status: 'DISCARDED' });
        return rows;
      };
      abandonInProgress(index, JOB, 'abandoned: test');
      index.listSnapshots = listSnapshots;
      assert.equal(index.findSnapshotByPath(dir)!.status, 'DISCARDED');
    } finally {
      index.close();
    }
  });

  test('rebuild: a checkpoint discarded between the folder scan and the merge is not resurrected as COMPLETED', () => {
    const checkpointsDir = join(tmp, `checkpoints-${n}`);
    const chk = join(checkpointsDir, JOB, 'chk-1');
    mkdirSync(chk, { recursive: true });
    const md: CheckpointMetadata = {
      formatVersion: 1, jobId: JOB, jobName: 'job', checkpointId: 1, kind: 'CHECKPOINT', format: 'NATIVE',
      triggerTimestamp: 1_700_000_000_000, completionTimestamp: 1_700_000_000_100, maxParallelism: 128, operators: [],
    };
    writeMetadataAtomically(chk, md);
    const index = CheckpointIndex.open({ path: join(tmp, `index-${n++}.sqlite`), checkpointsDir });
    try {
      assert.equal(index.findSnapshotByPath(chk)!.status, 'COMPLETED');
      // The folder holds its _metadata when scanned; the cluster then discards the checkpoint (folder first, then
      // the row), before the merge takes the write lock.
      index.updateSnapshot(chk, { status: 'FAILED', failureCause: 'x' }); // a row the merge would normally rewrite
      const internals = index as unknown as { scan: () => unknown[] };
      const scan = internals.scan.bind(index);
      internals.scan = () => {
        const found = scan();
        rmSync(chk, { recursive: true, force: true });
        index.updateSnapshot(chk, { status: 'DISCARDED' });
        return found;
      };
      index.rebuild();
      assert.equal(index.findSnapshotByPath(chk)!.status, 'DISCARDED');
    } finally {
      index.close();
    }
  });
});
