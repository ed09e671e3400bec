import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { FlinkError } from '../../src/core/FlinkError.js';
import { isGloballyTerminal, type JobStatus } from '../../src/core/JobStatus.js';
import type { AsyncOperationStatus, CheckpointConfig, Dispatcher, JobDetails, JobSummary } from '../../src/rest/Dispatcher.js';
import { CheckpointStatsTracker, type CheckpointStats } from '../../src/checkpoint/CheckpointStatsTracker.js';
import type { SavepointFormatType } from '../../src/core/SavepointFormatType.js';
import { RestServer } from '../../src/rest/RestServer.js';
import { writeMetadataAtomically, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';
import { CheckpointIndex, type JobRecord } from '../../src/catalog/CheckpointIndex.js';
import { NO_SAVEPOINT_DIRECTORY_MESSAGE } from '../../src/checkpoint/CheckpointStorage.js';
import { ensureBuilt } from './helpers.js';

/**
 * Drives the built `flink` binary (bin/flink.js → dist/commands) against a REST endpoint backed by a fake
 * cluster running inside this test, and against a temporary configuration directory and index.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'flink.js');

const RUNNING = '0123456789abcdef0123456789abcdef';
const SCHEDULED = 'fedcba9876543210fedcba9876543210';
const FINISHED = 'aaaabbbbccccddddeeeeffff00001111';
const UNKNOWN = '99999999999999999999999999999999';
const START = new Date(2024, 2, 5, 14, 7, 9).getTime(); // 05.03.2024 14:07:09 local
const LINE = /^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d : [0-9a-f]{32} : .+ \([A-Z]+\)/;
const ANSI = /\u001b\[/;

class FakeCluster implements Dispatcher {
  readonly flinkVersion = '1.20.0';
  readonly jobs = new Map<string, JobDetails>();
  readonly requests: Array<{ op: string; jobId?: string; opts?: unknown }> = [];
  private readonly ops = new Map<string, { jobId: string; polls: number; result: AsyncOperationStatus; then?: JobStatus }>();
  failSavepointWith: string | undefined;
  /** The cluster's own state.savepoints.dir: where a savepoint without a target goes. */
  savepointsDir: string | undefined;
  private seq = 0;

  reset(): void {
    this.jobs.clear();
    this.requests.length = 0;
    this.failSavepointWith = undefined;
    this.savepointsDir = undefined;
    this.add(RUNNING, 'Streaming WordCount', 'RUNNING', START);
    this.add(SCHEDULED, 'Waiting Job', 'CREATED', START + 1000);
    this.add(FINISHED, 'Batch Job', 'FINISHED', START - 60_000, START - 30_000);
  }

  private add(id: string, name: string, status: JobStatus, start: number, end = -1): void {
    const counts = {
      CREATED: 0, SCHEDULED: 0, DEPLOYING: 0, RUNNING: 1, FINISHED: 0, CANCELING: 0, CANCELED: 0, FAILED: 0,
      RECONCILING: 0, INITIALIZING: 0,
    };
    this.jobs.set(id, {
      id, name, status, startTime: start, endTime: end, lastModification: start, tasks: counts, isStoppable: false,
      timestamps: {}, vertices: [],
    });
  }

  private running(jobId: string): JobDetails {
    const j = this.jobs.get(jobId);
    if (!j) throw new FlinkError('not-found', `Job ${jobId} not found`);
    if (isGloballyTerminal(j.status)) throw new FlinkError('conflict', `Job ${jobId} is not running; it is ${j.status}`);
    return j;
  }

  private start(jobId: string, given: string | undefined, then?: JobStatus): string {
    const target = given ?? this.savepointsDir;
    if (target === undefined) throw new FlinkError('invalid-argument', NO_SAVEPOINT_DIRECTORY_MESSAGE);
    const id = (++this.seq).toString(16).padStart(32, '0');
    const result: AsyncOperationStatus = this.failSavepointWith !== undefined
      ? { status: 'COMPLETED', failureCause: this.failSavepointWith }
      : { status: 'COMPLETED', location: `${target}/savepoint-${jobId.slice(0, 6)}-${id.slice(-12)}` };
    this.ops.set(id, { jobId, polls: 0, result, then });
    return id;
  }

  listJobs(): JobSummary[] {
    return [...this.jobs.values()];
  }

  jobDetails(jobId: string): JobDetails {
    const j = this.jobs.get(jobId);
    if (!j) throw new FlinkError('not-found', `Job ${jobId} not found`);
    return j;
  }

  cancelJob(jobId: string): void {
    this.requests.push({ op: 'cancel', jobId });
    this.running(jobId).status = 'CANCELED';
  }

  triggerSavepoint(jobId: string, opts: { targetDirectory?: string; cancelJob: boolean; formatType?: SavepointFormatType }): string {
    this.requests.push({ op: 'savepoint', jobId, opts });
    this.running(jobId);
    return this.start(jobId, opts.targetDirectory, opts.cancelJob ? 'CANCELED' : undefined);
  }

  stopWithSavepoint(jobId: string, opts: { targetDirectory?: string; drain: boolean; formatType?: SavepointFormatType }): string {
    this.requests.push({ op: 'stop', jobId, opts });
    this.running(jobId);
    return this.start(jobId, opts.targetDirectory, 'FINISHED');
  }

  savepointStatus(jobId: string, triggerId: string): AsyncOperationStatus {
    const op = this.ops.get(triggerId);
    if (!op || op.jobId !== jobId) throw new FlinkError('not-found', `Unknown trigger ${triggerId}`);
    if (op.polls++ < 2) return { status: 'IN_PROGRESS' };
    if (op.then && 'location' in op.result) this.jobs.get(jobId)!.status = op.then;
    return op.result;
  }

  // `flink checkpoint` runs against real clusters (checkpointing-modes e2e); this fake offers no checkpoints.
  triggerCheckpoint(jobId: string): string {
    this.running(jobId);
    throw new FlinkError('conflict', `Job ${jobId} has no checkpointing in this fake cluster`);
  }

  checkpointStatus(_jobId: string, triggerId: string): AsyncOperationStatus {
    throw new FlinkError('not-found', `Unknown trigger ${triggerId}`);
  }

  checkpointConfig(jobId: string): CheckpointConfig {
    this.jobDetails(jobId);
    throw new FlinkError('not-found', `Job ${jobId} has no checkpoint configuration in this fake cluster`);
  }

  disposeSavepoint(savepointPath: string): string {
    this.requests.push({ op: 'dispose', opts: savepointPath });
    const id = (++this.seq).toString(16).padStart(32, '0');
    this.ops.set(id, { jobId: '', polls: 2, result: { status: 'COMPLETED', location: savepointPath } });
    return id;
  }

  disposalStatus(triggerId: string): AsyncOperationStatus {
    const op = this.ops.get(triggerId);
    if (!op) throw new FlinkError('not-found', `Unknown trigger ${triggerId}`);
    return op.result;
  }

  checkpointStats(jobId: string): CheckpointStats {
    return new CheckpointStatsTracker(jobId).stats();
  }
}

