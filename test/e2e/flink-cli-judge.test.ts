/**
 * Apache Flink's own CLI (CliFrontend 2.2.1, test/support/flink.ts) as the judge of the mini-cluster's REST: a
 * detached flink-ts job pinned at a known port (rest.port, as a Flink user configures a JobManager), and
 * Flink's `list`, `savepoint`, `savepoint -d`, `checkpoint`, `checkpoint -full`, `cancel` and `stop` pointed at
 * it through rest.address/rest.port. Each must succeed, and its result must be on disk and in our index. Our CLI
 * then does the same on the same kind of job, and its result lines must be Flink's (progress lines, which we
 * print on stderr, compared there).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';
import { flinkCli, flinkSkip, type CliResult } from '../support/flink.js';
import { cleanup, createWorkspace, flink, jobIdFrom, show, STATE_MACHINE_JOB, waitFor, waitForStatus, type Workspace } from './helpers.js';
import { freePort } from '../support/services.js';

const skip = flinkSkip();

/** Output lines with ids, paths, times and numbers made comparable. */
export function normalized(text: string): string[] {
  return text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '' && !/^(SLF4J|WARNING|log4j)/.test(l))
    .map((l) => l
      .replace(/\b[0-9a-f]{32}\b/g, '<jobid>')
      .replace(/'?(file:)?\/[^\s']+'?/g, '<path>')
      .replace(/\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}/g, '<time>')
      .replace(/\b\d+\b/g, '<n>')
      .replace(/"[^"]*"/g, '<name>'));
}

function snapshots(ws: Workspace, jobId: string) {
  const index = CheckpointIndex.open({ path: ws.indexPath });
  try {
    return index.listSnapshots({ jobId });
  } finally {
    index.close();
  }
}

