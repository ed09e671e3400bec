/**
 * Checkpointing configured from the program (issue 20): env.enableCheckpointing(interval, mode),
 * env.getCheckpointConfig() and its setters, checkpoint storage (filesystem, JobManager memory) and the
 * pre-1.14 state backends. Each setting is checked where it shows (GET /jobs/:id/checkpoints/config) and in
 * what the run does. Jobs run on an in-process mini-cluster (worker-thread task slots, a real REST
 * endpoint); the CLI part goes through bin/flink.js and a detached cluster process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointConfig, ExternalizedCheckpointRetention } from '../../src/api/CheckpointConfig.js';
import { CheckpointingMode } from '../../src/api/CheckpointingMode.js';
import { DEFAULT_MAX_STATE_SIZE, FileSystemCheckpointStorage, JobManagerCheckpointStorage } from '../../src/api/checkpointStorage.js';
import { FsStateBackend, MemoryStateBackend, RocksDBStateBackend } from '../../src/api/legacyStateBackends.js';
import { EmbeddedRocksDBStateBackend } from '../../src/api/stateBackends.js';
import { StreamExecutionEnvironment } from '../../src/api/StreamExecutionEnvironment.js';
import { effectiveCheckpointConfig } from '../../src/checkpoint/EffectiveCheckpointConfig.js';
import { Configuration } from '../../src/config/Configuration.js';
import { CheckpointingOptions } from '../../src/config/ConfigOptions.js';
import { newJobId } from '../../src/core/ids.js';
import type { JobGraph } from '../../src/graph/JobGraph.js';
import { logFileFor, runJob, type SubmittedJob } from '../../src/client/JobRunner.js';
import {
  ROOT, assertOneLineError, cleanup, committedLines, createWorkspace, ensureBuilt, flink, jobIdFrom, savepointPathFrom, show, waitFor, waitForStatus,
  type Workspace,
} from './helpers.js';
import { alignmentModel } from './models.js';

const JOB = join(ROOT, 'test', 'jobs', 'CheckpointConfigJob.ts');
const SNIPPET_JOB = join(ROOT, 'test', 'jobs', 'CheckpointSnippetJob.ts');
const root = mkdtempSync(join(tmpdir(), 'flink-ts-ckcfg-'));
after(() => rmSync(root, { recursive: true, force: true }));
let runs = 0;

/** The cluster's configuration: everything in one temp dir, plus `extra` (what a flink-conf.yaml would add). */
function config(dir: string, extra: Record<string, string>): Configuration {
  return Configuration.fromMap({
    'state.checkpoints.dir': join(dir, 'checkpoints'),
    'state.savepoints.dir': join(dir, 'savepoints'),
    'env.log.dir': join(dir, 'log'),
    'index.path': join(dir, 'index.sqlite'),
    'taskmanager.numberOfTaskSlots': '2',
    'execution.buffer-timeout': '10 ms',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': '2',
    'restart-strategy.fixed-delay.delay': '200 ms',
    ...extra,
  });
}

interface Run {
  dir: string;
  jobId: string;
  output: string;
  status: string;
  log: () => string;
  /** Whatever `during` returned. */
  seen: Record<string, unknown>;
}

/**
 * Runs the job in-process. `during` gets the REST address once the job is deployed; the job is cancelled
 * when it returns (pass cancel: false for a bounded run that finishes by itself).
 */
async function run(
  file: string, args: string[], extra: Record<string, string> = {},
  during?: (job: SubmittedJob, api: Api) => Promise<Record<string, unknown> | void>, opts: { cancel?: boolean } = {},
): Promise<Run> {
  const dir = join(root, `run-${++runs}`);
  const output = join(dir, 'out');
  const jobId = newJobId();
  const cfg = config(dir, extra);
  let cancel!: () => void;
  const cancelSignal = new Promise<void>((r) => (cancel = r));
  let seen: Record<string, unknown> = {};
  let duringDone: Promise<void> = Promise.resolve();
  let duringError: unknown;
  const result = await runJob({
    jobFile: file, programArgs: [...args, '--output', output], config: cfg, jobId, stdout: () => {},
    cancelSignal,
    onSubmitted: (job) => {
      duringDone = (async () => {
        try {
          seen = (await during?.(job, new Api(job))) ?? {};
        } catch (e) {
          duringError = e; // reported once the job has ended
          cancel();
        } finally {
          if (opts.cancel !== false) cancel();
        }
      })();
    },
  });
  await duringDone;
  if (duringError) throw duringError;
  return { dir, jobId, output, status: result.status, seen, log: () => readFileSync(logFileFor(cfg, jobId), 'utf8') };
}

