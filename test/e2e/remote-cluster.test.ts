/**
 * flink-ts' CLI against a real Apache Flink session cluster (test/support/flink.ts): the same verbs as for the
 * mini-cluster, with -m host:port or rest.address/rest.port; `run -m … job.jar` through /jars/upload and
 * /jars/:jarid/run; the remote savepoints and checkpoints recorded in our index; bad input as one line with a
 * stable exit code and no hang past client.timeout.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { checkCountingOutput, flinkSkip, startFlinkCluster, TEST_JOB_JAR, type FlinkCluster } from '../support/flink.js';
import { freePort } from '../support/services.js';
import { createWorkspace, flink, jobIdFrom, STACK_FRAME, startAttached, waitFor, type Workspace } from './helpers.js';

const skip = flinkSkip();

/** The path in "Savepoint completed. Path: file:/…" as Flink prints it (a URI). */
function reportedPath(stdout: string): string {
  const m = /Path: (\S+)/.exec(stdout);
  if (!m) throw new Error(`no path in output:\n${stdout}`);
  return m[1];
}

function localPath(uri: string): string {
  return uri.replace(/^file:(\/\/)?/, '');
}

function output(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** The one line on stderr the CLI prints for a failure (progress lines aside). */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('flink: '));
  assert.equal(lines.length, 1, `one error line:\n${stderr}`);
  assert.doesNotMatch(stderr, STACK_FRAME, 'no stack trace without --verbose');
  return lines[0];
}

