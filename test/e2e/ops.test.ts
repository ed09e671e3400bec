/**
 * Operating a job: `flink info` (the execution plan, with the operator ids and uids a savepoint stores state
 * under), periodic savepoints taken by the cluster on a cron schedule, the restart count in `flink list`, and
 * progress while a savepoint is taken — shown on a terminal (a pseudo-terminal from `script`), silent on a
 * pipe, with --json, NO_COLOR or CI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';
import {
  BIN, FAIL_ONCE_JOB, ROOT, STATE_MACHINE_JOB, TIME_SCALE, assertOneLineError, cleanup, createWorkspace, ensureBuilt, flink,
  jobIdFrom, readJobLog, readSnapshot, savepointPathFrom, show, waitFor, waitForStatus, type Workspace,
} from './helpers.js';

const CHECKPOINT_CONFIG_JOB = join(ROOT, 'test', 'jobs', 'CheckpointConfigJob.ts');
const ESC = '\u001b';

interface PlanNode {
  id: number; type: string; pact: string; contents: string; parallelism: number;
  predecessors?: Array<{ id: number; ship_strategy: string; side: string }>;
  operator_id: string; uid: string | null; max_parallelism: number; vertex_id: string; vertex: string;
}

function completedSavepoints(ws: Workspace, jobId: string): string[] {
  if (!existsSync(ws.indexPath)) return [];
  const index = CheckpointIndex.open({ path: ws.indexPath });
  try {
    return index.listSnapshots({ jobId, kind: 'SAVEPOINT', status: 'COMPLETED' }).map((s) => s.path);
  } finally {
    index.close();
  }
}

async function runDetached(ws: Workspace, args: string[]): Promise<string> {
  const r = await flink(ws, ['run', '-d', ...args]);
  assert.equal(r.exitCode, 0, show(r));
  const jobId = jobIdFrom(r.stdout);
  await waitForStatus(ws, jobId, 'RUNNING', 30_000);
  return jobId;
}

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs the CLI on a pseudo-terminal (util-linux `script`), 120 columns wide; returns everything it wrote. */
async function flinkOnTty(ws: Workspace, args: string[], env: Record<string, string | undefined> = {}): Promise<{ exitCode: number; output: string }> {
  const cmd = `stty cols 120 rows 40; exec ${[process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')}`;
  const r = await execa('script', ['-qec', cmd, '/dev/null'], {
    cwd: ROOT,
    // A terminal user's environment: colours allowed, no CI.
    env: { ...process.env, ...ws.env, NO_COLOR: undefined, CI: undefined, FORCE_COLOR: undefined, TERM: 'xterm', ...env },
    extendEnv: false,
    reject: false,
    timeout: 60_000 * TIME_SCALE,
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode ?? -1, output: String(r.stdout ?? '') + String(r.stderr ?? '') };
}

describe('flink info, periodic savepoints, restart count', () => {
  let ws: Workspace;
  before(async () => {
    await ensureBuilt();
    ws = createWorkspace();
  });
  after(() => cleanup(ws));

  test('flink info prints Flink\'s JSON plan; its operator ids and uids are the ones a savepoint of the job stores state under', { timeout: 120_000 }, async () => {
    const r = await flink(ws, ['info', STATE_MACHINE_JOB, '--output', join(ws.dir, 'unused')]);
    assert.equal(r.exitCode, 0, show(r));
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '----------------------- Execution Plan -----------------------');
    assert.equal(lines[lines.length - 1], '--------------------------------------------------------------');
    const plan = JSON.parse(lines.slice(1, -1).join('\n')) as { nodes: PlanNode[] };
    assert.ok(plan.nodes.length >= 3, show(r));
    assert.equal(plan.nodes[0].pact, 'Data Source');
    assert.equal(plan.nodes[plan.nodes.length - 1].pact, 'Data Sink');
    for (const n of plan.nodes.slice(1)) {
      assert.ok(n.predecessors && n.predecessors.length > 0, `node ${n.id} has predecessors`);
      for (const p of n.predecessors) assert.ok(plan.nodes.some((m) => m.id === p.id), `predecessor ${p.id} is a node`);
    }
    assert.ok(plan.nodes.some((n) => n.predecessors?.some((p) => p.ship_strategy === 'HASH')), 'the keyBy shows as HASH');

    // --json: the same plan, alone on stdout; -p changes the parallelism of the operators that do not set theirs.
    const j = await flink(ws, ['info', '--json', STATE_MACHINE_JOB, '--output', join(ws.dir, 'unused')]);
    assert.equal(j.exitCode, 0, show(j));
    assert.deepEqual(JSON.parse(j.stdout), plan);
    const p3 = await flink(ws, ['info', '--json', '-p', '3', STATE_MACHINE_JOB, '--output', join(ws.dir, 'unused')]);
    assert.ok((JSON.parse(p3.stdout) as { nodes: PlanNode[] }).nodes.some((n) => n.parallelism === 3), p3.stdout);

    // The same program's savepoint: every operator with state is a plan node with the same id and uid.
    const jobId = await runDetached(ws, [STATE_MACHINE_JOB, '--output', join(ws.dir, 'alerts'), '--rate', '500']);
    const sp = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp.exitCode, 0, show(sp));
    const snapshot = readSnapshot(savepointPathFrom(sp.stdout));
    assert.ok(snapshot.operators.length > 0);
    for (const op of snapshot.operators) {
      const node = plan.nodes.find((n) => n.operator_id === op.operatorId);
      assert.ok(node, `snapshot operator ${op.operatorId} (${op.uid}) is in the plan`);
      assert.equal(node.uid, op.uid ?? null);
    }
    await flink(ws, ['cancel', jobId]);

    assert.match(assertOneLineError(await flink(ws, ['info', join(ws.dir, 'missing.ts')]), 3), /missing\.ts/);

    // What a program prints while it builds its graph does not get into the --json plan.
    const printing = join(ws.dir, 'PrintingJob.ts');
    writeFileSync(printing, `import { StreamExecutionEnvironment } from 'flink-ts';
console.log('building the graph');
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.fromSequence(1, 10).map((x: number) => x * 2).uid('double').print();
await env.execute('printing job');
`);
    const pj = await flink(ws, ['info', '--json', printing]);
    assert.equal(pj.exitCode, 0, show(pj));
    assert.match(pj.stderr, /building the graph/);
    const doubled = (JSON.parse(pj.stdout) as { nodes: PlanNode[] }).nodes.find((n) => n.uid === 'double');
    assert.ok(doubled && doubled.pact === 'Operator' && doubled.predecessors?.[0].id === 1, pj.stdout);
  });

  test('periodic.savepoint.interval as a cron expression: the cluster takes savepoints on schedule, recorded and restorable', { timeout: 120_000 }, async () => {
    const jobId = await runDetached(ws, ['-D', 'periodic.savepoint.interval=*/1 * * * * *', STATE_MACHINE_JOB, '--output', join(ws.dir, 'periodic'), '--rate', '200']);
    const paths = await waitFor(() => {
      const p = completedSavepoints(ws, jobId);
      return p.length >= 2 ? p : undefined;
    }, 30_000 * TIME_SCALE, 'two periodic savepoints in the catalog');
    for (const p of paths) assert.equal(readSnapshot(p).kind, 'SAVEPOINT', p);
    assert.match(readJobLog(ws, jobId), /Triggering a periodic savepoint for job \w+ \(periodic.savepoint.interval: at cron '\*\/1 \* \* \* \* \*'\)/);
    const c = await flink(ws, ['cancel', jobId]);
    assert.equal(c.exitCode, 0, show(c));
    // None after the job ended.
    await waitForStatus(ws, jobId, 'CANCELED');
    const n = completedSavepoints(ws, jobId).length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(completedSavepoints(ws, jobId).length, n);

    // Restorable: a new run from the newest one starts.
    const restored = await runDetached(ws, ['-s', paths[paths.length - 1], STATE_MACHINE_JOB, '--output', join(ws.dir, 'restored'), '--rate', '200']);
    await flink(ws, ['cancel', restored]);
  });

  test('periodic savepoints with state.savepoints.history.max-count 2: the cluster prunes as it goes, keeping the newest 2 and disposing the folders of the rest', { timeout: 120_000 }, async () => {
    // A catalog of its own: retention is per job name, and the other tests run the same job.
    const own = createWorkspace({ 'state.savepoints.history.max-count': '2' });
    try {
      const jobId = await runDetached(own, ['-D', 'periodic.savepoint.interval=1 s', STATE_MACHINE_JOB, '--output', join(own.dir, 'out'), '--rate', '200']);
      const rows = () => {
        const index = CheckpointIndex.open({ path: own.indexPath });
        try {
          return index.listSnapshots({ jobId, kind: 'SAVEPOINT' });
        } finally {
          index.close();
        }
      };
      let most = 0;
      await waitFor(() => {
        const r = rows();
        // Between a savepoint completing and its prune there may be one more for a moment, never more.
        most = Math.max(most, r.filter((x) => x.status === 'COMPLETED').length);
        return r.filter((x) => x.status === 'DISCARDED').length >= 3 ? r : undefined;
      }, 40_000, 'three periodic savepoints disposed by retention', 50);
      assert.ok(most <= 3, `at most max-count + 1 completed savepoints at any time, saw ${most}`);
      const c = await flink(own, ['cancel', jobId]);
      assert.equal(c.exitCode, 0, show(c));
      await waitForStatus(own, jobId, 'CANCELED');
      const final = await waitFor(() => {
        const r = rows();
        return r.filter((x) => x.status === 'COMPLETED').length === 2 ? r : undefined;
      }, 10_000, 'exactly 2 completed savepoints once the job ended');
      const completed = final.filter((x) => x.status === 'COMPLETED');
      const discarded = final.filter((x) => x.status === 'DISCARDED');
      // The kept ones are the newest two, intact; every disposed folder is gone.
      const newest = Math.min(...completed.map((x) => x.triggerTime));
      for (const d of discarded) {
        assert.ok(d.triggerTime <= newest, `disposed ${d.path} is older than the kept ones`);
        assert.ok(!existsSync(d.path), `the folder of disposed ${d.path} is gone`);
      }
      for (const k of completed) assert.equal(readSnapshot(k.path).kind, 'SAVEPOINT', k.path);
      assert.equal(readdirSync(own.savepointsDir).length, 2, `only the kept folders remain in ${own.savepointsDir}`);
      assert.match(readJobLog(own, jobId), /Disposed savepoint \S+ of job \w+ \(beyond max-count 2\)/);
    } finally {
      await cleanup(own);
    }
  });

  test('periodic savepoints without state.savepoints.dir, or with a malformed schedule: refused in one line before the job starts', async () => {
    // A configuration without state.savepoints.dir.
    const conf = join(ws.dir, 'conf-no-savepoints');
    mkdirSync(conf);
    const checkpoints = join(ws.dir, 'chk-no-savepoints');
    writeFileSync(join(conf, 'flink-conf.yaml'), `state.checkpoints.dir: ${checkpoints}\nindex.path: ${ws.indexPath}\nenv.log.dir: ${ws.logDir}\n`);
    const noDir = await flink(ws, ['run', '-D', 'periodic.savepoint.interval=1 min', STATE_MACHINE_JOB, '--output', join(ws.dir, 'x')], { env: { FLINK_CONF_DIR: conf } });
    assert.equal(assertOneLineError(noDir, 2), 'flink: periodic.savepoint.interval is set but state.savepoints.dir is not: periodic savepoints need a directory');
    assert.ok(!existsSync(checkpoints), 'nothing created for the refused job');
    const bad = await flink(ws, ['run', '-D', 'periodic.savepoint.interval=61 * * * *', STATE_MACHINE_JOB, '--output', join(ws.dir, 'x')]);
    assert.match(assertOneLineError(bad, 2), /'periodic.savepoint.interval'.*minute: 61/);
  });

  test('flink list and its --json show the restart count of a job that restarted', { timeout: 90_000 }, async () => {
    const jobId = await runDetached(ws, [FAIL_ONCE_JOB, '--count', '1000000', '--rate', '500', '--fail-at', '200', '--output', join(ws.dir, 'fail-once')]);
    const listed = await waitFor(async () => {
      const l = await flink(ws, ['list', '--json']);
      const j = (JSON.parse(l.stdout) as Array<{ jobId: string; status: string; numRestarts?: number }>).find((x) => x.jobId === jobId);
      return j?.numRestarts === 1 && j.status === 'RUNNING' ? j : undefined;
    }, 30_000 * TIME_SCALE, 'the job listed RUNNING after one restart', 500);
    assert.equal(listed.numRestarts, 1);
    const text = await flink(ws, ['list']);
    assert.match(text.stdout, new RegExp(`${jobId} : .* \\(RUNNING\\) - restarted 1 time\\(s\\)`));
    await flink(ws, ['cancel', jobId]);
  });
});