type History = { id: number; status: string; failure_message?: string; external_path?: string }[];

class Api {
  constructor(private readonly job: SubmittedJob) {}
  async get<T = Record<string, any>>(path: string): Promise<T> {
    const res = await fetch(`${this.job.restUrl}/jobs/${this.job.jobId}${path}`);
    assert.equal(res.status, 200, `GET ${path}: ${res.status}`);
    return (await res.json()) as T;
  }
  config() {
    return this.get('/checkpoints/config');
  }
  /**
   * POST /checkpoints until one is taken: as in Flink, a job that is not running yet accepts the trigger (202)
   * and reports in the operation's result why there is no checkpoint.
   */
  async trigger(): Promise<void> {
    const base = `${this.job.restUrl}/jobs/${this.job.jobId}/checkpoints`;
    await waitFor(async () => {
      const res = await fetch(base, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      const body = (await res.json()) as { 'request-id': string };
      if (res.status !== 202) assert.fail(`POST /checkpoints: ${res.status}`);
      const result = await waitFor(async () => {
        const r = (await (await fetch(`${base}/${body['request-id']}`)).json()) as { status: { id: string }; operation?: { failureCause?: { class: string } } };
        return r.status.id === 'COMPLETED' ? r : undefined;
      }, 30_000, 'the checkpoint trigger to complete', 50);
      return result.operation?.failureCause === undefined;
    }, 30_000, 'the job to take a checkpoint on request', 50);
  }
  async history(): Promise<History> {
    return (await this.get<{ history: History }>('/checkpoints')).history;
  }
  /** Waits for checkpoints in `status` that satisfy `ok`; returns them. */
  async waitFor(status: string, n: number, ok: (h: History[number]) => boolean = () => true, timeoutMs = 60_000): Promise<History> {
    return waitFor(async () => {
      const hs = (await this.history()).filter((h) => h.status === status && ok(h));
      return hs.length >= n ? hs : undefined;
    }, timeoutMs, `${n} ${status} checkpoint(s)`, 50);
  }
}

/** Every chk-N folder anywhere under `dir`. */
function chkFolders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isDirectory() && /^chk-\d+$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

const expectedLines = alignmentModel;
/** Committed lines without the subtask and latency columns. */
const committed = (output: string) => committedLines(output).map((l) => l.split(',').slice(0, 3).join(',')).sort();

describe('program-side checkpoint configuration', { concurrency: false }, () => {
  test('CheckpointingMode values, setters that reject what they cannot honour, getters falling back to the defaults', () => {
    assert.equal(CheckpointingMode.EXACTLY_ONCE, 'EXACTLY_ONCE');
    assert.equal(CheckpointingMode.AT_LEAST_ONCE, 'AT_LEAST_ONCE');
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const cc = env.getCheckpointConfig();
    assert.ok(cc instanceof CheckpointConfig);
    assert.equal(cc.isCheckpointingEnabled(), false);
    assert.equal(cc.getCheckpointInterval(), -1);
    assert.equal(cc.getCheckpointingMode(), 'EXACTLY_ONCE');
    assert.equal(cc.getCheckpointTimeout(), 600_000);
    assert.equal(cc.getExternalizedCheckpointRetention(), 'NO_EXTERNALIZED_CHECKPOINTS');
    env.enableCheckpointing(1000, CheckpointingMode.AT_LEAST_ONCE);
    assert.equal(cc.isCheckpointingEnabled(), true);
    assert.equal(env.getCheckpointConfig().getCheckpointingMode(), 'AT_LEAST_ONCE');
    cc.enableExternalizedCheckpoints(ExternalizedCheckpointRetention.DELETE_ON_CANCELLATION);
    assert.equal(cc.isExternalizedCheckpointsEnabled(), true);
    cc.setCheckpointStorage('file:///tmp/x/ck');
    assert.deepEqual(cc.getCheckpointStorage(), new FileSystemCheckpointStorage('/tmp/x/ck'));
    assert.equal(new JobManagerCheckpointStorage().getMaxStateSize(), DEFAULT_MAX_STATE_SIZE);
    assert.equal(DEFAULT_MAX_STATE_SIZE, 5 * 1024 * 1024);

    assert.throws(() => env.enableCheckpointing(1000, 'EXACTLY' as never), /Unknown checkpointing mode "EXACTLY"/);
    assert.throws(() => env.enableCheckpointing(5), /at least|larger than or equal to 10 ms/);
    assert.throws(() => cc.setCheckpointTimeout(0), /Checkpoint timeout must be at least 1 ms/);
    assert.throws(() => cc.setMinPauseBetweenCheckpoints(-1), /zero or positive/);
    assert.throws(() => cc.setMaxConcurrentCheckpoints(0), /at least one/);
    assert.throws(() => cc.setTolerableCheckpointFailureNumber(-1), /non-negative/);
    assert.throws(() => cc.setExternalizedCheckpointRetention('KEEP' as never), /Unknown externalized checkpoint retention/);
    assert.throws(() => cc.setCheckpointStorage('s3://bucket/ck'), /local file system only .*not 's3:'/);
    assert.throws(() => new JobManagerCheckpointStorage(0), /positive number of bytes/);
    // Flink overloads with more arguments have no meaning here: they fail rather than being dropped.
    assert.throws(() => (env.enableCheckpointing as (...a: unknown[]) => unknown)(1000, CheckpointingMode.EXACTLY_ONCE, true), /enableCheckpointing\(interval, mode\?\) takes at most 2 arguments in flink-ts, got 3/);
    assert.throws(() => new (FsStateBackend as unknown as new (...a: unknown[]) => unknown)('/ck', 1024), /FsStateBackend\(checkpointDir\) takes at most 1 argument/);
    assert.throws(() => (cc.setCheckpointTimeout as (...a: unknown[]) => void)(1000, 'ms'), /setCheckpointTimeout\(timeout\) takes at most 1 argument/);
    assert.throws(() => new RocksDBStateBackend('/ck', 'yes' as never), /'incremental' must be a boolean/);
  });

  test('the configuration keys state.checkpoint-storage and Flink 2.x execution.checkpointing.storage', () => {
    assert.equal(Configuration.fromMap({}).get(CheckpointingOptions.CHECKPOINT_STORAGE), 'filesystem');
    assert.equal(Configuration.fromMap({ 'state.checkpoint-storage': 'jobmanager' }).get(CheckpointingOptions.CHECKPOINT_STORAGE), 'jobmanager');
    assert.equal(Configuration.fromMap({ 'execution.checkpointing.storage': 'jobmanager' }).get(CheckpointingOptions.CHECKPOINT_STORAGE), 'jobmanager');
    assert.throws(() => Configuration.fromMap({ 'state.checkpoint-storage': 'memory' }).get(CheckpointingOptions.CHECKPOINT_STORAGE), /expected one of jobmanager, filesystem/);
  });

  test('pre-1.14 backends map as in Flink\'s migration guide; impossible combinations fail the submission', () => {
    const cfg = Configuration.fromMap({});
    const eff = (jg: Partial<JobGraph>, c = cfg) => effectiveCheckpointConfig(c, { checkpointInterval: 1000, ...jg } as JobGraph);
    const mem = eff({ stateBackend: new MemoryStateBackend() });
    assert.deepEqual([mem.stateBackendName, mem.storage], ['HashMapStateBackend', { type: 'jobmanager', maxStateSize: DEFAULT_MAX_STATE_SIZE }]);
    assert.match(mem.notices[0], /^MemoryStateBackend is deprecated: using HashMapStateBackend with JobManagerCheckpointStorage/);
    const fs = eff({ stateBackend: new FsStateBackend('file:///data/fs/ck') });
    assert.deepEqual([fs.stateBackendName, fs.storage], ['HashMapStateBackend', { type: 'filesystem', dir: '/data/fs/ck', explicit: true }]);
    const rocks = eff({ stateBackend: new RocksDBStateBackend('file:///data/rocksdb/ck', true) });
    assert.deepEqual([rocks.stateBackendName, rocks.storage], ['EmbeddedRocksDBStateBackend', { type: 'filesystem', dir: '/data/rocksdb/ck', explicit: true }]);
    assert.equal(new RocksDBStateBackend('/x', true).incremental, true);
    for (const n of [...mem.notices, ...fs.notices, ...rocks.notices]) assert.doesNotMatch(n, /\n/, 'one line');
    // A legacy backend's storage wins over setCheckpointStorage (Flink's backward compatibility), and the log says so.
    const both = eff({ stateBackend: new FsStateBackend('/data/fs/ck'), checkpointing: { storage: new JobManagerCheckpointStorage() } });
    assert.equal(both.storage.type, 'filesystem');
    assert.ok(both.notices.some((n) => /overridden by the legacy state backend FsStateBackend/.test(n)), both.notices.join('\n'));
    // The program wins over the configuration.
    const conf = Configuration.fromMap({ 'state.checkpoint-storage': 'jobmanager', 'execution.checkpointing.mode': 'AT_LEAST_ONCE' });
    assert.equal(eff({ checkpointing: { storage: new FileSystemCheckpointStorage('/ck'), mode: 'EXACTLY_ONCE' } }, conf).storage.type, 'filesystem');
    assert.equal(eff({ checkpointing: { mode: 'EXACTLY_ONCE' } }, conf).settings.mode, 'EXACTLY_ONCE');
    assert.equal(eff({}, conf).storage.type, 'jobmanager');

    assert.throws(() => eff({ checkpointing: { unaligned: true, mode: 'AT_LEAST_ONCE' } }), /Unaligned checkpoints need CheckpointingMode.EXACTLY_ONCE/);
    assert.throws(() => eff({ checkpointing: { unaligned: true, storage: new JobManagerCheckpointStorage() } }), /Unaligned checkpoints .* JobManagerCheckpointStorage/);
    assert.throws(() => eff({ stateBackend: new EmbeddedRocksDBStateBackend(true), checkpointing: { storage: new JobManagerCheckpointStorage() } }), /Incremental checkpoints .* JobManagerCheckpointStorage/);
    assert.throws(() => eff({ checkpointing: { retention: 'RETAIN_ON_CANCELLATION' } }), /no checkpoint directory is configured/);
    assert.throws(() => eff({ checkpointing: { alignedTimeout: 1000 } }), /setAlignedCheckpointTimeout\(\) only applies to unaligned checkpoints/);
    assert.equal(eff({ checkpointing: { alignedTimeout: 1000, unaligned: true } }).settings.alignedTimeout, 1000);
    assert.throws(() => eff({ checkpointing: { retention: 'RETAIN_ON_CANCELLATION', storage: new JobManagerCheckpointStorage() } }), /JobManagerCheckpointStorage keeps them in memory only/);
    const configuredRetention = eff({ checkpointing: { storage: new JobManagerCheckpointStorage() } }, Configuration.fromMap({ 'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION' }));
    assert.equal(configuredRetention.settings.retention, 'NO_EXTERNALIZED_CHECKPOINTS');
    assert.ok(configuredRetention.notices.some((n) => /RETAIN_ON_CANCELLATION does not apply to JobManagerCheckpointStorage/.test(n)));
  });

  test('a program that asks for what cannot be honoured fails at submission with the reason', async () => {
    await assert.rejects(
      run(JOB, ['--storage', 'jobmanager', '--unaligned', 'true', '--count', '10']),
      /Unaligned checkpoints write in-flight data as files, which JobManagerCheckpointStorage does not keep/,
    );
  });

  test('every setter shows in GET /checkpoints/config, and what the program sets wins over the configuration', async () => {
    const storageDir = join(root, 'program-storage');
    const r = await run(JOB, [
      '--mode', 'AT_LEAST_ONCE', '--interval', '300', '--timeout', '7000', '--min-pause', '50', '--max-concurrent', '2', '--tolerable', '3',
      '--retention', 'RETAIN_ON_CANCELLATION', '--storage', `file://${storageDir}`, '--count', '1000000',
    ], {
      'execution.checkpointing.interval': '1 h', 'execution.checkpointing.mode': 'EXACTLY_ONCE', 'execution.checkpointing.timeout': '9 s',
      'execution.checkpointing.externalized-checkpoint-retention': 'DELETE_ON_CANCELLATION', 'state.checkpoint-storage': 'jobmanager',
    }, async (job, api) => {
      await api.waitFor('COMPLETED', 2);
      return { config: await api.config(), jobId: job.jobId };
    });
    assert.deepEqual(r.seen.config, {
      mode: 'at_least_once', interval: 300, timeout: 7000, min_pause: 50, max_concurrent: 2,
      externalization: { enabled: true, delete_on_cancellation: false },
      state_backend: 'HashMapStateBackend', checkpoint_storage: 'FileSystemCheckpointStorage',
      unaligned_checkpoints: false, tolerable_failed_checkpoints: 3, aligned_checkpoint_timeout: 0,
      checkpoints_after_tasks_finish: true, state_changelog_enabled: false,
      changelog_periodic_materialization_interval: 600_000, changelog_storage: 'memory',
    });
    // The program's storage directory, not state.checkpoints.dir; RETAIN_ON_CANCELLATION kept them after the cancel.
    assert.equal(r.status, 'CANCELED');
    assert.ok(chkFolders(join(storageDir, r.jobId)).length > 0, 'retained checkpoints in the program\'s directory');
    assert.deepEqual(chkFolders(join(r.dir, 'checkpoints')), []);

    // Unset in the program: the configuration's values; set: the program's, whichever way round.
    const r2 = await run(JOB, ['--mode', 'EXACTLY_ONCE', '--unaligned', 'true', '--aligned-timeout', '1234', '--retention', 'DELETE_ON_CANCELLATION', '--count', '1000000'], {
      'execution.checkpointing.mode': 'AT_LEAST_ONCE', 'execution.checkpointing.timeout': '9 s', 'execution.checkpointing.tolerable-failed-checkpoints': '4',
      'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
    }, async (_job, api) => {
      await api.waitFor('COMPLETED', 1);
      return { config: await api.config() };
    });
    const c2 = r2.seen.config as Record<string, unknown>;
    assert.deepEqual(
      [c2.mode, c2.interval, c2.timeout, c2.unaligned_checkpoints, c2.aligned_checkpoint_timeout, c2.tolerable_failed_checkpoints, c2.externalization],
      ['exactly_once', 200, 9000, true, 1234, 4, { enabled: true, delete_on_cancellation: true }],
    );
    // DELETE_ON_CANCELLATION: nothing stays after the cancel.
    assert.deepEqual(chkFolders(join(r2.dir, 'checkpoints')), []);
  });

  /**
   * Source subtask 1 takes 2 s to snapshot, so its barrier leaves 2 s after source 0's. Count subtask 0 (in the
   * other task slot) aligns in EXACTLY_ONCE: source 0's records wait behind the blocked channel, ~2 s. In
   * AT_LEAST_ONCE nothing is blocked. The configuration says the opposite mode each time: the program wins.
   */
  test('the mode given to enableCheckpointing decides alignment: an at-least-once job does not hold records back', async (t) => {
    const maxLatency = (output: string) => {
      let max = 0;
      for (const l of committedLines(output)) {
        const [, i, , subtask, latency] = l.split(',').map(Number);
        if (subtask === 0 && i < 1500) max = Math.max(max, latency); // source 0's records in count subtask 0
      }
      return max;
    };
    const args = ['--count', '3000', '--rate', '600', '--interval', '400', '--stall-ms', '2000'];
    const exactly = await run(JOB, [...args, '--mode', 'EXACTLY_ONCE'], { 'execution.checkpointing.mode': 'AT_LEAST_ONCE' }, undefined, { cancel: false });
    const atLeast = await run(JOB, [...args, '--mode', 'AT_LEAST_ONCE'], { 'execution.checkpointing.mode': 'EXACTLY_ONCE' }, undefined, { cancel: false });
    assert.deepEqual([exactly.status, atLeast.status], ['FINISHED', 'FINISHED']);
    assert.match(exactly.log(), /Completed checkpoint/);
    assert.match(atLeast.log(), /Completed checkpoint/);
    const [eo, alo] = [maxLatency(exactly.output), maxLatency(atLeast.output)];
    t.diagnostic(`max latency of source 0's records in count subtask 0: EXACTLY_ONCE ${eo} ms, AT_LEAST_ONCE ${alo} ms`);
    assert.ok(eo >= 1500, `EXACTLY_ONCE holds records back while aligning: max latency ${eo} ms`);
    assert.ok(alo < 1000, `AT_LEAST_ONCE does not: max latency ${alo} ms (EXACTLY_ONCE: ${eo} ms)`);
    assert.deepEqual(committed(exactly.output), expectedLines(3000));
  });

  test('setCheckpointTimeout aborts a checkpoint slower than the timeout', async () => {
    const r = await run(JOB, ['--count', '1000000', '--rate', '500', '--interval', '300', '--stall-ms', '1500', '--timeout', '500', '--tolerable', '1000'], {}, async (_job, api) => {
      const failed = await api.waitFor('FAILED', 2);
      return { failed, completed: (await api.history()).filter((h) => h.status === 'COMPLETED').length };
    });
    for (const h of r.seen.failed as History) assert.match(h.failure_message ?? '', /Checkpoint expired before completing \(timeout 500 ms\)/);
    assert.equal(r.seen.completed, 0, 'no checkpoint outlasting its timeout completed');
  });

  test('min pause, max concurrent, unaligned, aligned timeout and tolerable failures set by the program change the run', async () => {
    type Entry = History[number] & { trigger_timestamp: number; latest_ack_timestamp: number; checkpoint_type: string };
    // Min pause: a checkpoint starts no sooner than 600 ms after the previous one completed, whatever the 20 ms interval.
    const paused = await run(JOB, ['--count', '1000000', '--interval', '20', '--min-pause', '600'], {}, async (_job, api) => ({ h: await api.waitFor('COMPLETED', 3) }));
    const done = (paused.seen.h as Entry[]).sort((a, b) => a.id - b.id);
    for (let k = 1; k < done.length; k++) {
      if (done[k].id !== done[k - 1].id + 1) continue;
      assert.ok(done[k].trigger_timestamp - done[k - 1].latest_ack_timestamp >= 590, `checkpoint ${done[k].id} started ${done[k].trigger_timestamp - done[k - 1].latest_ack_timestamp} ms after ${done[k - 1].id} completed`);
    }

    // Max concurrent: slow checkpoints (1 s) every 50 ms overlap up to the limit, and never beyond it.
    const inFlight = async (max: string) => (await run(JOB, ['--count', '1000000', '--interval', '50', '--stall-ms', '1000', '--max-concurrent', max], {}, async (_job, api) => {
      let most = 0;
      const until = Date.now() + 4000;
      while (Date.now() < until) {
        most = Math.max(most, (await api.get<{ counts: { in_progress: number } }>('/checkpoints')).counts.in_progress);
        await new Promise((r) => setTimeout(r, 20));
      }
      return { most };
    })).seen.most;
    assert.equal(await inFlight('1'), 1);
    assert.ok((await inFlight('3') as number) >= 2, 'with 3 allowed, checkpoints overlap');

    // Unaligned from the program: every checkpoint is unaligned; with a long aligned timeout they start (and stay) aligned.
    const types = async (extra: string[]) => ((await run(JOB, ['--count', '1000000', '--interval', '100', '--unaligned', 'true', ...extra], {}, async (_job, api) => ({ h: await api.waitFor('COMPLETED', 2) }))).seen.h as Entry[]).map((e) => e.checkpoint_type);
    assert.deepEqual([...new Set(await types([]))], ['UNALIGNED_CHECKPOINT']);
    assert.deepEqual([...new Set(await types(['--aligned-timeout', '3600000']))], ['CHECKPOINT']);

    // Tolerable failures: the second expired checkpoint in a row is one too many.
    await assert.rejects(
      run(JOB, ['--count', '1000000', '--interval', '100', '--stall-ms', '800', '--timeout', '300', '--tolerable', '1'], { 'restart-strategy.type': 'none' }, undefined, { cancel: false }),
      /Exceeded checkpoint tolerable failure threshold \(1\)/,
    );
  });

  for (const backend of ['hashmap', 'embedded']) {
    test(`JobManagerCheckpointStorage (${backend}): a task failure recovers from the in-memory checkpoint, exactly; nothing on disk`, async () => {
      const r = await run(JOB, ['--storage', 'jobmanager', '--backend', backend, '--count', '4000', '--rate', '1000', '--interval', '100', '--fail-at', '3000'], {}, async (_job, api) => {
        return { config: await api.config() };
      }, { cancel: false });
      assert.equal(r.status, 'FINISHED');
      assert.equal((r.seen.config as Record<string, unknown>).checkpoint_storage, 'JobManagerCheckpointStorage');
      const log = r.log();
      assert.match(log, /Injected failure at record 3000/);
      assert.match(log, new RegExp(`Restoring job ${r.jobId} from checkpoint \\d+ at jobmanager://${r.jobId}/chk-\\d+\\.`));
      assert.match(log, /kept in the memory of the cluster process \(JobManagerCheckpointStorage.*cannot be restored with 'flink run -s' once the cluster is gone/);
      assert.deepEqual(committed(r.output), expectedLines(4000));
      assert.deepEqual(chkFolders(r.dir), [], 'no chk-N folder anywhere');
      assert.ok(!existsSync(join(r.dir, 'checkpoints', r.jobId)), 'no job checkpoint folder');
    });
  }

  test('JobManagerCheckpointStorage: state larger than maxStateSize is declined with the limit and the way out, not written', async () => {
    const r = await run(JOB, ['--storage', 'jobmanager', '--max-state-size', '4096', '--pad', '1000', '--count', '1000000', '--rate', '500', '--interval', '200', '--tolerable', '1000'], {}, async (_job, api) => {
      await api.waitFor('FAILED', 2);
      return { history: await api.history() };
    });
    const history = r.seen.history as History;
    assert.equal(history.filter((h) => h.status === 'COMPLETED').length, 0);
    const failed = history.filter((h) => h.status === 'FAILED');
    for (const h of failed) {
      assert.match(h.failure_message ?? '', /declined checkpoint \d+: The state of operator \w+ in .* is \d+ bytes, larger than the 4096 bytes JobManagerCheckpointStorage keeps in memory per state handle \(maxStateSize\)\. Use FileSystemCheckpointStorage/);
    }
    assert.deepEqual(chkFolders(r.dir), []);
  });

  test('MemoryStateBackend and FsStateBackend: a one-line deprecation notice, and the storage they stand for', async () => {
    const mem = await run(JOB, ['--backend', 'memory', '--count', '1000000'], {}, async (_job, api) => {
      await api.waitFor('COMPLETED', 1);
      return { config: await api.config() };
    });
    const mc = mem.seen.config as Record<string, unknown>;
    assert.deepEqual([mc.state_backend, mc.checkpoint_storage], ['HashMapStateBackend', 'JobManagerCheckpointStorage']);
    assert.equal(mem.log().match(/MemoryStateBackend is deprecated/g)?.length, 1, 'said once');
    assert.deepEqual(chkFolders(mem.dir), []);

    const fsDir = join(root, 'fs-backend');
    const fs = await run(JOB, ['--backend', 'fs', '--backend-dir', `file://${fsDir}`, '--count', '1000000'], {}, async (_job, api) => {
      await api.waitFor('COMPLETED', 1);
      return { config: await api.config() };
    });
    assert.equal((fs.seen.config as Record<string, unknown>).checkpoint_storage, 'FileSystemCheckpointStorage');
    assert.match(fs.log(), new RegExp(`FsStateBackend is deprecated: using HashMapStateBackend with FileSystemCheckpointStorage at ${fsDir}`));
    // The base config retains on cancellation only with RETAIN; here nothing was asked, so the folder is gone after cancel,
    // but the checkpoints went there while the job ran (the catalog recorded them under that path).
    assert.deepEqual(chkFolders(join(fs.dir, 'checkpoints')), []);
    const index = readFileSync(join(fs.dir, 'index.sqlite')).toString('latin1');
    assert.ok(index.includes(join(fsDir, fs.jobId, 'chk-')), 'checkpoints recorded under the FsStateBackend directory');
  });

  test('the eight lines of the issue in one job: AT_LEAST_ONCE, retained, incremental embedded backend at the RocksDBStateBackend directory', async () => {
    const base = join(root, 'snippet');
    const r = await run(SNIPPET_JOB, ['--base', base], {}, async (_job, api) => {
      // The interval is the snippet's 5 s: two checkpoints on request instead of waiting for them.
      await api.trigger();
      await api.waitFor('COMPLETED', 1);
      await api.trigger();
      await api.waitFor('COMPLETED', 2);
      return { config: await api.config(), history: await api.history() };
    });
    const c = r.seen.config as Record<string, unknown>;
    assert.deepEqual(
      [c.mode, c.interval, c.externalization, c.state_backend, c.checkpoint_storage],
      ['at_least_once', 5000, { enabled: true, delete_on_cancellation: false }, 'EmbeddedRocksDBStateBackend', 'FileSystemCheckpointStorage'],
    );
    const jobDir = join(base, 'rocksdb', 'ck', r.jobId);
    assert.ok(chkFolders(jobDir).length > 0, 'retained after cancel, in the RocksDBStateBackend directory');
    assert.ok(readdirSync(join(jobDir, 'shared')).length > 0, 'incremental: files in shared/');
    assert.ok(!existsSync(join(base, 'fs')), 'the overridden storages wrote nothing');
    const log = r.log();
    // FsStateBackend was replaced by the next setStateBackend, like any setter called twice: only what is in effect is said.
    assert.doesNotMatch(log, /FsStateBackend is deprecated/);
    assert.match(log, /RocksDBStateBackend is deprecated: using EmbeddedRocksDBStateBackend\(true\) with FileSystemCheckpointStorage/);
    assert.match(log, /The checkpoint storage set with setCheckpointStorage\(\) \(JobManagerCheckpointStorage\) is overridden by the legacy state backend RocksDBStateBackend/);
    const newest = (r.seen.history as History).find((h) => h.status === 'COMPLETED')!; // newest first; older ones are subsumed
    // external_path is a URI, as Flink's (file:/…/chk-N).
    assert.ok(newest.external_path!.startsWith(`file:${jobDir}`), newest.external_path);
    assert.ok(statSync(newest.external_path!.slice('file:'.length)).isDirectory(), newest.external_path);
  });
});

describe('JobManager storage through the CLI', { concurrency: false }, () => {
  let ws: Workspace;
  before(async () => {
    await ensureBuilt();
    ws = createWorkspace({ 'execution.checkpointing.storage': 'jobmanager', 'execution.checkpointing.interval': '200 ms' });
  });
  after(async () => cleanup(ws));

  test('flink list says the checkpoints live in the cluster\'s memory; run -s of one explains why it cannot', async () => {
    const r = await flink(ws, ['run', '-d', JOB, '--count', '1000000', '--rate', '200', '--output', join(ws.dir, 'out')]);
    assert.equal(r.exitCode, 0, show(r));
    const jobId = jobIdFrom(r.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 30_000);
    const list = await flink(ws, ['list']);
    assert.equal(list.exitCode, 0, show(list));
    assert.match(list.stdout, new RegExp(`${jobId} : Checkpoint config job \\(RUNNING\\) - checkpoints in JobManager memory \\(JobManagerCheckpointStorage\\): not restorable with run -s once its cluster is gone`));
    const json = await flink(ws, ['list', '--json']);
    assert.equal(JSON.parse(json.stdout).find((j: { jobId: string }) => j.jobId === jobId).checkpointStorage, 'jobmanager');
    // Savepoints still go to files, restorable as any.
    const sp = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp.exitCode, 0, show(sp));
    assert.ok(existsSync(join(savepointPathFrom(sp.stdout).replace(/^file:/, ''), '_metadata')));
    assert.equal((await flink(ws, ['cancel', jobId])).exitCode, 0);
    assert.deepEqual(chkFolders(ws.checkpointsDir), []);

    const restore = await flink(ws, ['run', '-s', `jobmanager://${jobId}/chk-1`, JOB, '--output', join(ws.dir, 'out2')]);
    assert.match(assertOneLineError(restore, 3), /was kept in the memory of its cluster process \(JobManagerCheckpointStorage\) and cannot be restored from outside it/);
  });
});
