import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { FlinkError, isFlinkError, type ErrorKind } from '../../src/core/FlinkError.js';
import { isGloballyTerminal, type JobStatus } from '../../src/core/JobStatus.js';
import type { AsyncOperationStatus, CheckpointConfig, Dispatcher, JobDetails, JobSummary, TaskCounts } from '../../src/rest/Dispatcher.js';
import { CheckpointStatsTracker, type CheckpointStats, type TrackedCheckpoint } from '../../src/checkpoint/CheckpointStatsTracker.js';
import type { SavepointFormatType } from '../../src/core/SavepointFormatType.js';
import type { CheckpointType } from '../../src/checkpoint/CheckpointOptions.js';
import { RestServer, expandPortSpec } from '../../src/rest/RestServer.js';
import { RestClient, normalizeEndpoint } from '../../src/rest/RestClient.js';
import { failureMessage } from '../../src/rest/decode.js';
import { disposeSavepoint } from '../../src/checkpoint/SavepointDisposal.js';
import { writeMetadataAtomically, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';
import { ClusterClient, parseJobId } from '../../src/client/ClusterClient.js';
import { Configuration } from '../../src/config/Configuration.js';
import { CheckpointIndex, type JobRecord } from '../../src/catalog/CheckpointIndex.js';

// ---------------------------------------------------------------------------------------------------------
// A fake cluster: just enough state to exercise every path of the REST layer.
// ---------------------------------------------------------------------------------------------------------

const JOB_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const JOB_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const JOB_DONE = 'dddddddddddddddddddddddddddddddd';
const UNKNOWN = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee';

function tasks(running: number): TaskCounts {
  return {
    CREATED: 0, SCHEDULED: 0, DEPLOYING: 0, RUNNING: running, FINISHED: 0, CANCELING: 0, CANCELED: 0, FAILED: 0,
    RECONCILING: 0, INITIALIZING: 0,
  };
}

interface Trigger { jobId: string; polls: number; result: AsyncOperationStatus; kind: 'savepoint' | 'stop' | 'cancel-savepoint' }

class FakeDispatcher implements Dispatcher {
  readonly flinkVersion = '1.20.0';
  readonly jobs = new Map<string, JobDetails>();
  readonly triggers = new Map<string, Trigger>();
  readonly disposals = new Map<string, AsyncOperationStatus>();
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  failNextSavepoint: string | undefined;
  throwPlain = false;
  private seq = 0;

  constructor() {
    this.add(JOB_A, 'WordCount', 'RUNNING', 1_700_000_000_000);
    this.add(JOB_B, 'Sessionize', 'CREATED', 1_700_000_100_000);
    this.add(JOB_DONE, 'Batch', 'FINISHED', 1_600_000_000_000, 1_600_000_500_000);
  }

  add(id: string, name: string, status: JobStatus, start: number, end = -1): void {
    this.jobs.set(id, {
      id, name, status, startTime: start, endTime: end, lastModification: start, tasks: tasks(2), isStoppable: false,
      timestamps: { INITIALIZING: start, RUNNING: start + 5 },
      vertices: [{
        id: 'cccccccccccccccccccccccccccccccc', name: 'Source: numbers -> Map', parallelism: 2, maxParallelism: 128,
        status: 'RUNNING', startTime: start, endTime: -1, tasks: tasks(2),
      }],
    });
  }

  private job(jobId: string): JobDetails {
    if (this.throwPlain) throw new Error('boom: a bug in the dispatcher');
    const j = this.jobs.get(jobId);
    if (!j) throw new FlinkError('not-found', `Job ${jobId} not found`);
    return j;
  }

  private running(jobId: string): JobDetails {
    const j = this.job(jobId);
    if (isGloballyTerminal(j.status)) throw new FlinkError('conflict', `Job ${jobId} is in state ${j.status}`);
    return j;
  }

  listJobs(): JobSummary[] {
    if (this.throwPlain) throw new Error('boom: a bug in the dispatcher');
    return [...this.jobs.values()];
  }

  jobDetails(jobId: string): JobDetails {
    return this.job(jobId);
  }

  cancelJob(jobId: string): void {
    this.calls.push({ method: 'cancelJob', args: [jobId] });
    this.running(jobId).status = 'CANCELED';
  }

  private trigger(jobId: string, kind: Trigger['kind'], targetDirectory?: string): string {
    const id = (++this.seq).toString(16).padStart(32, '0');
    const fail = this.failNextSavepoint;
    this.failNextSavepoint = undefined;
    this.triggers.set(id, {
      jobId, kind, polls: 0,
      result: fail ? { status: 'COMPLETED', failureCause: fail }
        : { status: 'COMPLETED', location: `file:${targetDirectory ?? '/default'}/savepoint-${jobId.slice(0, 6)}-${id.slice(-12)}` },
    });
    return id;
  }

  triggerSavepoint(jobId: string, opts: { targetDirectory?: string; cancelJob: boolean; formatType?: SavepointFormatType }): string {
    this.calls.push({ method: 'triggerSavepoint', args: [jobId, opts] });
    this.running(jobId);
    return this.trigger(jobId, opts.cancelJob ? 'cancel-savepoint' : 'savepoint', opts.targetDirectory);
  }

  stopWithSavepoint(jobId: string, opts: { targetDirectory?: string; drain: boolean; formatType?: SavepointFormatType }): string {
    this.calls.push({ method: 'stopWithSavepoint', args: [jobId, opts] });
    this.running(jobId);
    return this.trigger(jobId, 'stop', opts.targetDirectory);
  }

  savepointStatus(jobId: string, triggerId: string): AsyncOperationStatus {
    const t = this.triggers.get(triggerId);
    if (!t || t.jobId !== jobId) throw new FlinkError('not-found', `There is no savepoint operation with triggerId=${triggerId} for job ${jobId}`);
    // One IN_PROGRESS answer first, so clients must poll.
    if (t.polls++ === 0) return { status: 'IN_PROGRESS' };
    if (t.kind !== 'savepoint' && 'location' in t.result) this.jobs.get(jobId)!.status = t.kind === 'stop' ? 'FINISHED' : 'CANCELED';
    return t.result;
  }

  disposeSavepoint(savepointPath: string): string {
    this.calls.push({ method: 'disposeSavepoint', args: [savepointPath] });
    const id = `d${(++this.seq).toString(16).padStart(31, '0')}`;
    this.disposals.set(id, savepointPath.includes('missing')
      ? { status: 'COMPLETED', failureCause: `Refusing to dispose '${savepointPath}': it has no _metadata file` }
      : { status: 'COMPLETED', location: savepointPath });
    return id;
  }

  disposalStatus(triggerId: string): AsyncOperationStatus {
    const s = this.disposals.get(triggerId);
    if (!s) throw new FlinkError('not-found', `There is no disposal operation with triggerId=${triggerId}`);
    return s;
  }

  checkpointStats(jobId: string): CheckpointStats {
    this.job(jobId);
    // The real tracker, fed as the coordinator feeds it: checkpoint 7 completed, 8 expired.
    const t = new CheckpointStatsTracker(jobId);
    const p = (id: number, acked: number): TrackedCheckpoint => ({
      id, isSavepoint: false, location: `/tmp/chk-${id}`, triggerTs: 10, numSubtasks: 2, numAcknowledged: acked, unaligned: false,
    });
    t.record(p(7, 0), 'IN_PROGRESS');
    t.record(p(7, 2), 'COMPLETED', { size: 1234, duration: 10 });
    t.record(p(8, 0), 'IN_PROGRESS');
    t.record(p(8, 0), 'FAILED', { failure: 'Checkpoint expired before completing.' });
    return t.stats();
  }

  readonly checkpointTriggers = new Map<string, { jobId: string; type: string; polls: number }>();

  triggerCheckpoint(jobId: string, checkpointType: CheckpointType): string {
    if (this.job(jobId).status !== 'RUNNING') throw new FlinkError('conflict', `Job ${jobId} is not running`);
    const id = `c${++this.seq}`;
    this.checkpointTriggers.set(id, { jobId, type: checkpointType, polls: 0 });
    return id;
  }

  checkpointStatus(jobId: string, triggerId: string): AsyncOperationStatus {
    const t = this.checkpointTriggers.get(triggerId);
    if (!t || t.jobId !== jobId) throw new FlinkError('not-found', `There is no checkpoint operation with trigger id ${triggerId} for job ${jobId}.`);
    return ++t.polls < 2 ? { status: 'IN_PROGRESS' } : { status: 'COMPLETED', checkpointId: 42, location: 'file:/tmp/chk-42' };
  }

  checkpointConfig(jobId: string): CheckpointConfig {
    this.job(jobId);
    return { mode: 'EXACTLY_ONCE', interval: 500, timeout: 600000, minPause: 0, maxConcurrent: 1, tolerableFailures: 0, unaligned: true, alignedTimeout: 0, retention: 'RETAIN_ON_CANCELLATION' };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Raw HTTP helpers (fetch would hide some of what we check: chunked bodies, exact statuses, headers)
// ---------------------------------------------------------------------------------------------------------

interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; json: any }

function raw(base: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    // A server that answers early may reset while we still send; the answer is what matters.
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function kindOf(kind: ErrorKind) {
  return (e: unknown) => {
    assert.ok(isFlinkError(e), `expected a FlinkError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    return true;
  };
}

// ---------------------------------------------------------------------------------------------------------

describe('RestServer', () => {
  let fake: FakeDispatcher;
  let server: RestServer;
  let base: string;

  before(async () => {
    fake = new FakeDispatcher();
    server = new RestServer(fake, { host: '127.0.0.1', port: 0, maxBodyBytes: 1024 * 1024 });
    base = await server.start();
  });
  after(() => server.close());

  test('binds loopback on a free port and exposes its URL', () => {
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.port > 0);
    assert.equal(server.url, base);
  });

  test('GET /config and /overview', async () => {
    const cfg = await raw(base, 'GET', '/config');
    assert.equal(cfg.status, 200);
    assert.match(String(cfg.headers['content-type']), /application\/json/);
    assert.equal(cfg.json['flink-version'], '1.20.0');
    assert.equal(typeof cfg.json['refresh-interval'], 'number');
    assert.equal(typeof cfg.json.features['web-cancel'], 'boolean');

    const ov = await raw(base, 'GET', '/overview');
    assert.equal(ov.status, 200);
    assert.equal(ov.json['flink-version'], '1.20.0');
    assert.equal(ov.json['jobs-running'], 2);
    assert.equal(ov.json['jobs-finished'], 1);
    assert.equal(ov.json['jobs-cancelled'], 0);
    assert.equal(ov.json['jobs-failed'], 0);
    assert.equal(ov.json.taskmanagers, 1);
  });

  test('GET /jobs and /jobs/overview', async () => {
    const jobs = await raw(base, 'GET', '/jobs');
    assert.equal(jobs.status, 200);
    assert.deepEqual(
      [...jobs.json.jobs].sort((a: any, b: any) => a.id.localeCompare(b.id)),
      [{ id: JOB_A, status: 'RUNNING' }, { id: JOB_B, status: 'CREATED' }, { id: JOB_DONE, status: 'FINISHED' }],
    );
    const ov = await raw(base, 'GET', '/jobs/overview');
    assert.equal(ov.status, 200);
    const a = ov.json.jobs.find((j: any) => j.jid === JOB_A);
    assert.equal(a.name, 'WordCount');
    assert.equal(a.state, 'RUNNING');
    assert.equal(a['start-time'], 1_700_000_000_000);
    assert.equal(a['end-time'], -1);
    assert.ok(a.duration > 0);
    assert.equal(a['last-modification'], 1_700_000_000_000);
    assert.equal(a.tasks.total, 2);
    assert.equal(a.tasks.running, 2);
    const done = ov.json.jobs.find((j: any) => j.jid === JOB_DONE);
    assert.equal(done.duration, 500_000);
  });

  test('GET /jobs/:jobid: details, 404 for unknown, 400 for malformed ids', async () => {
    const d = await raw(base, 'GET', `/jobs/${JOB_A}`);
    assert.equal(d.status, 200);
    assert.equal(d.json.jid, JOB_A);
    assert.equal(d.json.state, 'RUNNING');
    assert.equal(d.json.vertices[0].parallelism, 2);
    assert.equal(d.json.vertices[0].name, 'Source: numbers -> Map');
    assert.equal(d.json.timestamps.RUNNING, 1_700_000_000_005);
    assert.equal(typeof d.json.now, 'number');

    // Job ids are hex, case-insensitive like Flink's JobID.
    assert.equal((await raw(base, 'GET', `/jobs/${JOB_A.toUpperCase()}`)).status, 200);

    const missing = await raw(base, 'GET', `/jobs/${UNKNOWN}`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { errors: [`Job ${UNKNOWN} not found`] });
    assert.equal(missing.headers['x-flink-ts-error-kind'], 'not-found');

    const bad = await raw(base, 'GET', '/jobs/not-a-job-id');
    assert.equal(bad.status, 400);
    assert.match(bad.json.errors[0], /jobid/);
  });

  test('the restart count: numRestarts in the job details and as Flink\'s job metric', async () => {
    fake.jobs.get(JOB_A)!.numRestarts = 3;
    try {
      assert.equal((await raw(base, 'GET', `/jobs/${JOB_A}`)).json.numRestarts, 3);
      assert.deepEqual((await raw(base, 'GET', `/jobs/${JOB_A}/metrics`)).json, [{ id: 'numRestarts' }]);
      assert.deepEqual((await raw(base, 'GET', `/jobs/${JOB_A}/metrics?get=numRestarts,unknownMetric`)).json, [{ id: 'numRestarts', value: '3' }]);
      assert.equal((await raw(base, 'GET', `/jobs/${UNKNOWN}/metrics?get=numRestarts`)).status, 404);
      assert.equal((await new RestClient(base).jobDetails(JOB_A)).numRestarts, 3);
      assert.equal(await new RestClient(base).numRestarts(JOB_A), 3);
      // flink list -m: from the metric, as against a real Flink cluster (whose job details do not carry it).
      const listed = await new ClusterClient({ config: Configuration.fromMap({}), jobmanager: base }).listJobs();
      assert.equal(listed.find((j) => j.jobId === JOB_A)?.numRestarts, 3);
    } finally {
      delete fake.jobs.get(JOB_A)!.numRestarts;
    }
  });

  test('unknown paths are 404, known paths with another method 405, /v1 prefix accepted', async () => {
    const nf = await raw(base, 'GET', '/nope');
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.json, { errors: ['Not found: /nope'] });
    const m = await raw(base, 'DELETE', `/jobs/${JOB_A}`);
    assert.equal(m.status, 405);
    assert.match(String(m.headers.allow), /GET/);
    assert.match(String(m.headers.allow), /PATCH/);
    assert.ok(Array.isArray(m.json.errors));
    assert.equal((await raw(base, 'GET', '/v1/config')).status, 200);
    assert.equal((await raw(base, 'GET', '/jobs/')).status, 200);
  });

  test('PATCH /jobs/:jobid cancels (202), then 409; bad modes are 400', async () => {
    const local = new FakeDispatcher();
    const s = new RestServer(local);
    const url = await s.start();
    try {
      assert.equal((await raw(url, 'PATCH', `/jobs/${JOB_A}?mode=stop`)).status, 400);
      const bogus = await raw(url, 'PATCH', `/jobs/${JOB_A}?mode=explode`);
      assert.equal(bogus.status, 400);
      assert.match(bogus.json.errors[0], /mode/);
      assert.equal(local.jobs.get(JOB_A)!.status, 'RUNNING');

      const ok = await raw(url, 'PATCH', `/jobs/${JOB_A}?mode=cancel`);
      assert.equal(ok.status, 202);
      assert.deepEqual(ok.json, {});
      assert.equal(local.jobs.get(JOB_A)!.status, 'CANCELED');

      const again = await raw(url, 'PATCH', `/jobs/${JOB_A}?mode=cancel`);
      assert.equal(again.status, 409);
      assert.match(again.json.errors[0], /CANCELED/);
      assert.equal((await raw(url, 'PATCH', `/jobs/${UNKNOWN}`)).status, 404);
    } finally {
      await s.close();
    }
  });

  test('POST /jobs/:jobid/savepoints and polling the trigger', async () => {
    const res = await raw(base, 'POST', `/jobs/${JOB_A}/savepoints`,
      JSON.stringify({ 'target-directory': '/tmp/sp', 'cancel-job': false, formatType: 'NATIVE' }),
      { 'Content-Type': 'application/json' });
    assert.equal(res.status, 202);
    const trigger = res.json['request-id'];
    assert.match(trigger, /^[0-9a-f]{32}$/);
    assert.deepEqual(fake.calls.at(-1), { method: 'triggerSavepoint', args: [JOB_A, { targetDirectory: '/tmp/sp', cancelJob: false, formatType: 'NATIVE' }] });

    const first = await raw(base, 'GET', `/jobs/${JOB_A}/savepoints/${trigger}`);
    assert.equal(first.status, 200);
    assert.deepEqual(first.json, { status: { id: 'IN_PROGRESS' } });
    const second = await raw(base, 'GET', `/jobs/${JOB_A}/savepoints/${trigger}`);
    assert.equal(second.json.status.id, 'COMPLETED');
    assert.match(second.json.operation.location, /^file:\/tmp\/sp\/savepoint-aaaaaa-/);

    const unknownTrigger = await raw(base, 'GET', `/jobs/${JOB_A}/savepoints/${'0'.repeat(32)}`);
    assert.equal(unknownTrigger.status, 404);

    // Every field is optional: an empty body uses the defaults.
    const empty = await raw(base, 'POST', `/jobs/${JOB_A}/savepoints`);
    assert.equal(empty.status, 202);
    assert.deepEqual(fake.calls.at(-1)!.args[1], { targetDirectory: undefined, cancelJob: false, formatType: undefined });
  });

  test('a failed savepoint reports its cause as failure-cause', async () => {
    fake.failNextSavepoint = 'Checkpoint Coordinator is suspended.';
    const res = await raw(base, 'POST', `/jobs/${JOB_A}/savepoints`, JSON.stringify({ 'target-directory': '/x' }));
    const trigger = res.json['request-id'];
    await raw(base, 'GET', `/jobs/${JOB_A}/savepoints/${trigger}`);
    const done = await raw(base, 'GET', `/jobs/${JOB_A}/savepoints/${trigger}`);
    assert.equal(done.json.status.id, 'COMPLETED');
    const cause = done.json.operation['failure-cause'];
    assert.equal(typeof cause.class, 'string');
    assert.match(cause['stack-trace'], /Checkpoint Coordinator is suspended\./);
    assert.equal(failureMessage(cause), 'Checkpoint Coordinator is suspended.');
    assert.equal(done.json.operation.location, undefined);
  });

  test('savepoint requests on finished or unknown jobs: 409 / 404', async () => {
    assert.equal((await raw(base, 'POST', `/jobs/${JOB_DONE}/savepoints`, '{}')).status, 409);
    assert.equal((await raw(base, 'POST', `/jobs/${UNKNOWN}/savepoints`, '{}')).status, 404);
  });

  test('malformed and ill-typed bodies are 400, never a crash', async () => {
    const cases: Array<[string, string]> = [
      [`/jobs/${JOB_A}/savepoints`, '{"target-directory": '],
      [`/jobs/${JOB_A}/savepoints`, 'not json at all'],
      [`/jobs/${JOB_A}/savepoints`, '[1,2,3]'],
      [`/jobs/${JOB_A}/savepoints`, '"a string"'],
      [`/jobs/${JOB_A}/savepoints`, '{"cancel-job": "yes"}'],
      [`/jobs/${JOB_A}/savepoints`, '{"target-directory": 42}'],
      [`/jobs/${JOB_A}/savepoints`, '{"formatType": "WEIRD"}'],
      [`/jobs/${JOB_A}/stop`, '{"drain": 1}'],
      ['/savepoint-disposal', '{}'],
      ['/savepoint-disposal', '{"savepoint-path": ""}'],
      ['/savepoint-disposal', '\u0000\u0001\u0002'],
    ];
    for (const [path, body] of cases) {
      const res = await raw(base, 'POST', path, body, { 'Content-Type': 'application/json' });
      assert.equal(res.status, 400, `${path} ${body}`);
      assert.ok(Array.isArray(res.json.errors) && res.json.errors.length > 0, `${path} ${body}`);
    }
    // The server still answers.
    assert.equal((await raw(base, 'GET', '/config')).status, 200);
  });

  test('bodies over the limit are 413, declared or chunked', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
    const declared = await raw(base, 'POST', `/jobs/${JOB_A}/savepoints`, big,
      { 'Content-Type': 'application/json', 'Content-Length': String(big.length) });
    assert.equal(declared.status, 413);
    assert.match(declared.json.errors[0], /exceeds/);

    // Chunked: no Content-Length, so the limit is enforced while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/jobs/${JOB_A}/savepoints`, { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let i = 0; i < 20; i++) req.write(chunk);
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal((await raw(base, 'GET', '/config')).status, 200);

    const small = new RestServer(new FakeDispatcher(), { maxBodyBytes: 16 });
    const url = await small.start();
    try {
      const res = await raw(url, 'POST', '/savepoint-disposal', JSON.stringify({ 'savepoint-path': '/a/rather/long/path' }));
      assert.equal(res.status, 413);
    } finally {
      await small.close();
    }
  });

  test('POST /jobs/:jobid/stop forwards targetDirectory and drain', async () => {
    const local = new FakeDispatcher();
    const s = new RestServer(local);
    const url = await s.start();
    try {
      const res = await raw(url, 'POST', `/jobs/${JOB_A}/stop`, JSON.stringify({ targetDirectory: '/tmp/stop', drain: true }));
      assert.equal(res.status, 202);
      assert.deepEqual(local.calls.at(-1), { method: 'stopWithSavepoint', args: [JOB_A, { targetDirectory: '/tmp/stop', drain: true, formatType: undefined }] });
      const trigger = res.json['request-id'];
      await raw(url, 'GET', `/jobs/${JOB_A}/savepoints/${trigger}`);
      const done = await raw(url, 'GET', `/jobs/${JOB_A}/savepoints/${trigger}`);
      assert.match(done.json.operation.location, /^file:\/tmp\/stop\//);
      assert.equal(local.jobs.get(JOB_A)!.status, 'FINISHED');
    } finally {
      await s.close();
    }
  });

  test('POST /savepoint-disposal and GET its status', async () => {
    const res = await raw(base, 'POST', '/savepoint-disposal', JSON.stringify({ 'savepoint-path': '/tmp/sp/savepoint-1' }));
    assert.equal(res.status, 200);
    const trigger = res.json['request-id'];
    const st = await raw(base, 'GET', `/savepoint-disposal/${trigger}`);
    assert.equal(st.status, 200);
    assert.deepEqual(st.json, { status: { id: 'COMPLETED' }, operation: {} });

    const bad = await raw(base, 'POST', '/savepoint-disposal', JSON.stringify({ 'savepoint-path': '/tmp/missing' }));
    const failed = await raw(base, 'GET', `/savepoint-disposal/${bad.json['request-id']}`);
    assert.match(failed.json.operation['failure-cause']['stack-trace'], /no _metadata/);
    assert.equal((await raw(base, 'GET', `/savepoint-disposal/${'f'.repeat(32)}`)).status, 404);
    assert.equal((await raw(base, 'GET', '/savepoint-disposal/bad%20id')).status, 400);
  });

  test('GET /jobs/:jobid/checkpoints in Flink\'s shape', async () => {
    const res = await raw(base, 'GET', `/jobs/${JOB_A}/checkpoints`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.counts, { restored: 0, total: 2, in_progress: 0, completed: 1, failed: 1 });
    assert.equal(res.json.latest.completed.className, 'completed');
    assert.equal(res.json.latest.completed.external_path, 'file:/tmp/chk-7');
    assert.equal(res.json.latest.completed.is_savepoint, false);
    assert.equal(res.json.latest.completed.state_size, 1234);
    assert.equal(res.json.latest.failed.failure_message, 'Checkpoint expired before completing.');
    assert.equal(res.json.latest.savepoint, null);
    assert.equal(res.json.latest.restored, null);
    assert.deepEqual(res.json.history.map((h: any) => h.id), [8, 7]);
    assert.equal((await raw(base, 'GET', `/jobs/${UNKNOWN}/checkpoints`)).status, 404);
  });

  test('a dispatcher bug is a 500 with a message, and the server survives', async () => {
    const local = new FakeDispatcher();
    const lines: string[] = [];
    const s = new RestServer(local, { log: (l) => lines.push(l) });
    const url = await s.start();
    try {
      local.throwPlain = true;
      const res = await raw(url, 'GET', '/jobs/overview');
      assert.equal(res.status, 500);
      assert.deepEqual(res.json.errors, ['Internal server error.', 'boom: a bug in the dispatcher']);
      assert.ok(lines.some((l) => l.includes('boom')));
      local.throwPlain = false;
      assert.equal((await raw(url, 'GET', '/jobs/overview')).status, 200);
    } finally {
      await s.close();
    }
  });

  test('serves concurrent requests', async () => {
    const work: Array<Promise<RawResponse>> = [];
    for (let i = 0; i < 40; i++) {
      work.push(raw(base, 'GET', i % 2 ? '/jobs/overview' : `/jobs/${JOB_A}`));
      work.push(raw(base, 'POST', `/jobs/${JOB_A}/savepoints`, JSON.stringify({ 'target-directory': `/tmp/c${i}` })));
    }
    const results = await Promise.all(work);
    assert.ok(results.every((r) => r.status === 200 || r.status === 202));
    const triggers = results.filter((r) => r.status === 202).map((r) => r.json['request-id']);
    assert.equal(new Set(triggers).size, 40);
  });

  test('refuses to start on a taken port with a conflict error; port specs try the next port', async () => {
    const other = new RestServer(new FakeDispatcher(), { port: server.port });
    await assert.rejects(other.start(), kindOf('conflict'));
    const spec = new RestServer(new FakeDispatcher(), { port: `${server.port},${server.port}` });
    await assert.rejects(spec.start(), (e) => kindOf('conflict')(e) && /no free port/.test((e as Error).message));
    const fallback = new RestServer(new FakeDispatcher(), { port: `${server.port},0` });
    const url = await fallback.start();
    try {
      assert.notEqual(fallback.port, server.port);
      assert.equal((await raw(url, 'GET', '/config')).status, 200);
    } finally {
      await fallback.close();
    }
    assert.throws(() => new RestServer(new FakeDispatcher(), { port: '70000' }), kindOf('config'));
    assert.deepEqual(expandPortSpec('8081,50100-50102'), [8081, 50100, 50101, 50102]);
  });
});

describe('RestClient', () => {
  let fake: FakeDispatcher;
  let server: RestServer;
  let client: RestClient;

  before(async () => {
    fake = new FakeDispatcher();
    server = new RestServer(fake);
    const url = await server.start();
    client = new RestClient(url.replace('http://', ''), { timeoutMs: 2000 });
  });
  after(() => server.close());

  test('normalizes -m addresses', () => {
    assert.equal(normalizeEndpoint('localhost:8081'), 'http://localhost:8081');
    assert.equal(normalizeEndpoint('127.0.0.1:8081'), 'http://127.0.0.1:8081');
    assert.equal(normalizeEndpoint('http://127.0.0.1:8081/'), 'http://127.0.0.1:8081');
    assert.equal(normalizeEndpoint(':9000'), 'http://127.0.0.1:9000');
    assert.equal(normalizeEndpoint('[::1]:8081'), 'http://[::1]:8081');
    assert.throws(() => normalizeEndpoint('localhost'), kindOf('invalid-argument'));
    assert.throws(() => normalizeEndpoint(''), kindOf('invalid-argument'));
    assert.throws(() => normalizeEndpoint('ftp://x:1'), kindOf('invalid-argument'));
  });

  test('reads cluster and job information', async () => {
    assert.equal((await client.config())['flink-version'], '1.20.0');
    assert.equal((await client.overview())['jobs-running'], 2);
    assert.equal((await client.jobIds()).length, 3);
    const jobs = await client.listJobs();
    const a = jobs.find((j) => j.id === JOB_A)!;
    assert.equal(a.name, 'WordCount');
    assert.equal(a.status, 'RUNNING');
    assert.equal(a.startTime, 1_700_000_000_000);
    assert.equal(a.tasks.RUNNING, 2);
    const d = await client.jobDetails(JOB_A);
    assert.equal(d.status, 'RUNNING');
    assert.equal(d.vertices[0]!.parallelism, 2);
    assert.equal((await client.checkpointStats(JOB_A)).counts.completed, 1);
  });

  test('savepoint, stop, dispose round trips', async () => {
    const trigger = await client.triggerSavepoint(JOB_A, { targetDirectory: '/tmp/rt', formatType: 'CANONICAL' });
    assert.deepEqual(await client.savepointStatus(JOB_A, trigger), { status: 'IN_PROGRESS' });
    const done = await client.savepointStatus(JOB_A, trigger);
    assert.equal(done.status, 'COMPLETED');
    assert.ok('location' in done && done.location.startsWith('file:/tmp/rt/'));

    fake.failNextSavepoint = 'Savepoint directory is full.';
    const t2 = await client.triggerSavepoint(JOB_A, {});
    await client.savepointStatus(JOB_A, t2);
    assert.deepEqual(await client.savepointStatus(JOB_A, t2), { status: 'COMPLETED', failureCause: 'Savepoint directory is full.' });

    const d = await client.disposeSavepoint('/tmp/whatever');
    assert.equal((await client.disposalStatus(d)).status, 'COMPLETED');

    const stop = await client.stopWithSavepoint(JOB_A, { drain: true, targetDirectory: '/tmp/st' });
    assert.match(stop, /^[0-9a-f]{32}$/);
    assert.deepEqual(fake.calls.at(-1)!.args[1], { targetDirectory: '/tmp/st', drain: true, formatType: undefined });
  });

  test('maps Flink errors to FlinkError kinds with the server\'s message', async () => {
    await assert.rejects(client.jobDetails(UNKNOWN), (e) => kindOf('not-found')(e) && (e as Error).message === `Job ${UNKNOWN} not found`);
    await assert.rejects(client.cancelJob(JOB_DONE), kindOf('conflict'));
    await assert.rejects(client.request('POST', `/jobs/${JOB_A}/savepoints`, 'x'), kindOf('invalid-argument'));
    await assert.rejects(client.request('GET', '/jobs/zzz'), kindOf('invalid-argument'));
  });

  test('connection refused is unreachable', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const dead = new RestClient(`127.0.0.1:${port}`, { timeoutMs: 2000 });
    await assert.rejects(dead.listJobs(), (e) => kindOf('unreachable')(e) && /connection refused/.test((e as Error).message));
  });

  test('a silent endpoint times out as unreachable; a non-Flink one is reported', async () => {
    const hanging: Server = createServer(() => { /* never answers */ });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const html: Server = createServer((_req, res) => res.end('<html>hello</html>'));
    await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
    try {
      const slow = new RestClient(`127.0.0.1:${(hanging.address() as AddressInfo).port}`, { timeoutMs: 200 });
      const t0 = Date.now();
      await assert.rejects(slow.config(), (e) => kindOf('unreachable')(e) && /did not answer within 200 ms/.test((e as Error).message));
      assert.ok(Date.now() - t0 < 2000);
      const other = new RestClient(`127.0.0.1:${(html.address() as AddressInfo).port}`);
      await assert.rejects(other.listJobs(), kindOf('unreachable'));
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((r) => hanging.close(() => r()));
      await new Promise<void>((r) => html.close(() => r()));
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Savepoint disposal and the cluster client (the REST layer's main users)
// ---------------------------------------------------------------------------------------------------------

function makeSnapshot(dir: string, kind: 'SAVEPOINT' | 'CHECKPOINT', files: string[] = ['op-0-0']): void {
  mkdirSync(dir, { recursive: true });
  const subtasks = files.map((file, i) => {
    const bytes = Buffer.from(`state of subtask ${i}`);
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), bytes);
    return { subtask: i, state: { file, size: bytes.length, crc32: crc32(bytes), keyedStates: {}, operatorStates: {}, keyedEntries: 0 } };
  });
  const md: CheckpointMetadata = {
    formatVersion: 1, jobId: JOB_A, jobName: 'WordCount', checkpointId: 3, kind, format: 'CANONICAL',
    triggerTimestamp: 1000, completionTimestamp: 1100, maxParallelism: 128,
    operators: [{ operatorId: 'f'.repeat(32), name: 'Map', parallelism: files.length, maxParallelism: 128, subtasks }],
  };
  writeMetadataAtomically(dir, md);
}

describe('disposeSavepoint', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'flink-ts-dispose-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('deletes listed files, then _metadata, then the empty folder', async () => {
    const dir = join(tmp, 'savepoint-aaaaaa-1');
    makeSnapshot(dir, 'SAVEPOINT', ['op-0-0', 'sub/op-0-1']);
    const r = await disposeSavepoint(`file:${dir}`);
    assert.equal(r.removedDirectory, true);
    assert.equal(r.deletedFiles.at(-1), join(dir, '_metadata'));
    assert.equal(r.deletedFiles.length, 3);
    assert.equal(existsSync(dir), false);
  });

  test('accepts the _metadata file and keeps files it did not list', async () => {
    const dir = join(tmp, 'savepoint-aaaaaa-2');
    makeSnapshot(dir, 'SAVEPOINT');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const r = await disposeSavepoint(join(dir, '_metadata'));
    assert.equal(r.removedDirectory, false);
    assert.deepEqual(readdirSync(dir), ['notes.txt']);
  });

  test('refuses checkpoints, corrupt metadata, folders without metadata and escaping file names', async () => {
    const chk = join(tmp, 'chk-3');
    makeSnapshot(chk, 'CHECKPOINT');
    await assert.rejects(disposeSavepoint(chk), (e) => kindOf('invalid-argument')(e) && /checkpoint, not a savepoint/.test((e as Error).message));
    assert.deepEqual(readdirSync(chk).sort(), ['_metadata', 'op-0-0']);

    const corrupt = join(tmp, 'savepoint-corrupt');
    makeSnapshot(corrupt, 'SAVEPOINT');
    writeFileSync(join(corrupt, '_metadata'), 'FLTSMETA garbage');
    await assert.rejects(disposeSavepoint(corrupt), kindOf('invalid-argument'));
    assert.deepEqual(readdirSync(corrupt).sort(), ['_metadata', 'op-0-0']);

    const plain = join(tmp, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, 'data.bin'), 'x');
    await assert.rejects(disposeSavepoint(plain), kindOf('not-found'));
    assert.deepEqual(readdirSync(plain), ['data.bin']);
    await assert.rejects(disposeSavepoint(join(tmp, 'does-not-exist')), kindOf('not-found'));

    const outside = join(tmp, 'victim.txt');
    writeFileSync(outside, 'keep me');
    const evil = join(tmp, 'savepoint-evil');
    makeSnapshot(evil, 'SAVEPOINT', ['../victim.txt']);
    await assert.rejects(disposeSavepoint(evil), kindOf('invalid-argument'));
    assert.equal(existsSync(outside), true);
    assert.equal(existsSync(join(evil, '_metadata')), true);
  });

  test('marks the index row DISCARDED', async () => {
    const dir = join(tmp, 'savepoint-aaaaaa-3');
    makeSnapshot(dir, 'SAVEPOINT');
    const index = CheckpointIndex.open({ path: join(tmp, 'index.sqlite') });
    try {
      index.upsertSnapshot({
        jobId: JOB_A, checkpointId: 3, kind: 'SAVEPOINT', status: 'COMPLETED', path: dir, triggerTime: 1000,
        durationMs: 100, sizeBytes: 10, failureCause: null,
      });
      const r = await disposeSavepoint(dir, index);
      assert.equal(r.indexUpdated, true);
      assert.equal(index.findSnapshotByPath(dir)!.status, 'DISCARDED');
    } finally {
      index.close();
    }
  });
});

describe('ClusterClient', () => {
  let tmp: string;
  let fake: FakeDispatcher;
  let server: RestServer;
  let url: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'flink-ts-cluster-client-'));
    fake = new FakeDispatcher();
    server = new RestServer(fake);
    url = await server.start();
  });
  after(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  function job(jobId: string, patch: Partial<JobRecord>): JobRecord {
    return {
      jobId, name: 'job', status: 'RUNNING', startTime: 1_700_000_000_000, endTime: null, restUrl: null, pid: null,
      logFile: null, checkpointDir: null, restoredFrom: null, failureCause: null, ...patch,
    };
  }

  test('parses job ids like Flink', () => {
    assert.equal(parseJobId(JOB_A.toUpperCase()), JOB_A);
    assert.throws(() => parseJobId('123'), (e) => kindOf('invalid-argument')(e) && /Cannot parse JobID from "123"/.test((e as Error).message));
  });

  test('lists live, lost and terminated jobs from the index', async () => {
    const index = CheckpointIndex.open({ path: join(tmp, 'list.sqlite') });
    try {
      const LOST = '11111111111111111111111111111111';
      index.upsertJob(job(JOB_A, { name: 'WordCount', restUrl: url, pid: process.pid }));
      index.upsertJob(job(LOST, { restUrl: 'http://127.0.0.1:9', pid: 999_999_999, logFile: '/tmp/lost.log' }));
      index.upsertJob(job(JOB_DONE, { status: 'FINISHED', endTime: 1_700_000_000_500 }));
      const client = new ClusterClient({ config: Configuration.fromMap({}), index, requestTimeoutMs: 1000, isProcessAlive: (p) => p === process.pid });

      const running = await client.listJobs();
      assert.deepEqual(running.map((j) => [j.jobId, j.status, j.lost]).sort(), [[LOST, 'FAILED', true], [JOB_A, 'RUNNING', false]].sort());
      assert.equal(index.getJob(LOST)!.status, 'FAILED');
      assert.equal(index.getJob(LOST)!.failureCause, 'cluster process 999999999 is gone');

      const all = await client.listJobs({ all: true });
      assert.equal(all.length, 3);
      assert.equal(all.find((j) => j.jobId === JOB_DONE)!.status, 'FINISHED');
      // Once recorded, a lost job is just a FAILED one.
      assert.equal(all.find((j) => j.jobId === LOST)!.lost, false);

      assert.throws(() => client.endpointFor(UNKNOWN), (e) => kindOf('not-found')(e) && (e as Error).message === `Job ${UNKNOWN} not found`);
      assert.throws(() => client.endpointFor(JOB_DONE), (e) => kindOf('conflict')(e) && /FINISHED/.test((e as Error).message));
      assert.equal(client.endpointFor(JOB_A).baseUrl, url);
    } finally {
      index.close();
    }
  });

  test('savepoint target: sent as given (local paths absolute, URIs untouched), absent when not given; the client creates nothing', async () => {
    // Even a client configured with a default sends none: the cluster's own state.savepoints.dir applies there.
    const client = new ClusterClient({ config: Configuration.fromMap({ 'state.savepoints.dir': join(tmp, 'client-default') }), jobmanager: url });
    assert.ok((await client.triggerSavepoint(JOB_A)).startsWith('file:/default/'));
    assert.equal((fake.calls.at(-1)!.args[1] as { targetDirectory?: string }).targetDirectory, undefined);
    assert.ok(!existsSync(join(tmp, 'client-default')), 'no directory created by the client');

    const target = join(tmp, 'new', 'savepoints');
    const loc = await client.triggerSavepoint(JOB_A, target);
    assert.ok(loc.startsWith(`file:${target}/savepoint-`));
    assert.ok(!existsSync(target), 'the cluster creates the target, not the client');
    await client.triggerSavepoint(JOB_A, 's3://bucket/sp');
    assert.equal((fake.calls.at(-1)!.args[1] as { targetDirectory?: string }).targetDirectory, 's3://bucket/sp');

    fake.failNextSavepoint = 'Task did not acknowledge.';
    await assert.rejects(client.triggerSavepoint(JOB_A), (e) => kindOf('job-failed')(e) && /Task did not acknowledge\./.test((e as Error).message));
  });
});