describe('progress while a savepoint is taken', () => {
  let ws: Workspace;
  let jobId: string;
  let lastSavepoint: string | undefined;
  before(async () => {
    await ensureBuilt();
    ws = createWorkspace();
    // Source subtask 1 takes 1.5 s to snapshot: a savepoint waits with some subtasks acknowledged and one not.
    jobId = await runDetached(ws, [CHECKPOINT_CONFIG_JOB, '--count', '100000000', '--rate', '200', '--interval', '600000', '--stall-ms', '1500', '--output', join(ws.dir, 'out')]);
  });
  after(() => cleanup(ws));

  test('on a pipe, with --json, NO_COLOR or CI: the plain progress lines only, no spinner, no elapsed time', { timeout: 90_000 }, async () => {
    const piped = await flink(ws, ['savepoint', jobId], { env: { NO_COLOR: undefined, CI: undefined } });
    assert.equal(piped.exitCode, 0, show(piped));
    assert.equal(piped.stderr, `Triggering savepoint for job ${jobId}.\nWaiting for response...`); // execa strips the final newline
    const json = await flink(ws, ['savepoint', '--json', jobId], { env: { NO_COLOR: undefined, CI: undefined } });
    assert.equal(json.exitCode, 0, show(json));
    assert.equal(json.stderr, '');
    assert.ok(JSON.parse(json.stdout).savepointPath);
    if (!hasScript) return;
    for (const env of [{ NO_COLOR: '1' }, { CI: 'true' }]) {
      const r = await flinkOnTty(ws, ['savepoint', jobId], env);
      assert.equal(r.exitCode, 0, r.output);
      assert.ok(!r.output.includes(ESC), `no escape sequences with ${JSON.stringify(env)}:\n${JSON.stringify(r.output)}`);
      assert.doesNotMatch(r.output, /subtasks acknowledged|\d+\.\d s/);
      assert.match(r.output, /Savepoint completed\. Path: file:/);
    }
  });

  test('on a terminal: elapsed time and acknowledged subtasks while it waits', { skip: !hasScript && 'util-linux script is not installed', timeout: 90_000 }, async () => {
    const r = await flinkOnTty(ws, ['savepoint', jobId]);
    assert.equal(r.exitCode, 0, r.output);
    assert.match(r.output, /Waiting for response\.\.\. \d+\.\d s/);
    // While the stalled source snapshots, some subtasks have acknowledged and at least one has not.
    const acks = [...r.output.matchAll(/Waiting for response\.\.\. \d+\.\d s - (\d+)\/(\d+) subtasks acknowledged/g)];
    assert.ok(acks.length > 0, JSON.stringify(r.output));
    assert.ok(acks.some((m) => Number(m[1]) < Number(m[2])), acks.map((m) => m[0]).join('\n'));
    assert.match(r.output, /Savepoint completed\. Path: file:/);
    lastSavepoint = /Savepoint completed\. Path: file:(\S+)/.exec(r.output)![1];
  });

  test('on a terminal, an attached run -s shows what the restore is doing', { skip: !hasScript && 'util-linux script is not installed', timeout: 120_000 }, async () => {
    assert.ok(lastSavepoint, 'the terminal test took a savepoint');
    const args = ['run', '-s', lastSavepoint, CHECKPOINT_CONFIG_JOB, '--count', '100000000', '--rate', '200', '--interval', '600000', '--output', join(ws.dir, 'restored')];
    const cmd = `stty cols 160 rows 40; exec ${[process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ')}`;
    const child = execa('script', ['-qec', cmd, '/dev/null'], {
      cwd: ROOT, env: { ...process.env, ...ws.env, NO_COLOR: undefined, CI: undefined, TERM: 'xterm' }, extendEnv: false,
      reject: false, timeout: 100_000 * TIME_SCALE, stdin: 'ignore',
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const restored = await waitFor(() => /Job has been submitted with JobID ([0-9a-f]{32})/.exec(output)?.[1], 60_000 * TIME_SCALE, 'the restored job submitted');
      await waitForStatus(ws, restored, 'RUNNING', 30_000);
      const c = await flink(ws, ['cancel', restored]);
      assert.equal(c.exitCode, 0, show(c));
      await child;
    } finally {
      child.kill('SIGKILL');
    }
    assert.match(output, new RegExp(`Restoring from ${lastSavepoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\d+\\.\\d s - (loading the program|deploying \\d+ subtasks with the state of \\d+ operator\\(s\\)|restoring state: \\d+/\\d+ subtasks running)`), JSON.stringify(output));
  });
});