describe('flink CLI job control', () => {
  let tmp: string;
  let confDir: string;
  let indexFile: string;
  let cluster: FakeCluster;
  let server: RestServer;
  let address: string;

  async function flink(args: string[], env: Record<string, string | undefined> = {}) {
    const r = await execa('node', [BIN, ...args], {
      reject: false,
      cwd: tmp,
      env: { FLINK_CONF_DIR: confDir, NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined, ...env },
      timeout: 60_000,
      stripFinalNewline: false,
    });
    return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** A loopback port nobody listens on (bound, then released). */
  async function closedPort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  function stderrLines(s: string): string[] {
    return s.split('\n').filter((l) => l !== '');
  }

  function withIndex<T>(fn: (index: CheckpointIndex) => T): T {
    const index = CheckpointIndex.open({ path: indexFile });
    try {
      return fn(index);
    } finally {
      index.close();
    }
  }

  function jobRecord(jobId: string, patch: Partial<JobRecord>): JobRecord {
    return {
      jobId, name: 'job', status: 'RUNNING', startTime: START, endTime: null, restUrl: null, pid: null, logFile: null,
      checkpointDir: null, restoredFrom: null, failureCause: null, ...patch,
    };
  }

  /** A savepoint folder as the runtime writes it: state files, then `_metadata`. */
  function makeSnapshot(dir: string, kind: 'SAVEPOINT' | 'CHECKPOINT'): void {
    mkdirSync(dir, { recursive: true });
    const bytes = Buffer.from('some keyed state');
    writeFileSync(join(dir, 'op-0-0'), bytes);
    const md: CheckpointMetadata = {
      formatVersion: 1, jobId: RUNNING, jobName: 'Streaming WordCount', checkpointId: 5, kind, format: 'CANONICAL',
      triggerTimestamp: START, completionTimestamp: START + 50, maxParallelism: 128,
      operators: [{
        operatorId: 'c'.repeat(32), name: 'Map', parallelism: 1, maxParallelism: 128,
        subtasks: [{ subtask: 0, state: { file: 'op-0-0', size: bytes.length, crc32: crc32(bytes), keyedStates: { count: 'value' }, operatorStates: {}, keyedEntries: 1 } }],
      }],
    };
    writeMetadataAtomically(dir, md);
  }

  before(async () => {
    // Build the CLI under test unless dist/ is already current (npm test compiles first; rewriting dist/ while
    // other test files run the CLI would race with them). Other slices may still be in progress: only ours
    // must compile cleanly.
    await ensureBuilt();
    assert.ok(existsSync(join(ROOT, 'dist', 'commands', 'index.js')), 'dist/commands built');

    tmp = mkdtempSync(join(tmpdir(), 'flink-ts-cli-'));
    confDir = join(tmp, 'conf');
    mkdirSync(confDir);
    indexFile = join(tmp, 'index.sqlite');
    writeFileSync(join(confDir, 'config.yaml'), `index:\n  path: ${indexFile}\n`);

    cluster = new FakeCluster();
    cluster.reset();
    server = new RestServer(cluster, { host: '127.0.0.1', port: 0 });
    address = (await server.start()).replace('http://', '');
  });

  after(async () => {
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('list -m prints Flink\'s sections', async () => {
    cluster.reset();
    const r = await flink(['list', '-m', address]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Waiting for response\.\.\./);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '------------------ Running/Restarting Jobs -------------------');
    assert.equal(lines[1], `05.03.2024 14:07:09 : ${RUNNING} : Streaming WordCount (RUNNING)`);
    assert.equal(lines[2], '--------------------------------------------------------------');
    assert.equal(lines[3], '----------------------- Scheduled Jobs -----------------------');
    assert.match(lines[4]!, LINE);
    assert.match(lines[4]!, new RegExp(`${SCHEDULED} : Waiting Job \\(CREATED\\)$`));
    assert.equal(lines[5], '--------------------------------------------------------------');
    assert.ok(!r.stdout.includes(FINISHED), 'terminated jobs only with -a');

    const all = await flink(['list', '-a', '-m', address]);
    assert.match(all.stdout, /---------------------- Terminated Jobs -----------------------\n.* : aaaabbbbccccddddeeeeffff00001111 : Batch Job \(FINISHED\)/);

    const onlyScheduled = await flink(['list', '-s', '-m', address]);
    assert.ok(!onlyScheduled.stdout.includes('Running/Restarting'));
    assert.ok(onlyScheduled.stdout.includes(SCHEDULED));
  });

  test('list --json prints the jobs as JSON only', async () => {
    cluster.reset();
    const r = await flink(['list', '-a', '--json', '-m', address]);
    assert.equal(r.code, 0, r.stderr);
    const jobs = JSON.parse(r.stdout) as Array<{ jobId: string; status: string; name: string; startTime: number }>;
    assert.deepEqual(jobs.map((j) => j.jobId).sort(), [RUNNING, SCHEDULED, FINISHED].sort());
    assert.equal(jobs.find((j) => j.jobId === RUNNING)!.startTime, START);
    assert.equal(r.stderr, '');
  });

  test('list without -m asks each indexed cluster and reports lost ones', async () => {
    cluster.reset();
    // A pid that surely is dead: a process that has already exited.
    const gone = await execa('node', ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(gone.stdout);
    const LOST = '1234567890abcdef1234567890abcdef';
    const port = await closedPort();
    const logFile = join(tmp, 'log', 'flink-lost.log');
    withIndex((index) => {
      index.upsertJob(jobRecord(RUNNING, { name: 'Streaming WordCount', restUrl: `http://${address}`, pid: process.pid }));
      index.upsertJob(jobRecord(LOST, { name: 'Lost Job', restUrl: `http://127.0.0.1:${port}`, pid: deadPid, logFile }));
      index.upsertJob(jobRecord(FINISHED, { name: 'Batch Job', status: 'FINISHED', endTime: START }));
    });
    const r = await flink(['list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`: ${RUNNING} : Streaming WordCount \\(RUNNING\\)`));
    assert.match(r.stdout, new RegExp(`: ${LOST} : Lost Job \\(FAILED\\) - cluster process ${deadPid} is gone; log: ${logFile.replace(/[.]/g, '\\.')}`));
    assert.ok(!r.stdout.includes(FINISHED));
    const rec = withIndex((index) => index.getJob(LOST)!);
    assert.equal(rec.status, 'FAILED');
    assert.equal(rec.failureCause, `cluster process ${deadPid} is gone`);

    const all = await flink(['list', '-a', '--json']);
    const jobs = JSON.parse(all.stdout) as Array<{ jobId: string; status: string }>;
    assert.deepEqual(jobs.map((j) => `${j.jobId}:${j.status}`).sort(),
      [`${RUNNING}:RUNNING`, `${LOST}:FAILED`, `${FINISHED}:FINISHED`].sort());
  });

  test('savepoint: success, failure, and no directory configured', async () => {
    cluster.reset();
    const target = join(tmp, 'sp-target');
    const ok = await flink(['savepoint', RUNNING, target, '-m', address]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, new RegExp(`Triggering savepoint for job ${RUNNING}\\.\nWaiting for response\\.\\.\\.`));
    const out = ok.stdout.trimEnd().split('\n');
    assert.match(out[0]!, new RegExp(`^Savepoint completed\\. Path: file:${target}/savepoint-012345-[0-9a-f]{12}$`));
    assert.equal(out[1], 'You can resume your program from this savepoint with the run command.');
    assert.deepEqual(cluster.requests.at(-1), { op: 'savepoint', jobId: RUNNING, opts: { targetDirectory: target, cancelJob: false, formatType: 'CANONICAL' } });

    const json = await flink(['savepoint', RUNNING, target, '-type', 'native', '--json', '-m', address]);
    assert.equal(json.code, 0, json.stderr);
    const body = JSON.parse(json.stdout);
    assert.equal(body.jobId, RUNNING);
    assert.match(body.savepointPath, /^file:.*savepoint-012345-/);
    assert.equal(body.formatType, 'NATIVE');

    cluster.failSavepointWith = 'Checkpoint Coordinator is suspended.';
    const failed = await flink(['savepoint', RUNNING, target, '-m', address]);
    assert.equal(failed.code, 1);
    assert.deepEqual(stderrLines(failed.stderr).slice(-1), [
      `flink: Failed to trigger a savepoint for the job ${RUNNING}: Checkpoint Coordinator is suspended.`,
    ]);
    assert.ok(!failed.stderr.includes('    at '));
    cluster.failSavepointWith = undefined;

    const noDir = await flink(['savepoint', RUNNING, '-m', address]);
    assert.equal(noDir.code, 2);
    assert.equal(stderrLines(noDir.stderr).at(-1),
      "flink: No savepoint directory configured. You can either specify a directory when triggering the savepoint or configure a cluster-wide default via key 'state.savepoints.dir'.");

    // Without a target the cluster's own default applies; the client's configuration does not override it.
    cluster.savepointsDir = join(tmp, 'sp-default');
    const withDefault = await flink(['savepoint', RUNNING, '-m', address, '-D', `state.savepoints.dir=${join(tmp, 'client-side')}`]);
    assert.equal(withDefault.code, 0, withDefault.stderr);
    assert.match(withDefault.stdout, new RegExp(`Path: file:${join(tmp, 'sp-default')}/savepoint-`));
    assert.equal((cluster.requests.at(-1)!.opts as { targetDirectory?: string }).targetDirectory, undefined);
    assert.ok(!existsSync(join(tmp, 'client-side')), 'the client creates no directory');
  });

  test('with -m the savepoint target is passed to the cluster as given (as Flink\'s CLI does), nothing created here', async () => {
    cluster.reset();
    const r = await flink(['savepoint', RUNNING, 'relative/sp', '-m', address]);
    assert.equal(r.code, 0, r.stderr);
    // The cluster resolves it, on its machine: a relative path is the JobManager's, not this shell's.
    assert.equal((cluster.requests.at(-1)!.opts as { targetDirectory: string }).targetDirectory, 'relative/sp');
    assert.ok(!existsSync(join(tmp, 'relative')), 'resolving and creating the directory is the cluster\'s job');
    for (const uri of ['s3://bucket/savepoints', 'hdfs://namenode:8020/flink/sp']) {
      const u = await flink(['savepoint', RUNNING, uri, '-m', address]);
      assert.equal(u.code, 0, u.stderr);
      assert.equal((cluster.requests.at(-1)!.opts as { targetDirectory: string }).targetDirectory, uri);
    }
    const f = await flink(['savepoint', RUNNING, `file://${join(tmp, 'uri-sp')}`, '-m', address]);
    assert.equal(f.code, 0, f.stderr);
    assert.equal((cluster.requests.at(-1)!.opts as { targetDirectory: string }).targetDirectory, `file://${join(tmp, 'uri-sp')}`);
  });

  test('cancel, and cancel of a job that is no longer running', async () => {
    cluster.reset();
    const r = await flink(['cancel', RUNNING, '-m', address]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Cancelling job ${RUNNING}\\.`));
    assert.equal(r.stdout, `Cancelled job ${RUNNING}.\n`);
    assert.equal(cluster.jobs.get(RUNNING)!.status, 'CANCELED');

    const again = await flink(['cancel', RUNNING, '-m', address]);
    assert.equal(again.code, 5);
    assert.equal(stderrLines(again.stderr).at(-1), `flink: Job ${RUNNING} is not running; it is CANCELED`);
  });

  test('cancel -s <jobId> uses state.savepoints.dir; cancel -s <dir> <jobId> the directory', async () => {
    cluster.reset();
    const dflt = join(tmp, 'cancel-default');
    cluster.savepointsDir = dflt;
    const r = await flink(['cancel', '-s', RUNNING, '-m', address]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /DEPRECATION WARNING: Cancelling a job with savepoint is deprecated\. Use "stop" instead\./);
    assert.match(r.stderr, new RegExp(`Cancelling job ${RUNNING} with CANONICAL savepoint to default savepoint directory\\.`));
    assert.match(r.stdout, new RegExp(`^Cancelled job ${RUNNING}\\. Savepoint stored in file:${dflt}/savepoint-012345-[0-9a-f]{12}\\.\n$`));
    assert.deepEqual(cluster.requests.at(-1), { op: 'savepoint', jobId: RUNNING, opts: { targetDirectory: undefined, cancelJob: true, formatType: 'CANONICAL' } });
    assert.equal(cluster.jobs.get(RUNNING)!.status, 'CANCELED');

    cluster.reset();
    const dir = join(tmp, 'cancel-explicit');
    const r2 = await flink(['cancel', '-s', dir, RUNNING, '-m', address]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, new RegExp(`with CANONICAL savepoint to ${dir}\\.`));
    assert.match(r2.stdout, new RegExp(`Savepoint stored in file:${dir}/savepoint-`));
    assert.equal((cluster.requests.at(-1)!.opts as { targetDirectory: string }).targetDirectory, dir);

    // The attached spelling of Flink's optional value.
    cluster.reset();
    const r3 = await flink(['cancel', `--withSavepoint=${dir}`, RUNNING, '-m', address]);
    assert.equal(r3.code, 0, r3.stderr);
    assert.equal((cluster.requests.at(-1)!.opts as { targetDirectory: string }).targetDirectory, dir);

    const noDir = await flink(['cancel', '-s', SCHEDULED, '-m', address]);
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /No savepoint directory configured/);
  });

  test('stop with a savepoint, suspending or draining', async () => {
    cluster.reset();
    const dir = join(tmp, 'stop-sp');
    const r = await flink(['stop', '-p', dir, RUNNING, '-m', address]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Suspending job "${RUNNING}" with a CANONICAL savepoint\\.`));
    assert.match(r.stdout, new RegExp(`^Savepoint completed\\. Path: file:${dir}/savepoint-012345-[0-9a-f]{12}\n$`));
    assert.deepEqual(cluster.requests.at(-1), { op: 'stop', jobId: RUNNING, opts: { targetDirectory: dir, drain: false, formatType: 'CANONICAL' } });
    assert.equal(cluster.jobs.get(RUNNING)!.status, 'FINISHED');

    cluster.reset();
    cluster.savepointsDir = dir;
    const d = await flink(['stop', '--drain', '-p', RUNNING, '-m', address]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, new RegExp(`Draining job "${RUNNING}" with a CANONICAL savepoint\\.`));
    assert.deepEqual(cluster.requests.at(-1)!.opts, { targetDirectory: undefined, drain: true, formatType: 'CANONICAL' });
    assert.match(d.stdout, new RegExp(`Path: file:${dir}/savepoint-`));
  });

  test('savepoint -d disposes a real savepoint folder locally', async () => {
    const dir = join(tmp, 'savepoints', 'savepoint-012345-abcdefabcdef');
    makeSnapshot(dir, 'SAVEPOINT');
    withIndex((index) => index.upsertSnapshot({
      jobId: RUNNING, checkpointId: 5, kind: 'SAVEPOINT', status: 'COMPLETED', path: dir, triggerTime: START,
      durationMs: 50, sizeBytes: 100, failureCause: null,
    }));
    const r = await flink(['savepoint', '-d', `file:${dir}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Disposing savepoint 'file:${dir}'\\.`));
    assert.equal(r.stdout, `Savepoint 'file:${dir}' disposed.\n`);
    assert.equal(existsSync(dir), false);
    assert.equal(withIndex((index) => index.findSnapshotByPath(dir)!.status), 'DISCARDED');
  });

  test('savepoint -d refuses what is not a savepoint and touches nothing', async () => {
    const plain = join(tmp, 'important-data');
    mkdirSync(plain, { recursive: true });
    writeFileSync(join(plain, 'op-0-0'), 'precious');
    writeFileSync(join(plain, 'notes.txt'), 'also precious');
    const r = await flink(['savepoint', '-d', plain]);
    assert.equal(r.code, 3);
    assert.equal(stderrLines(r.stderr).filter((l) => l.startsWith('flink: ')).length, 1);
    assert.match(r.stderr, /_metadata/);
    assert.deepEqual(readdirSync(plain).sort(), ['notes.txt', 'op-0-0']);
    assert.equal(readFileSync(join(plain, 'op-0-0'), 'utf8'), 'precious');

    const chk = join(tmp, 'checkpoints', RUNNING, 'chk-5');
    makeSnapshot(chk, 'CHECKPOINT');
    const c = await flink(['savepoint', '-d', chk]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /checkpoint, not a savepoint/);
    assert.deepEqual(readdirSync(chk).sort(), ['_metadata', 'op-0-0']);
  });

  test('savepoint -d with -m goes through the JobManager', async () => {
    cluster.reset();
    const r = await flink(['savepoint', '-d', '/some/savepoint-1', '-m', address]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(cluster.requests.at(-1), { op: 'dispose', opts: '/some/savepoint-1' });
    assert.equal(r.stdout, "Savepoint '/some/savepoint-1' disposed.\n");
    // As Flink's CLI: the path as given, for the cluster to resolve (any scheme its file systems know).
    const rel = await flink(['savepoint', '-d', 'file:rel/savepoint-2', '-m', address]);
    assert.equal(rel.code, 0, rel.stderr);
    assert.deepEqual(cluster.requests.at(-1), { op: 'dispose', opts: 'file:rel/savepoint-2' });
  });

  test('unknown job ids: exit 3, one line, no stack trace', async () => {
    cluster.reset();
    const cases = [
      ['savepoint', UNKNOWN, join(tmp, 'x')],
      ['cancel', UNKNOWN],
      ['stop', UNKNOWN],
      ['cancel', UNKNOWN, '-m', address],
    ];
    const results = await Promise.all(cases.map((args) => flink(args)));
    for (const [i, r] of results.entries()) {
      const args = cases[i]!;
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      const errors = stderrLines(r.stderr).filter((l) => l.startsWith('flink: '));
      assert.deepEqual(errors, [`flink: Job ${UNKNOWN} not found`], args.join(' '));
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    }
    const json = await flink(['cancel', UNKNOWN, '--json']);
    assert.equal(json.code, 3);
    assert.deepEqual(JSON.parse(json.stdout), { error: { kind: 'not-found', message: `Job ${UNKNOWN} not found` } });

    const verbose = await flink(['cancel', UNKNOWN, '--verbose']);
    assert.equal(verbose.code, 3);
    assert.match(verbose.stderr, /\n\s+at /, '--verbose shows the stack');
  });

  test('a job whose cluster is gone: unreachable (4), and the index learns it', async () => {
    const LOST = 'abcdefabcdefabcdefabcdefabcdef00';
    const gone = await execa('node', ['-e', 'process.stdout.write(String(process.pid))']);
    const port = await closedPort();
    withIndex((index) => index.upsertJob(jobRecord(LOST, { restUrl: `http://127.0.0.1:${port}`, pid: Number(gone.stdout) })));
    const r = await flink(['cancel', LOST]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(stderrLines(r.stderr).at(-1)!, new RegExp(`^flink: Job ${LOST} is lost: cluster process ${gone.stdout} is gone`));
    assert.equal(withIndex((index) => index.getJob(LOST)!.status), 'FAILED');
    const again = await flink(['cancel', LOST]);
    assert.equal(again.code, 5);
  });

  test('usage errors exit 2 with one line', async () => {
    const cases = [
      ['list', '--bogus'],
      ['savepoint'],
      ['cancel'],
      ['cancel', '-s'],
      ['stop', 'a', 'b'],
      ['savepoint', 'not-a-job-id', '/tmp'],
      ['savepoint', RUNNING, '/tmp', '-type', 'weird', '-m', address],
      ['list', '-m', 'no-port-here'],
      ['list', '-D', 'novalue'],
      ['nosuchcommand'],
    ];
    const results = await Promise.all(cases.map((args) => flink(args)));
    for (const [i, r] of results.entries()) {
      const args = cases[i]!;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = stderrLines(r.stderr).filter((l) => !l.startsWith('DEPRECATION WARNING'));
      assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(lines[0]!, /^flink: /);
    }
  });

  test('unreachable cluster: exit 4', async () => {
    const port = await closedPort();
    const r = await flink(['list', '-m', `127.0.0.1:${port}`]);
    assert.equal(r.code, 4);
    assert.equal(stderrLines(r.stderr).at(-1), `flink: Could not connect to the JobManager at http://127.0.0.1:${port}: connection refused`);
  });

  test('no ANSI escapes when not a TTY, even with FORCE_COLOR, and never with NO_COLOR', async () => {
    cluster.reset();
    const runs: Array<Promise<void>> = [];
    for (const env of [{}, { FORCE_COLOR: '3' }, { NO_COLOR: '1', FORCE_COLOR: '3' }, { CI: 'true' }]) {
      for (const args of [['list', '-a', '-m', address], ['cancel', UNKNOWN], ['list', '--nope']]) {
        runs.push(flink(args, env).then((r) => {
          assert.ok(!ANSI.test(r.stdout), `stdout of ${args.join(' ')} with ${JSON.stringify(env)}`);
          assert.ok(!ANSI.test(r.stderr), `stderr of ${args.join(' ')} with ${JSON.stringify(env)}`);
        }));
      }
    }
    await Promise.all(runs);
  });
});