describe('manual checkpoints over REST (Flink 1.19+)', () => {
  let fake: FakeDispatcher;
  let server: RestServer;
  let base: string;
  before(async () => {
    fake = new FakeDispatcher();
    server = new RestServer(fake, { host: '127.0.0.1', port: 0 });
    base = await server.start();
  });
  after(() => server.close());

  test('POST /jobs/:jobid/checkpoints returns a trigger id; GET .../checkpoints/:triggerid the checkpoint id', async () => {
    const t = await raw(base, 'POST', `/jobs/${JOB_A}/checkpoints`, JSON.stringify({ checkpointType: 'FULL' }), { 'Content-Type': 'application/json' });
    assert.equal(t.status, 202);
    const id = t.json['request-id'];
    assert.equal(fake.checkpointTriggers.get(id)!.type, 'FULL');
    assert.deepEqual((await raw(base, 'GET', `/jobs/${JOB_A}/checkpoints/${id}`)).json, { status: { id: 'IN_PROGRESS' } });
    const done = await raw(base, 'GET', `/jobs/${JOB_A}/checkpoints/${id}`);
    assert.deepEqual(done.json, { status: { id: 'COMPLETED' }, operation: { checkpointId: 42, location: 'file:/tmp/chk-42' } });

    const noBody = await raw(base, 'POST', `/jobs/${JOB_A}/checkpoints`);
    assert.equal(noBody.status, 202);
    assert.equal(fake.checkpointTriggers.get(noBody.json['request-id'])!.type, 'CONFIGURED');
  });

  test('bad type → 400, unknown job → 404, job not running → 409, unknown trigger → 404', async () => {
    const bad = await raw(base, 'POST', `/jobs/${JOB_A}/checkpoints`, JSON.stringify({ checkpointType: 'PARTIAL' }), { 'Content-Type': 'application/json' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.errors[0], /checkpointType/);
    assert.equal((await raw(base, 'POST', `/jobs/${'0'.repeat(32)}/checkpoints`)).status, 404);
    assert.equal((await raw(base, 'POST', `/jobs/${JOB_B}/checkpoints`)).status, 409);
    assert.equal((await raw(base, 'GET', `/jobs/${JOB_A}/checkpoints/nope`)).status, 404);
  });

  test('the client triggers and waits; GET .../checkpoints/config reports mode and unaligned', async () => {
    const client = new RestClient(base);
    const trigger = await client.triggerCheckpoint(JOB_A, 'INCREMENTAL');
    assert.equal(fake.checkpointTriggers.get(trigger)!.type, 'INCREMENTAL');
    assert.deepEqual(await client.checkpointStatus(JOB_A, trigger), { status: 'IN_PROGRESS' });
    assert.deepEqual(await client.checkpointStatus(JOB_A, trigger), { status: 'COMPLETED', checkpointId: 42, location: 'file:/tmp/chk-42' });
    const cfg = await raw(base, 'GET', `/jobs/${JOB_A}/checkpoints/config`);
    assert.equal(cfg.status, 200);
    assert.equal(cfg.json.mode, 'exactly_once');
    assert.equal(cfg.json.unaligned_checkpoints, true);
    assert.equal(cfg.json.aligned_checkpoint_timeout, 0);
  });
});