describe("Flink's CLI against the mini-cluster's REST (pinned rest.port)", { skip, timeout: 600_000 }, () => {
  let ws: Workspace;
  let port: number;
  let conf: Record<string, string>;
  const ok = (r: CliResult, what: string) => assert.equal(r.code, 0, `${what}: ${r.stdout}\n${r.stderr.slice(-2000)}`);

  async function runJob(name: string): Promise<string> {
    const r = await flink(ws, ['run', '-d', STATE_MACHINE_JOB, '--output', join(ws.dir, name), '--rate', '50', '--keys', '4']);
    assert.equal(r.exitCode, 0, show(r));
    const jobId = jobIdFrom(r.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 30_000);
    return jobId;
  }

  before(async () => {
    port = await freePort();
    ws = createWorkspace({ 'rest.port': String(port), 'rest.address': '127.0.0.1', 'parallelism.default': '1', 'state.checkpoints.num-retained': '5' });
    conf = { 'rest.address': '127.0.0.1', 'rest.port': String(port) };
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  test('list, savepoint, savepoint -d, checkpoint, checkpoint -full, stop: Flink\'s CLI succeeds, the results are on disk and in the index', async () => {
    const jobId = await runJob('a');
    const listed = (await waitForStatus(ws, jobId, 'RUNNING')).restUrl;
    assert.equal(listed, `http://127.0.0.1:${port}`, 'the job serves REST on the pinned rest.port');

    const list = await flinkCli(['list'], { conf });
    ok(list, 'list');
    assert.match(list.stdout, new RegExp(`: ${jobId} : State machine job \\(RUNNING\\)`));

    const sp = await flinkCli(['savepoint', jobId], { conf });
    ok(sp, 'savepoint');
    const path = /Savepoint completed\. Path: (\S+)/.exec(sp.stdout)?.[1] ?? assert.fail(sp.stdout);
    assert.ok(path.startsWith(`file:${ws.savepointsDir}/`), sp.stdout);
    const dir = path.slice('file:'.length);
    assert.ok(existsSync(join(dir, '_metadata')), `${dir}/_metadata`);
    assert.ok(snapshots(ws, jobId).some((s) => s.path === dir && s.kind === 'SAVEPOINT' && s.status === 'COMPLETED'), 'the savepoint is in the index');

    const dispose = await flinkCli(['savepoint', '-d', path], { conf });
    ok(dispose, 'savepoint -d');
    assert.match(dispose.stdout, /Savepoint '.*' disposed\./);
    assert.ok(!existsSync(dir), `${dir} is gone`);
    assert.equal(snapshots(ws, jobId).find((s) => s.path === dir)?.status, 'DISCARDED');

    for (const args of [[], ['-full']]) {
      const c = await flinkCli(['checkpoint', ...args, jobId], { conf });
      ok(c, `checkpoint ${args.join(' ')}`);
      const id = Number(/Checkpoint(?:\(FULL\))? (\d+) for job/.exec(c.stdout)?.[1]);
      assert.ok(id > 0, c.stdout);
      assert.ok(snapshots(ws, jobId).some((s) => s.checkpointId === id && s.kind === 'CHECKPOINT' && s.status === 'COMPLETED'), `checkpoint ${id} in the index`);
    }

    const stop = await flinkCli(['stop', jobId], { conf });
    ok(stop, 'stop');
    const stopPath = /Savepoint completed\. Path: (\S+)/.exec(stop.stdout)?.[1];
    assert.ok(stopPath && existsSync(join(stopPath.slice('file:'.length), '_metadata')), stop.stdout);
    await waitForStatus(ws, jobId, 'FINISHED', 30_000);
  });

  test('cancel: Flink\'s CLI cancels a flink-ts job', async () => {
    const jobId = await runJob('b');
    const cancel = await flinkCli(['cancel', jobId], { conf });
    ok(cancel, 'cancel');
    assert.match(cancel.stdout, new RegExp(`Cancelled job ${jobId}\\.`));
    await waitForStatus(ws, jobId, 'CANCELED', 30_000);
  });

  test('our CLI prints Flink\'s lines for the same requests', async () => {
    const jobId = await runJob('c');
    const verbs: string[][] = [['list'], ['savepoint', jobId], ['checkpoint', jobId], ['checkpoint', '-full', jobId], ['stop', jobId]]; // then cancel
    for (const v of verbs) {
      const theirs = await flinkCli(v, { conf });
      ok(theirs, v.join(' '));
      if (v[0] === 'stop') {
        await waitForStatus(ws, jobId, 'FINISHED', 30_000);
        // The next job binds the same pinned port once the stopped job's endpoint has closed.
        await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/overview`).then(() => false, () => true)), 30_000, 'the pinned port to be free');
      }
      const next = v[0] === 'stop' ? await runJob('d') : jobId;
      const mine = await flink(ws, v.map((a) => (a === jobId ? next : a)));
      assert.equal(mine.exitCode, 0, show(mine));
      const ours = new Set([...normalized(mine.stdout), ...normalized(mine.stderr)]);
      const missing = normalized(theirs.stdout).filter((l) => !ours.has(l));
      assert.deepEqual(missing, [], `flink ${v.join(' ')}: Flink's lines missing from ours\nFlink:\n${theirs.stdout}\nours:\n${mine.stdout}${mine.stderr}`);
      if (v[0] === 'stop') {
        // cancel, compared the same way, each on a job of its own at the pinned port.
        const portFree = () => waitFor(async () => (await fetch(`http://127.0.0.1:${port}/overview`).then(() => false, () => true)), 30_000, 'the pinned port to be free');
        await waitForStatus(ws, next, 'FINISHED', 30_000);
        await portFree();
        const forFlink = await runJob('e');
        const theirsCancel = await flinkCli(['cancel', forFlink], { conf });
        ok(theirsCancel, 'cancel');
        await waitForStatus(ws, forFlink, 'CANCELED', 30_000);
        await portFree();
        const forUs = await runJob('f');
        const mineCancel = await flink(ws, ['cancel', forUs]);
        assert.equal(mineCancel.exitCode, 0, show(mineCancel));
        const oursCancel = new Set([...normalized(mineCancel.stdout), ...normalized(mineCancel.stderr)]);
        assert.deepEqual(normalized(theirsCancel.stdout).filter((l) => !oursCancel.has(l)), [], `cancel:\nFlink:\n${theirsCancel.stdout}\nours:\n${mineCancel.stdout}${mineCancel.stderr}`);
      }
    }
  });
});