describe('our CLI against a real Apache Flink session cluster', { skip, timeout: 900_000 }, () => {
  let cluster: FlinkCluster;
  let ws: Workspace;
  let m: string;
  const rows = (sql: string, ...p: unknown[]) => {
    const db = new Database(ws.indexPath, { readonly: true });
    try {
      return db.prepare(sql).all(...p) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };

  before(async () => {
    // Flink caches checkpoint statistics for 3 s by default; the periodic-checkpoint test checkpoints faster than that.
    cluster = await startFlinkCluster({ log: (l) => process.stderr.write(`# ${l}\n`), conf: { 'rest.cache.checkpoint-statistics.timeout': '100 ms' } });
    m = cluster.address;
    ws = createWorkspace();
  });
  after(async () => {
    await cluster?.stop();
    if (ws) rmSync(ws.dir, { recursive: true, force: true });
  });

  async function submit(args: string[]): Promise<string> {
    const r = await flink(ws, ['run', '-m', m, '-d', ...args]);
    assert.equal(r.exitCode, 0, r.stderr);
    return jobIdFrom(r.stdout);
  }

  async function waitForLines(file: string, n: number): Promise<void> {
    await waitFor(() => checkCountingOutput(output(file)).max >= n, 90_000, `${n} elements in ${file}`, 250);
  }

  async function flinkState(jobId: string): Promise<string> {
    return ((await (await fetch(`${cluster.rest}/jobs/${jobId}`)).json()) as { state: string }).state;
  }

  it('savepoint -> cancel -> run -s: the job continues exactly; the savepoint is in our index with the cluster', async () => {
    const out = join(ws.dir, 'continues.txt');
    const jobId = await submit([TEST_JOB_JAR, '--out', out, '--rate', '100']);
    await waitForLines(out, 50);

    const sp = await flink(ws, ['savepoint', '-m', m, jobId]);
    assert.equal(sp.exitCode, 0, sp.stderr);
    const path = reportedPath(sp.stdout);
    // No target: the cluster's own default directory, not ours.
    assert.ok(path.startsWith(`file:${cluster.savepointsDir}/savepoint-`), path);
    assert.ok(existsSync(join(localPath(path), '_metadata')));

    const cancel = await flink(ws, ['cancel', '-m', m, jobId]);
    assert.equal(cancel.exitCode, 0, cancel.stderr);
    assert.match(cancel.stdout, new RegExp(`Cancelled job ${jobId}\\.`));
    assert.equal(await flinkState(jobId), 'CANCELED');
    const first = checkCountingOutput(output(out));

    const again = await submit(['-s', path, TEST_JOB_JAR, '--out', out, '--rate', '100']);
    await waitFor(() => checkCountingOutput(output(out)).max > first.max + 40, 90_000, 'the restored job to go past the first run', 250);
    const all = checkCountingOutput(output(out));
    assert.ok(all.duplicates > 0, 'the restored job started at the savepoint, not where the first run ended');

    // The index knows both jobs with the cluster's address, and the savepoint with Flink's id and size.
    const job = rows('SELECT * FROM jobs WHERE job_id = ?', jobId)[0];
    assert.equal(job.rest_url, cluster.rest);
    assert.equal(job.pid, null);
    assert.equal(job.status, 'CANCELED');
    const snap = rows('SELECT * FROM snapshots WHERE path = ?', path)[0];
    assert.equal(snap?.kind, 'SAVEPOINT');
    assert.equal(snap?.status, 'COMPLETED');
    assert.ok((snap?.checkpoint_id as number) > 0 && (snap?.size_bytes as number) > 0, JSON.stringify(snap));
    assert.equal(rows('SELECT restored_from FROM jobs WHERE job_id = ?', again)[0].restored_from, path);

    // Without -m the index finds the remote job; rest.address/rest.port find the cluster as Flink's CLI does.
    const listed = await flink(ws, ['list']);
    assert.match(listed.stdout, new RegExp(`${again} : CountingJob \\(RUNNING\\)`));
    const port = cluster.address.split(':')[1];
    const byConfig = await flink(ws, ['list', '-a', '-Drest.address=127.0.0.1', `-Drest.port=${port}`, '--json']);
    assert.equal(byConfig.exitCode, 0, byConfig.stderr);
    const ids = (JSON.parse(byConfig.stdout) as { jobId: string }[]).map((j) => j.jobId);
    assert.ok(ids.includes(jobId) && ids.includes(again), byConfig.stdout);
    assert.equal((await flink(ws, ['cancel', again])).exitCode, 0, 'cancel through the index');
  });

  it('an operator removed: run -s is refused with Flink\'s message, and accepted with -n', async () => {
    const out = join(ws.dir, 'removed.txt');
    const jobId = await submit([TEST_JOB_JAR, '--out', out, '--rate', '100']);
    await waitForLines(out, 20);
    const sp = await flink(ws, ['cancel', '-s', '-m', m, jobId]);
    assert.equal(sp.exitCode, 0, sp.stderr);
    const path = /Savepoint stored in (\S+?)\.$/m.exec(sp.stdout)?.[1];
    assert.ok(path, sp.stdout);

    const refused = await flink(ws, ['run', '-m', m, '-d', '-s', path, TEST_JOB_JAR, '--out', out, '--without-count']);
    assert.equal(refused.exitCode, 7, refused.stderr);
    assert.match(errorLine(refused.stderr), /Cannot map checkpoint\/savepoint state for operator .* to the new program/);

    const out2 = join(ws.dir, 'removed-n.txt');
    const accepted = await flink(ws, ['run', '-m', m, '-d', '-s', path, '-n', TEST_JOB_JAR, '--out', out2, '--without-count']);
    assert.equal(accepted.exitCode, 0, accepted.stderr);
    const id2 = jobIdFrom(accepted.stdout);
    await waitFor(() => output(out2).includes(',-'), 60_000, 'the stateless variant to write');
    // The source's position was restored: it starts past what the first run had read.
    const firstLine = Number(output(out2).split('\n')[0].split(',')[0]);
    assert.ok(firstLine > 0, `restored source position (first element ${firstLine})`);
    await flink(ws, ['cancel', '-m', m, id2]);
  });

  it('stop --drain -p ends the job FINISHED with a savepoint; checkpoint --full; savepoint --detached --type native then --trigger-id; savepoint -d', async () => {
    const out = join(ws.dir, 'stop.txt');
    const jobId = await submit([TEST_JOB_JAR, '--out', out, '--rate', '100', '--checkpoint-interval', '60000']);
    await waitForLines(out, 10);

    const chk = await flink(ws, ['checkpoint', '--full', '-m', m, jobId, '--json']);
    assert.equal(chk.exitCode, 0, chk.stderr);
    const c = JSON.parse(chk.stdout) as { checkpointId: number; checkpointType: string; path: string };
    assert.equal(c.checkpointType, 'FULL');
    assert.ok(c.checkpointId > 0, chk.stdout);
    const chkPath = c.path;
    assert.ok(chkPath.startsWith(`file:${cluster.checkpointsDir}/${jobId}/chk-`), chkPath);
    assert.equal(rows("SELECT kind FROM snapshots WHERE path = ?", chkPath)[0]?.kind, 'CHECKPOINT');

    const target = join(ws.dir, 'detached-target');
    const det = await flink(ws, ['savepoint', '-m', m, '-detached', '--type', 'native', jobId, target]);
    assert.equal(det.exitCode, 0, det.stderr);
    const triggerId = /triggerId: ([0-9a-f]{32})/.exec(det.stdout)?.[1];
    assert.ok(triggerId, det.stdout);
    const res = await flink(ws, ['savepoint', '-m', m, '--trigger-id', triggerId, jobId, '--json']);
    assert.equal(res.exitCode, 0, res.stderr);
    const detPath = (JSON.parse(res.stdout) as { savepointPath: string }).savepointPath;
    assert.ok(detPath.startsWith(`file:${target}/savepoint-`), detPath);
    const stats = (await (await fetch(`${cluster.rest}/jobs/${jobId}/checkpoints`)).json()) as { history: { external_path: string; savepointFormat: string }[] };
    assert.equal(stats.history.find((h) => h.external_path === detPath)?.savepointFormat, 'NATIVE', 'the format reached the cluster');

    const disposed = await flink(ws, ['savepoint', '-m', m, '-d', detPath]);
    assert.equal(disposed.exitCode, 0, disposed.stderr);
    assert.ok(!existsSync(localPath(detPath)), 'the cluster disposed the savepoint');
    assert.equal(rows('SELECT status FROM snapshots WHERE path = ?', detPath)[0]?.status, 'DISCARDED');

    const stopTarget = join(ws.dir, 'stop-target');
    const stop = await flink(ws, ['stop', '--drain', '-p', stopTarget, '-m', m, jobId]);
    assert.equal(stop.exitCode, 0, stop.stderr);
    const spPath = reportedPath(stop.stdout);
    assert.ok(spPath.startsWith(`file:${stopTarget}/savepoint-`), spPath);
    assert.ok(existsSync(join(localPath(spPath), '_metadata')), spPath);
    await waitFor(async () => (await flinkState(jobId)) === 'FINISHED', 30_000, 'FINISHED after stop --drain');
    assert.equal(rows('SELECT status FROM jobs WHERE job_id = ?', jobId)[0].status, 'FINISHED');
  });

  it('the cluster\'s own periodic checkpoints: recorded by list and checkpoints -m, subsumed ones DISCARDED, the retained one after cancel restorable with latest-checkpoint:', async () => {
    const out = join(ws.dir, 'periodic.txt');
    // Flink keeps execution.checkpointing.num-retained (1) checkpoints; RETAIN_ON_CANCELLATION keeps the last on cancel.
    const jobId = await submit(['-Dexecution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION',
      TEST_JOB_JAR, '--out', out, '--rate', '100', '--checkpoint-interval', '300']);
    type Stats = { counts: { completed: number }; latest: { completed: { id: number; external_path: string } | null }; history: { id: number; external_path: string; discarded: boolean }[] };
    const stats = async () => (await (await fetch(`${cluster.rest}/jobs/${jobId}/checkpoints`)).json()) as Stats;
    await waitFor(async () => (await stats()).counts.completed >= 3, 60_000, 'three periodic checkpoints on the cluster', 250);
    const checkpointRows = () => rows("SELECT checkpoint_id AS id, status, path FROM snapshots WHERE job_id = ? AND kind = 'CHECKPOINT' ORDER BY checkpoint_id", jobId) as { id: number; status: string; path: string }[];
    assert.equal(checkpointRows().length, 0, 'none triggered by us, none recorded yet');

    // flink list (through the catalog, no -m) records what the cluster took on its own.
    const listed = await flink(ws, ['list']);
    assert.equal(listed.exitCode, 0, listed.stderr);
    const afterList = checkpointRows();
    assert.ok(afterList.some((r) => r.status === 'COMPLETED' && r.path.startsWith(`file:${cluster.checkpointsDir}/${jobId}/chk-`)), JSON.stringify(afterList));

    // More checkpoints later, flink checkpoints -m: the newly retained one COMPLETED, the ones Flink subsumed DISCARDED.
    const seenId = Math.max(...afterList.map((r) => r.id));
    await waitFor(async () => ((await stats()).latest.completed?.id ?? 0) > seenId + 1, 60_000, 'newer checkpoints', 250);
    // Flink subsumes (and marks discarded) the old checkpoint before it reports the new one completed, and its REST
    // caches that statistics snapshot for a moment: a call may see none retained (CI did once). Asked again, it does.
    type Listed = { checkpoints: { id: number; status: string; path: string }[] };
    const hist = await waitFor(async () => {
      const h = await flink(ws, ['checkpoints', '-m', m, jobId, '-a', '--json']);
      assert.equal(h.exitCode, 0, h.stderr);
      return (JSON.parse(h.stdout) as Listed).checkpoints.some((r) => r.status === 'COMPLETED') ? h : undefined;
    }, 20_000, 'a retained checkpoint in checkpoints -m', 500);
    const listedRows = (JSON.parse(hist.stdout) as Listed).checkpoints;
    const completed = listedRows.filter((r) => r.status === 'COMPLETED');
    // Flink retains 1; on a loaded machine the one it subsumes may show as discarded a moment after the next completes.
    assert.ok(completed.length >= 1, `a retained checkpoint: ${hist.stdout}`);
    assert.ok(completed.every((c) => c.id > seenId), `only checkpoints newer than ${seenId} retained: ${hist.stdout}`);
    const old = listedRows.find((r) => r.id === seenId);
    assert.equal(old?.status, 'DISCARDED', `the checkpoint recorded by list was subsumed since: ${hist.stdout}`);

    // A savepoint triggered past our CLI (Flink's REST, as its own CLI would): savepoints -m finds it.
    const trig = (await (await fetch(`${cluster.rest}/jobs/${jobId}/savepoints`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"cancel-job":false}' })).json()) as { 'request-id': string };
    const spPath = await waitFor(async () => {
      const st = (await (await fetch(`${cluster.rest}/jobs/${jobId}/savepoints/${trig['request-id']}`)).json()) as { status: { id: string }; operation?: { location?: string } };
      return st.status.id === 'COMPLETED' ? st.operation?.location : undefined;
    }, 60_000, 'the savepoint triggered through REST', 250);
    await new Promise((r) => setTimeout(r, 300)); // past the statistics cache
    const sps = await flink(ws, ['savepoints', '-m', m, jobId, '--json']);
    assert.equal(sps.exitCode, 0, sps.stderr);
    assert.deepEqual((JSON.parse(sps.stdout) as { savepoints: { path: string; status: string }[] }).savepoints.map((r) => [r.path, r.status]), [[spPath, 'COMPLETED']]);
    // Pruning is for local jobs' savepoints; a remote cluster disposes its own (savepoint -m -d).
    const prune = await flink(ws, ['savepoints', '-m', m, '--prune', jobId]);
    assert.equal(prune.exitCode, 2, prune.stderr);
    assert.match(errorLine(prune.stderr), /--prune disposes the savepoints of local jobs/);

    // Cancel: the checkpoint Flink retained is the one COMPLETED row left, and its folder is there.
    const cancel = await flink(ws, ['cancel', '-m', m, jobId]);
    assert.equal(cancel.exitCode, 0, cancel.stderr);
    const end = await stats();
    const retained = end.latest.completed!;
    assert.equal(end.history.find((h) => h.id === retained.id)?.discarded ?? false, false, JSON.stringify(end.history));
    const finalRows = checkpointRows();
    const kept = finalRows.filter((r) => r.status === 'COMPLETED');
    // The retained one is the newest COMPLETED row; anything older that Flink subsumed is DISCARDED (one subsumed
    // a moment before the cancel may still show as not yet discarded on a loaded machine).
    assert.equal(kept.at(-1)?.path, retained.external_path, JSON.stringify({ finalRows, retained }));
    assert.ok(kept.length <= 2 && kept.every((r) => r.id >= retained.id - 1), JSON.stringify({ finalRows, retained }));
    assert.ok(existsSync(join(localPath(retained.external_path), '_metadata')), `${retained.external_path} kept on cancellation`);
    const first = checkCountingOutput(output(out));

    // run -s latest-checkpoint:<jobId> -m: that path goes to the cluster as is; the job continues from it.
    const restore = await flink(ws, ['run', '-m', m, '-d', '-s', `latest-checkpoint:${jobId}`, TEST_JOB_JAR, '--out', out, '--rate', '100']);
    assert.equal(restore.exitCode, 0, restore.stderr);
    assert.match(restore.stderr, new RegExp(`Restoring from checkpoint ${retained.external_path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const again = jobIdFrom(restore.stdout);
    const restored = (await (await fetch(`${cluster.rest}/jobs/${again}/checkpoints`)).json()) as { latest: { restored: { external_path: string } | null } };
    assert.equal(restored.latest.restored?.external_path, retained.external_path);
    assert.equal(rows('SELECT restored_from FROM jobs WHERE job_id = ?', again)[0].restored_from, retained.external_path);
    await waitFor(() => checkCountingOutput(output(out)).max > first.max + 20, 90_000, 'the restored job to go past the first run', 250);
    // Restored from the retained checkpoint, not from the start: checkCountingOutput already fails on a gap or a
    // reset count; the elements written after that checkpoint come twice, and none when the cancel came right at it.
    assert.ok(checkCountingOutput(output(out)).duplicates < first.distinct, 'restarted at the checkpoint, not from the start');
    assert.equal((await flink(ws, ['cancel', '-m', m, again])).exitCode, 0);

    // Nothing of that cluster's: refused in one line.
    const none = await flink(ws, ['run', '-m', m, '-d', '-s', 'latest-checkpoint:0123456789abcdef0123456789abcdef', TEST_JOB_JAR, '--out', out]);
    assert.equal(none.exitCode, 3, none.stderr);
    assert.match(errorLine(none.stderr), /0123456789abcdef0123456789abcdef/);
  });

  it('run attached: waits for the job and prints Flink\'s lines; a failing job exits 1 with its root cause', async () => {
    const ok = await flink(ws, ['run', '-m', m, TEST_JOB_JAR, '--out', join(ws.dir, 'bounded.txt'), '--count', '30', '--rate', '200'], { timeoutMs: 120_000 });
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /^Job has been submitted with JobID [0-9a-f]{32}\nProgram execution finished\nJob with JobID [0-9a-f]{32} has finished\.\nJob Runtime: \d+ ms\n?$/);
    assert.equal(checkCountingOutput(output(join(ws.dir, 'bounded.txt'))).max, 29);

    // -c, -p and -cm reach the cluster's /jars/:jarid/run.
    const withFlags = await flink(ws, ['run', '-m', m, '-c', 'dev.flinkts.testjob.CountingJob', '-p', '3', '-cm', 'no_claim', TEST_JOB_JAR,
      '--out', join(ws.dir, 'flags.txt'), '--count', '10', '--rate', '200'], { timeoutMs: 120_000 });
    assert.equal(withFlags.exitCode, 0, withFlags.stderr);
    const details = (await (await fetch(`${cluster.rest}/jobs/${jobIdFrom(withFlags.stdout)}`)).json()) as { vertices: { name: string; parallelism: number }[] };
    assert.equal(details.vertices.find((v) => v.name.includes('keyed-count'))?.parallelism, 3, JSON.stringify(details.vertices));
    // Ctrl-C stops waiting, as Flink's CLI without -sae: exit 130, the job keeps running on the cluster.
    const attached = startAttached(ws, ['run', '-m', m, TEST_JOB_JAR, '--out', join(ws.dir, 'ctrl-c.txt'), '--rate', '50']);
    const attachedId = await waitFor(() => /JobID ([0-9a-f]{32})/.exec(attached.output.stdout)?.[1], 60_000, 'the attached run to submit');
    attached.child.kill('SIGINT');
    const ended = await attached.child;
    assert.equal(ended.exitCode, 130, attached.output.stderr);
    assert.match(attached.output.stderr, new RegExp(`job ${attachedId} keeps running`));
    assert.equal(await flinkState(attachedId), 'RUNNING');
    assert.equal((await flink(ws, ['cancel', '-m', m, attachedId])).exitCode, 0);

    const noClass = await flink(ws, ['run', '-m', m, '-d', '-c', 'dev.flinkts.NoSuchClass', TEST_JOB_JAR, '--out', join(ws.dir, 'x.txt')]);
    assert.notEqual(noClass.exitCode, 0);
    assert.match(errorLine(noClass.stderr), /NoSuchClass/);

    const bad = await flink(ws, ['run', '-m', m, TEST_JOB_JAR, '--out', join(ws.dir, 'fail.txt'), '--fail-at', '5', '--rate', '200'], { timeoutMs: 120_000 });
    assert.equal(bad.exitCode, 1, bad.stderr);
    assert.match(errorLine(bad.stderr), /failed: .*CountingJob: failing at element 5 as asked/);
  });

  it('bad input: one line, a stable exit code, no hang past client.timeout', async () => {
    // Nothing listens: the address is named.
    const closed = await freePort();
    const r0 = Date.now();
    const refused = await flink(ws, ['list', '-m', `127.0.0.1:${closed}`]);
    // What a CLI call costs here that fails at once (start-up, on a machine that may be loaded): the baseline below.
    const immediateMs = Date.now() - r0;
    assert.equal(refused.exitCode, 4);
    assert.match(errorLine(refused.stderr), new RegExp(`127\\.0\\.0\\.1:${closed}.*connection refused`));

    // Something accepts and never answers: client.timeout bounds the wait.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => { sockets.add(s); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      const hung = await flink(ws, ['savepoint', '-m', `127.0.0.1:${silentPort}`, '-Dclient.timeout=2 s', 'fd72014d4c864993a2e5a9287b4a9c5d']);
      const took = Date.now() - t0;
      assert.equal(hung.exitCode, 4, hung.stderr);
      assert.match(errorLine(hung.stderr), new RegExp(`127\\.0\\.0\\.1:${silentPort} did not answer within 2000 ms`));
      assert.ok(took < immediateMs + 2000 + 6000, `ended ${took} ms after start, client.timeout 2 s, a call that fails at once ${immediateMs} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }

    // Unknown job: Flink's {"errors":[…]} (a Java stack trace there) becomes its one-line message.
    const unknown = await flink(ws, ['savepoint', '-m', m, '0123456789abcdef0123456789abcdef']);
    assert.equal(unknown.exitCode, 3, unknown.stderr);
    assert.match(errorLine(unknown.stderr), /^flink: Job 0123456789abcdef0123456789abcdef not found\b/);
    const cancelUnknown = await flink(ws, ['cancel', '-m', m, '0123456789abcdef0123456789abcdef']);
    assert.equal(cancelUnknown.exitCode, 3, cancelUnknown.stderr);
    assert.match(errorLine(cancelUnknown.stderr), /^flink: Job could not be found\. Could not find Flink job \(0123456789abcdef0123456789abcdef\)$/);

    // A savepoint that fails on the cluster: the root cause from failure-cause.
    const out = join(ws.dir, 'badsp.txt');
    const jobId = await submit([TEST_JOB_JAR, '--out', out, '--rate', '50']);
    await waitForLines(out, 5);
    const s3 = await flink(ws, ['savepoint', '-m', m, jobId, 's3://no-such-bucket/savepoints']);
    assert.equal(s3.exitCode, 1, s3.stderr);
    assert.match(errorLine(s3.stderr), /Failed to trigger a savepoint for the job [0-9a-f]{32}: .*Could not find a file system implementation for scheme 's3'/);
    await flink(ws, ['cancel', '-m', m, jobId]);

    // Not a JAR, and a missing one: refused before any upload.
    const notJar = join(ws.dir, 'not-a.jar');
    writeFileSync(notJar, 'hello');
    const nj = await flink(ws, ['run', '-m', m, '-d', notJar]);
    assert.equal(nj.exitCode, 2, nj.stderr);
    assert.match(errorLine(nj.stderr), /Error while opening jar file '.*not-a\.jar': not a JAR \(zip\) archive/);
    const missing = await flink(ws, ['run', '-m', m, '-d', join(ws.dir, 'missing.jar')]);
    assert.equal(missing.exitCode, 3, missing.stderr);
    assert.match(errorLine(missing.stderr), /JAR file does not exist: /);
    const jars = (await (await fetch(`${cluster.rest}/jars`)).json()) as { files: unknown[] };
    assert.equal(jars.files.length, 0, 'no upload left behind on the cluster');
  });
});
