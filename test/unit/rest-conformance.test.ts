/**
 * Values of the REST answers as Flink means them: checkpoint counts are totals since the job started (not the
 * kept history), the summary is over every completed checkpoint, sizes in bytes and times in epoch ms,
 * Long.MAX_VALUE and NaN as Jackson writes them, the serialized-throwable a Java client deserializes; and
 * Flink's command-line spellings as our CLI reads them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CheckpointStatsTracker, type TrackedCheckpoint } from '../../src/checkpoint/CheckpointStatsTracker.js';
import { StatsSummary } from '../../src/checkpoint/StatsSummary.js';
import { stringifyJava } from '../../src/rest/json.js';
import {
  JAVA_LONG_MAX, toCheckpointConfigInfo, toCheckpointStatistics, toCheckpointingStatistics, toSerializedThrowable,
  toTaskCheckpointStatisticsWithSubtasks,
} from '../../src/rest/messages.js';
import { serializeThrowable } from '../../src/rest/SerializedThrowable.js';
import { toOclifArgv, type FlagInfo } from '../../commands/flinkArgv.js';
import { isFlinkError } from '../../src/core/FlinkError.js';
import { Logger } from '../../src/core/Logger.js';
import { Configuration } from '../../src/config/Configuration.js';
import { MiniCluster } from '../../src/runtime/MiniCluster.js';
import type { AsyncOperationStatus } from '../../src/rest/Dispatcher.js';

const JOB = 'a'.repeat(32);
const V1 = 'b'.repeat(32);
const V2 = 'c'.repeat(32);

function tracked(id: number, acked: number, extra: Partial<TrackedCheckpoint> = {}): TrackedCheckpoint {
  return {
    id, isSavepoint: false, location: `/cp/${JOB}/chk-${id}`, triggerTs: 1_000 * id, numSubtasks: 3, numAcknowledged: acked, unaligned: false,
    vertices: [{ vertexId: V1, numSubtasks: 1 }, { vertexId: V2, numSubtasks: 2 }], ...extra,
  };
}

describe('checkpoint statistics', () => {
  test('counts are totals since the job started: 1,012 completed, 3 failed, beyond the kept history', () => {
    const t = new CheckpointStatsTracker(JOB);
    for (let id = 1; id <= 1015; id++) {
      t.record(tracked(id, 0), 'IN_PROGRESS');
      if (id % 400 === 0) t.record(tracked(id, 1), 'FAILED', { failure: 'declined' });
      else t.record(tracked(id, 3), 'COMPLETED', { size: id, duration: 10 });
    }
    t.record(tracked(1016, 0), 'IN_PROGRESS');
    t.failedWithoutInProgress();
    const body = toCheckpointingStatistics(t.stats());
    assert.deepEqual(body.counts, { restored: 0, total: 1017, in_progress: 1, completed: 1013, failed: 3 });
    assert.equal(body.history.length, 10, "the history shows web.checkpoints.history (10) entries, as Flink's");
    assert.deepEqual(body.history.map((h) => h.id), [1016, 1015, 1014, 1013, 1012, 1011, 1010, 1009, 1008, 1007]);
    // Summary over all 1013 completed ones, in bytes and ms.
    assert.equal(body.summary.state_size.min, 1);
    assert.equal(body.summary.state_size.max, 1015);
    assert.equal(body.summary.end_to_end_duration.avg, 10);
    assert.equal(body.latest.failed?.id, 800);
    assert.equal(body.latest.failed?.className, 'failed');
    assert.equal(typeof body.latest.failed?.failure_timestamp, 'number');
    assert.equal(body.latest.completed?.id, 1015);
    assert.equal(body.latest.completed?.external_path, `file:/cp/${JOB}/chk-1015`);
    assert.equal(body.latest.completed?.savepointFormat, null);
  });

  test('restores count every time, with the latest one shown', () => {
    const t = new CheckpointStatsTracker(JOB);
    t.restored = { id: 5, restoreTimestamp: 10, isSavepoint: true, externalPath: '/sp/savepoint-aaaaaa-0123456789ab' };
    t.restored = { id: 9, restoreTimestamp: 20, isSavepoint: false, externalPath: `/cp/${JOB}/chk-9` };
    const body = toCheckpointingStatistics(t.stats());
    assert.equal(body.counts.restored, 2);
    assert.deepEqual(body.latest.restored, { id: 9, restore_timestamp: 20, is_savepoint: false, external_path: `file:/cp/${JOB}/chk-9` });
  });

  test('stop-with-savepoint is SYNC_SAVEPOINT; a savepoint has its format; details per vertex and subtask', () => {
    const t = new CheckpointStatsTracker(JOB);
    const sp = tracked(3, 0, { isSavepoint: true, syncSavepoint: true, savepointFormat: 'NATIVE', location: '/sp/savepoint-aaaaaa-0123456789ab' });
    t.record(sp, 'IN_PROGRESS');
    const ack = (vertexId: string, subtask: number, stateSize: number) => ({
      vertexId, subtask, ackTimestamp: 3_010 + subtask, stateSize, checkpointedSize: stateSize, syncMs: 1, asyncMs: 2,
      alignmentMs: 3, startDelayMs: 4, unaligned: false, persistedData: 0, processedData: 0,
    });
    t.acknowledged(3, 1, ack(V1, 0, 100));
    t.acknowledged(3, 2, ack(V2, 1, 50));
    const pending = t.entry(3)!;
    const sub = toTaskCheckpointStatisticsWithSubtasks(pending, V2) as any;
    assert.deepEqual(sub.subtasks.map((s: any) => s.status), ['pending_or_failed', 'completed']);
    assert.equal(sub.num_acknowledged_subtasks, 1);
    t.record({ ...sp, numAcknowledged: 3 }, 'COMPLETED', { size: 150, duration: 12 });
    const e = t.entry(3)!;
    const d = toCheckpointStatistics(e, true);
    assert.equal(d.checkpoint_type, 'SYNC_SAVEPOINT');
    assert.equal(d.savepointFormat, 'NATIVE');
    assert.equal(d.tasks[V1]!.state_size, 100);
    assert.equal(d.tasks[V1]!.end_to_end_duration, 10, 'ms from the trigger to the last ack');
    assert.equal(d.tasks[V2]!.num_subtasks, 2);
    const s = toTaskCheckpointStatisticsWithSubtasks(e, V2) as any;
    assert.equal(s.subtasks[1].end_to_end_duration, 11);
    assert.deepEqual(s.subtasks[1].checkpoint, { sync: 1, async: 2 });
    assert.equal(s.subtasks[1].alignment.duration, 3);
    assert.equal(s.subtasks[1].start_delay, 4);
    assert.ok(Number.isNaN(s.summary.state_size.p50), 'per-task summaries have no quantiles in Flink');
    assert.equal(toTaskCheckpointStatisticsWithSubtasks(e, 'd'.repeat(32)), undefined);
  });

  test("quantiles as commons-math's Percentile; NaN without values, written as Jackson writes it", () => {
    const s = new StatsSummary();
    for (const v of [24, 97]) s.add(v);
    const snap = s.snapshot();
    assert.equal(snap.quantile(0.5), 60.5); // the real cluster's p50 of 24 and 97
    assert.equal(snap.quantile(0.9), 97);
    assert.equal(snap.avg, 60);
    assert.ok(Number.isNaN(new StatsSummary().snapshot().quantile(0.5)));
    assert.equal(stringifyJava({ p50: Number.NaN, n: 1.5 }), '{"p50":"NaN","n":1.5}');
  });
});

describe('Java-compatible JSON', () => {
  test('interval without periodic checkpoints is Long.MAX_VALUE, digit for digit', () => {
    const body = toCheckpointConfigInfo({
      mode: 'EXACTLY_ONCE', timeout: 1, minPause: 0, maxConcurrent: 1, tolerableFailures: 0, unaligned: false, alignedTimeout: 0,
      retention: 'NO_EXTERNALIZED_CHECKPOINTS', stateBackend: 'EmbeddedRocksDBStateBackend',
    });
    assert.equal(body.interval, JAVA_LONG_MAX);
    assert.match(stringifyJava(body), /"interval":9223372036854775807,/);
    assert.equal(body.state_backend, 'EmbeddedRocksDBStateBackend');
    assert.equal(stringifyJava({ s: 'javalong:1', big: 12n }), '{"s":"javalong:1","big":12}');
  });

  const flinkCore = join(homedir(), '.m2', 'repository', 'org', 'apache', 'flink', 'flink-core', '2.2.1', 'flink-core-2.2.1.jar');
  const javaSkip = spawnSync('java', ['-version']).status !== 0 ? 'no java on the PATH'
    : !existsSync(flinkCore) ? `Flink's flink-core jar is not in the Maven repository (${flinkCore}; the Flink harness fetches it)` : false;

  test("serialized-throwable: Flink's own class deserializes it (a JVM reads our bytes)", { skip: process.env.CI ? false : javaSkip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'flink-ts-throwable-'));
    try {
      writeFileSync(join(dir, 'Read.java'), `
import java.io.*; import java.util.Base64; import org.apache.flink.util.SerializedThrowable;
public class Read { public static void main(String[] a) throws Exception {
  byte[] b = Base64.getDecoder().decode(new BufferedReader(new InputStreamReader(System.in)).readLine().trim());
  SerializedThrowable t = (SerializedThrowable) new ObjectInputStream(new ByteArrayInputStream(b)).readObject();
  System.out.println(t.getOriginalErrorClassName() + "|" + t.getMessage() + "|" + t.getFullStringifiedStackTrace() + "|" + (t.deserializeError(Read.class.getClassLoader()) == t));
}}`);
      const body = toSerializedThrowable('Checkpoint expired before completing (é, \u0000, 😀).', 'org.apache.flink.runtime.checkpoint.CheckpointException');
      const r = spawnSync('java', ['-cp', flinkCore, join(dir, 'Read.java')], { input: `${body['serialized-throwable']}\n`, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `org.apache.flink.runtime.checkpoint.CheckpointException|Checkpoint expired before completing (é, \u0000, 😀).|${body['stack-trace']}|true`);
      // A stack trace beyond 64 KiB of modified UTF-8 goes as a long string.
      const long = serializeThrowable('java.lang.Exception', 'x', 'y'.repeat(70_000));
      const r2 = spawnSync('java', ['-cp', flinkCore, join(dir, 'Read.java')], { input: `${long}\n`, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r2.status, 0, r2.stderr);
      assert.equal(r2.stdout.trim().split('|')[2]!.length, 70_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Flink's command line spellings", () => {
  const flags: Record<string, Record<string, FlagInfo>> = {
    savepoint: { dispose: { char: 'd', takesValue: true }, type: { takesValue: true }, detached: { takesValue: false }, jobmanager: { char: 'm', takesValue: true }, property: { char: 'D', takesValue: true }, json: { takesValue: false } },
    stop: { savepointPath: { char: 'p', takesValue: false }, drain: { char: 'd', takesValue: false }, type: { takesValue: true }, detached: { takesValue: false } },
    checkpoint: { full: { takesValue: false }, jobmanager: { char: 'm', takesValue: true } },
    run: { detached: { char: 'd', takesValue: false }, parallelism: { char: 'p', takesValue: true }, fromSavepoint: { char: 's', takesValue: true }, shutdownOnAttachedExit: { takesValue: false }, restoreMode: { takesValue: true }, claimMode: { takesValue: true }, property: { char: 'D', takesValue: true } },
  };
  const rw = (...args: string[]) => toOclifArgv(args, (v) => flags[v], {}).argv;

  test('single-dash long options and multi-letter short names', () => {
    assert.deepEqual(rw('savepoint', '-type', 'native', '-detached', JOB), ['savepoint', '--type', 'native', '--detached', JOB]);
    assert.deepEqual(rw('stop', '-drain', '-type=native', JOB), ['stop', '--drain', '--type=native', JOB]);
    assert.deepEqual(rw('checkpoint', '-full', JOB), ['checkpoint', '--full', JOB]);
    assert.deepEqual(rw('checkpoint', '-fu', JOB), ['checkpoint', '--full', JOB], 'a unique prefix, as commons-cli');
    assert.deepEqual(rw('savepoint', '-d', '/sp/x'), ['savepoint', '-d', '/sp/x']);
    assert.deepEqual(rw('savepoint', '-Dstate.savepoints.dir=/x', JOB), ['savepoint', '-Dstate.savepoints.dir=/x', JOB]);
  });

  test('run: the CLI part only; the program keeps its arguments, whatever they look like', () => {
    assert.deepEqual(rw('run', '-sae', '-d', '-p', '2', '-s', '/sp/x', '-cm', 'claim', 'job.ts', '-type', '-sae', '--x'),
      ['run', '--shutdownOnAttachedExit', '-d', '-p', '2', '-s', '/sp/x', '--claimMode', 'claim', 'job.ts', '-type', '-sae', '--x']);
    assert.deepEqual(rw('run', '-rm', 'no_claim', 'job.ts'), ['run', '--restoreMode', 'no_claim', 'job.ts']);
    assert.deepEqual(rw('run', '-s/sp/x', 'job.ts'), ['run', '-s/sp/x', 'job.ts'], 'a short option with its value attached');
  });

  test('-h is help; -t is the deployment target (remote or local), not the savepoint type', () => {
    assert.deepEqual(rw('savepoint', '-h'), ['savepoint', '--help']);
    assert.deepEqual(rw('savepoint', '-t', 'remote', '-m', 'h:1', JOB), ['savepoint', '-m', 'h:1', JOB]);
    assert.deepEqual(rw('stop', '--target=local', JOB), ['stop', JOB]);
    assert.throws(() => rw('savepoint', '-t', 'yarn-session', JOB), (e) => isFlinkError(e) && e.kind === 'invalid-argument' && /Unsupported deployment target 'yarn-session'/.test(e.message));
    assert.throws(() => rw('savepoint', '-t'), (e) => isFlinkError(e) && /Missing argument for option: t/.test(e.message));
  });

  test('unknown single-dash options are refused with commons-cli\'s words, not misread', () => {
    assert.throws(() => rw('savepoint', '-yid', 'application_1', JOB), (e) => isFlinkError(e) && e.kind === 'invalid-argument'
      && e.message === 'Unrecognized option: -yid. Use the help option (-h or --help) to get help on the command.');
    assert.throws(() => rw('stop', '-zz', JOB), /Unrecognized option: -zz/);
  });

  test('--flink-exit-codes (or FLINK_TS_FLINK_EXIT_CODES=1) is taken out and reported', () => {
    assert.deepEqual(toOclifArgv(['list', '--flink-exit-codes'], () => ({}), {}), { argv: ['list'], flinkExitCodes: true });
    assert.equal(toOclifArgv(['list'], () => ({}), { FLINK_TS_FLINK_EXIT_CODES: '1' }).flinkExitCodes, true);
    assert.equal(toOclifArgv(['list'], () => ({}), {}).flinkExitCodes, false);
  });
});

describe("the mini-cluster's asynchronous operations, as Flink's Dispatcher keeps them", () => {
  const cluster = (extra: Record<string, string> = {}) =>
    new MiniCluster(Configuration.fromMap({ 'taskmanager.numberOfTaskSlots': '3', ...extra }), undefined, Logger.silent());
  const settled = async (f: () => AsyncOperationStatus) => {
    for (let i = 0; i < 100; i++) {
      const s = f();
      if (s.status === 'COMPLETED') return s;
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.fail('the operation did not complete');
  };

  test('a savepoint or checkpoint of an unknown job is accepted and fails with FlinkJobNotFoundException', async () => {
    const mc = cluster({ 'state.savepoints.dir': tmpdir() });
    const unknown = 'e'.repeat(32);
    const sp = mc.triggerSavepoint(unknown, { cancelJob: false });
    const s = await settled(() => mc.savepointStatus(unknown, sp));
    assert.ok('failureCause' in s);
    assert.equal(s.failureCause, `Could not find Flink job (${unknown})`);
    assert.equal(s.failureClass, 'org.apache.flink.runtime.messages.FlinkJobNotFoundException');
    assert.equal(s.failureKind, 'not-found');
    const cp = mc.triggerCheckpoint(unknown, 'CONFIGURED');
    assert.equal((await settled(() => mc.checkpointStatus(unknown, cp))).status, 'COMPLETED');
    assert.throws(() => mc.savepointStatus(unknown, cp), /There is no savepoint operation with triggerId=/, 'a checkpoint trigger is not a savepoint one');
  });

  test("a client's triggerId names the operation: the same id again is the same operation; per job", async () => {
    const mc = cluster({ 'state.savepoints.dir': tmpdir() });
    const [a, b] = ['a'.repeat(32), 'b'.repeat(32)];
    const id = '0123456789abcdef0123456789abcdef';
    assert.equal(mc.triggerSavepoint(a, { cancelJob: false, triggerId: id }), id);
    assert.equal(mc.triggerSavepoint(a, { cancelJob: false, triggerId: id.toUpperCase() }), id);
    assert.equal(mc.triggerSavepoint(b, { cancelJob: false, triggerId: id }), id, 'another job, another operation');
    await settled(() => mc.savepointStatus(a, id));
    await settled(() => mc.savepointStatus(b, id));
    assert.throws(() => mc.triggerCheckpoint(a, 'FULL', id), (e) => isFlinkError(e) && e.kind === 'conflict');
  });

  test('without a target and without state.savepoints.dir the request is refused at once (400 in REST)', () => {
    assert.throws(() => cluster().triggerSavepoint('a'.repeat(32), { cancelJob: false }), (e) => isFlinkError(e) && e.kind === 'invalid-argument');
  });

  test('slots-total is taskmanager.numberOfTaskSlots', () => {
    assert.deepEqual(cluster().slots(), { total: 3, free: 3 });
  });
});
