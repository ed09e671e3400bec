/**
 * TypeScript jobs on a real Apache Flink 2.2.1 cluster through the flink-ts runner (docs/flink-runner.md):
 * `flink run -m host:port job.ts` gives the same committed output as the mini-cluster; a savepoint taken by our CLI
 * restores on the cluster with `run -s` (and with `-p` rescaling the keyed state) to exactly the uninterrupted
 * output; windows and connect as on the mini-cluster; a job the runner cannot run is refused before anything is
 * uploaded. State kinds, timers and operator state: flink-runner-state.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flinkSkip, type FlinkCluster } from '../support/flink.js';
import { startRunnerCluster, stopRunnerCluster } from './runnerCluster.js';
import { committedLines, flink, jobIdFrom, ROOT, STATE_MACHINE_JOB, STACK_FRAME, waitFor, type Workspace } from './helpers.js';
import { modelOutput } from './models.js';

const skip = flinkSkip();
const WORD_COUNT = join(ROOT, 'examples', 'WordCount.ts');
const REFUSED_JOB = join(ROOT, 'test', 'jobs', 'BroadcastJob.ts');

async function jobState(cluster: FlinkCluster, jobId: string): Promise<string> {
  return ((await (await fetch(`${cluster.rest}/jobs/${jobId}`)).json()) as { state: string }).state;
}

async function jars(cluster: FlinkCluster): Promise<Array<{ id: string; name: string }>> {
  return ((await (await fetch(`${cluster.rest}/jars`)).json()) as { files: Array<{ id: string; name: string }> }).files;
}

describe('TypeScript jobs on a real Apache Flink cluster (the flink-ts runner)', { skip, timeout: 300_000 }, () => {
  let cluster: FlinkCluster;
  let ws: Workspace;
  let m: string;

  before(async () => ({ cluster, ws, m } = await startRunnerCluster()));
  after(() => stopRunnerCluster({ cluster, ws }));

  it('examples/WordCount.ts commits the same output on the cluster as on the mini-cluster', async () => {
    const onCluster = join(ws.dir, 'wc-cluster');
    const r = await flink(ws, ['run', '-m', m, WORD_COUNT, '--output', onCluster], { timeoutMs: 120_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Job with JobID [0-9a-f]{32} has finished\./);
    const local = join(ws.dir, 'wc-local');
    const l = await flink(ws, ['run', WORD_COUNT, '--output', local]);
    assert.equal(l.exitCode, 0, l.stderr);
    const lines = committedLines(onCluster);
    assert.ok(lines.length > 50, `${lines.length} lines`);
    assert.deepEqual(lines, committedLines(local));
    // The running count of "to" reaches its total: the keyed state lived in Flink across batches.
    assert.ok(lines.includes('to,13'), 'the running count of "to" reaches 13');
    // The runner JAR went up once and stays for the next job; a second job reuses it.
    const uploaded = (await jars(cluster)).filter((j) => j.name.startsWith('flink-ts-runner-'));
    assert.equal(uploaded.length, 1);
    const again = await flink(ws, ['run', '-m', m, WORD_COUNT, '--output', join(ws.dir, 'wc-again')], { timeoutMs: 120_000 });
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual((await jars(cluster)).filter((j) => j.name.startsWith('flink-ts-runner-')), uploaded);
  });

  it('examples/StateMachineExample.ts: the same output as the mini-cluster, also after savepoint, cancel and run -s, and with -p 2 on restore; -n for a job without its uids', async () => {
    const args = ['--count', '40000', '--keys', '50'];
    const local = join(ws.dir, 'sm-local');
    const l = await flink(ws, ['run', STATE_MACHINE_JOB, ...args, '--rate', '1000000', '--output', local], { timeoutMs: 120_000 });
    assert.equal(l.exitCode, 0, l.stderr);
    const expected = committedLines(local);
    assert.ok(expected.length > 100);
    assert.deepEqual(expected, modelOutput(STATE_MACHINE_JOB, args), 'the mini-cluster agrees with the model of the job');

    const direct = join(ws.dir, 'sm-cluster');
    const d = await flink(ws, ['run', '-m', m, STATE_MACHINE_JOB, ...args, '--rate', '1000000', '--output', direct], { timeoutMs: 120_000 });
    assert.equal(d.exitCode, 0, d.stderr);
    assert.deepEqual(committedLines(direct), expected);

    let savepoint = '';
    for (const restoreArgs of [[], ['-p', '2']]) {
      const out = join(ws.dir, `sm-restored${restoreArgs.join('')}`);
      // 1000 events/s: the savepoint lands early in the 40 s of input. No periodic checkpoints: one completing between
      // the savepoint and the cancel would commit output that the job restored from the (older) savepoint writes
      // again, as in Flink. The savepoint holds the file sink's in-progress file, the generator's position and the
      // state machine's keyed state; the restored job must continue exactly.
      const run = await flink(ws, ['run', '-d', '-m', m, STATE_MACHINE_JOB, ...args, '--rate', '1000', '--output', out], { timeoutMs: 120_000 });
      assert.equal(run.exitCode, 0, run.stderr);
      const jobId = jobIdFrom(run.stdout);
      await waitFor(async () => (await jobState(cluster, jobId)) === 'RUNNING', 60_000, 'the job running');
      await new Promise((r) => setTimeout(r, 2000));
      const sp = await flink(ws, ['savepoint', '-m', m, jobId, join(ws.dir, 'savepoints')], { timeoutMs: 120_000 });
      assert.equal(sp.exitCode, 0, sp.stderr);
      const path = /Path: (\S+)/.exec(sp.stdout)?.[1];
      assert.ok(path, sp.stdout);
      const cancel = await flink(ws, ['cancel', '-m', m, jobId]);
      assert.equal(cancel.exitCode, 0, `the job ended before the cancel (the savepoint came too late): ${cancel.stderr}`);
      await waitFor(async () => (await jobState(cluster, jobId)) === 'CANCELED', 30_000, 'the job cancelled');
      const before = committedLines(out).length;
      assert.ok(before < expected.length, `the first run committed ${before} of ${expected.length} lines before it was cancelled`);

      savepoint = path.replace(/^file:/, '');
      const again = await flink(ws, ['run', '-m', m, '-s', savepoint, ...restoreArgs, STATE_MACHINE_JOB, ...args, '--rate', '1000000', '--output', out], { timeoutMs: 120_000 });
      assert.equal(again.exitCode, 0, again.stderr);
      assert.deepEqual(committedLines(out), expected, `exact output after the restore ${restoreArgs.join(' ')}`);
    }

    // The runner's operators carry the job's uids: WordCount has none of the savepoint's (events-source,
    // state-machine, alerts-sink), so Flink refuses the restore, and -n (allowNonRestoredState) lets it start fresh.
    const wcOut = join(ws.dir, 'wc-n');
    const refused = await flink(ws, ['run', '-m', m, '-s', savepoint, WORD_COUNT, '--output', wcOut], { timeoutMs: 120_000 });
    assert.equal(refused.exitCode, 7, refused.stderr);
    assert.match(refused.stderr, /Cannot map checkpoint\/savepoint state for operator .* to the new program/);
    const allowed = await flink(ws, ['run', '-m', m, '-s', savepoint, '-n', WORD_COUNT, '--output', wcOut], { timeoutMs: 120_000 });
    assert.equal(allowed.exitCode, 0, allowed.stderr);
    const fresh = join(ws.dir, 'wc-fresh');
    const f = await flink(ws, ['run', WORD_COUNT, '--output', fresh], { timeoutMs: 120_000 });
    assert.equal(f.exitCode, 0, f.stderr);
    assert.deepEqual(committedLines(wcOut), committedLines(fresh));
  });

  it('test/jobs/WindowJob.ts: event-time tumbling windows with allowed lateness and a late-data side output, the same as on the mini-cluster', async () => {
    const job = join(ROOT, 'test', 'jobs', 'WindowJob.ts');
    const dirs = { cluster: join(ws.dir, 'win-cluster'), local: join(ws.dir, 'win-local') };
    const r = await flink(ws, ['run', '-m', m, job, '--kind', 'tumbling', '--output', join(dirs.cluster, 'out'), '--late', join(dirs.cluster, 'late')], { timeoutMs: 120_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    const l = await flink(ws, ['run', job, '--kind', 'tumbling', '--output', join(dirs.local, 'out'), '--late', join(dirs.local, 'late')], { timeoutMs: 120_000 });
    assert.equal(l.exitCode, 0, l.stderr);
    const windows = committedLines(join(dirs.cluster, 'out'));
    const late = committedLines(join(dirs.cluster, 'late'));
    assert.ok(windows.length > 100 && late.length > 0, `${windows.length} windows, ${late.length} late events`);
    assert.deepEqual(windows, committedLines(join(dirs.local, 'out')));
    assert.deepEqual(late, committedLines(join(dirs.local, 'late')));
  });

  it('test/jobs/ConnectJob.ts: coMap, coFlatMap, coProcess and a keyed coFlatMap with keyed state print the same lines as on the mini-cluster', async () => {
    const job = join(ROOT, 'test', 'jobs', 'ConnectJob.ts');
    const pattern = /^(?:\d+> )?((?:map[12]|flatMap[12]|process[12]|keyed(?:-number|-word)?),.*)$/;
    const printed = (text: string) => text.split('\n').map((x) => pattern.exec(x)?.[1]).filter((x): x is string => x !== undefined).sort();
    const r = await flink(ws, ['run', '-m', m, job], { timeoutMs: 120_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    const l = await flink(ws, ['run', job]);
    assert.equal(l.exitCode, 0, l.stderr);
    const expected = printed(l.stdout);
    assert.ok(expected.length > 100, `${expected.length} lines`);
    // print() in the worker writes to the TaskManager's stdout: the cluster's log here.
    await waitFor(() => printed(readFileSync(cluster.logFile, 'utf8')).length >= expected.length, 10_000, 'the printed lines in the cluster log');
    assert.deepEqual(printed(readFileSync(cluster.logFile, 'utf8')), expected);
  });

  it('refuses a job the runner cannot run before uploading anything, naming what is missing', async () => {
    // Without the runner on the cluster, an upload would show in /jars.
    for (const j of await jars(cluster)) await fetch(`${cluster.rest}/jars/${j.id}`, { method: 'DELETE' });
    assert.deepEqual(await jars(cluster), []);
    const r = await flink(ws, ['run', '-m', m, REFUSED_JOB, '--output', join(ws.dir, 'never')]);
    assert.equal(r.exitCode, 2, r.stderr);
    const lines = r.stderr.split('\n').filter((x) => x.startsWith('flink: '));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /the flink-ts runner does not support /);
    assert.doesNotMatch(lines[0], /broadcast/, 'broadcast state runs on the runner');
    assert.match(lines[0], /sources without a Flink connector: 'Source: events'/);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
    assert.deepEqual(await jars(cluster), [], 'nothing uploaded');
  });
});
