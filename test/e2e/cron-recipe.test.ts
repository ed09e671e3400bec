/**
 * Issue 19's cron recipe, run as written: the README's crontab lines (hourly `flink savepoint <name>` and
 * `flink savepoints --prune <name>`) started at once, 20 savepoints and 5 prunes, against running jobs whose
 * checkpoint and savepoint directories were given with -D at `run` only. Every call must end in a valid
 * savepoint or one clean refusal line, the kept set must match the policy, and nothing outside the managed
 * folders may be touched. Then the deploy recipe (stop, run -s latest:<name>) and the bad-input one-liners.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CheckpointIndex } from '../../src/catalog/CheckpointIndex.js';
import { loadSnapshot, verifySnapshotFiles } from '../../src/checkpoint/Metadata.js';
import {
  BIN, ROOT, STACK_FRAME, TIME_SCALE, assertOneLineError, baseConfig, cleanup, createWorkspace, ensureBuilt, flink,
  jobIdFrom, savepointPathFrom, show, waitForStatus, type Workspace,
} from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'NamedCountJob.ts');
const KEEP = 3; // state.savepoints.history.max-count of this workspace

/** The command part of the README's crontab lines (after the five schedule fields), verbatim. */
function cronCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- cron-recipe[^>]*-->\s*```crontab\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'the README has the cron recipe block');
  return block[1]!.split('\n').filter((l) => /^\S+ \S+ \S+ \S+ \S+ /.test(l)).map((l) => l.split(/\s+/).slice(5).join(' ').trim());
}

const SUCCESS_LINE = [
  /^Triggering savepoint for job [0-9a-f]{32}\.$/, /^Waiting for response\.\.\.$/, /^Savepoint completed\. Path: file:\/\S+$/,
  /^You can resume your program from this savepoint with the run command\.$/,
  /^Disposed savepoint \/\S+ \(job orders, [0-9a-f]{32}, triggered .+\): beyond max-count 3$/,
  /^Kept savepoint \/\S+ \(job orders\): .+$/, /^Disposed \d+ savepoint\(s\), kept \d+\.$/,
];

describe('the README cron recipe, run concurrently', { timeout: 300_000 * TIME_SCALE }, () => {
  let ws: Workspace;
  let env: Record<string, string | undefined>;
  let other: { chk: string; sp: string };
  let orders: string;
  let billing: string;
  const billingSavepoints: string[] = [];

  const catalog = <T>(fn: (i: CheckpointIndex) => T): T => {
    const i = CheckpointIndex.open({ path: ws.indexPath });
    try {
      return fn(i);
    } finally {
      i.close();
    }
  };

  before(async () => {
    await ensureBuilt();
    ws = createWorkspace();
    // As a user: no index.path, the catalog is the one in FLINK_TS_HOME; the policy lives in the configuration.
    const home = join(ws.dir, 'home');
    const conf = { ...baseConfig(ws), 'state.savepoints.history.max-count': String(KEEP), 'execution.checkpointing.interval': '1 s' };
    delete (conf as Record<string, string>)['index.path'];
    writeFileSync(join(ws.confDir, 'flink-conf.yaml'), Object.entries(conf).map(([k, v]) => `${k}: ${v}\n`).join(''));
    ws.indexPath = join(home, 'flink-index.sqlite');
    const bin = join(ws.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'flink'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'flink'), 0o755);
    ws.env = { ...ws.env, FLINK_TS_HOME: home, HOME: ws.dir, PATH: `${bin}:${process.env.PATH}` };
    env = { ...process.env, ...ws.env };

    other = { chk: join(ws.dir, 'orders-chk'), sp: join(ws.dir, 'orders-sp') };
    const [r1, r2] = await Promise.all([
      flink(ws, ['run', '-d', '-D', `state.checkpoints.dir=${other.chk}`, '-D', `state.savepoints.dir=${other.sp}`, JOB, '--name', 'orders']),
      flink(ws, ['run', '-d', JOB, '--name', 'billing']),
    ]);
    assert.equal(r1.exitCode, 0, show(r1));
    assert.equal(r2.exitCode, 0, show(r2));
    orders = jobIdFrom(r1.stdout);
    billing = jobIdFrom(r2.stdout);
    await Promise.all([waitForStatus(ws, orders, 'RUNNING'), waitForStatus(ws, billing, 'RUNNING')]);
    for (let i = 0; i < 2; i++) {
      const r = await flink(ws, ['savepoint', 'billing']); // by name, without any -D
      assert.equal(r.exitCode, 0, show(r));
      billingSavepoints.push(savepointPathFrom(r.stdout));
    }
    // Files that are not savepoints, in and beside the managed savepoint directory.
    mkdirSync(join(other.sp, 'savepoint-foreign'), { recursive: true });
    writeFileSync(join(other.sp, 'savepoint-foreign', 'data'), 'not ours');
    writeFileSync(join(other.sp, 'NOTES.txt'), 'keep me');
  });

  after(() => cleanup(ws));

  test('a job started with -D is found by name and id without repeating it', async () => {
    const sp = await flink(ws, ['savepoint', 'orders']);
    assert.equal(sp.exitCode, 0, show(sp));
    assert.ok(savepointPathFrom(sp.stdout).startsWith(other.sp + '/'), `into the job's own savepoint dir: ${sp.stdout}`);
    const list = await flink(ws, ['list', '--json']);
    assert.deepEqual((JSON.parse(list.stdout) as { jobId: string }[]).map((j) => j.jobId).sort(), [orders, billing].sort());
    const chk = await flink(ws, ['checkpoints', 'orders', '--json']);
    assert.equal(chk.exitCode, 0, show(chk));
    const rows = (JSON.parse(chk.stdout) as { checkpoints: { status: string; path: string; kind: string }[] }).checkpoints;
    assert.ok(rows.some((c) => c.status === 'COMPLETED' && c.path.startsWith(join(other.chk, orders)) && c.kind === 'checkpoint'), chk.stdout);
  });

  test('20 savepoints and 5 prunes at once: valid savepoints or one-line refusals, the policy kept, nothing else touched', async () => {
    const [savepointLine, pruneLine] = cronCommands();
    assert.equal(savepointLine, 'flink savepoint orders >>"$HOME/flink-cron.log" 2>&1');
    assert.equal(pruneLine, 'flink savepoints --prune orders >>"$HOME/flink-cron.log" 2>&1');
    const lines = Array.from({ length: 25 }, (_, i) => ((i + 1) % 5 === 0 ? pruneLine! : savepointLine!));
    const started = Date.now();
    const runs = await Promise.all(lines.map((l) => execa('sh', ['-c', l], { env, cwd: ws.dir, reject: false, timeout: 180_000 * TIME_SCALE, stdin: 'ignore' })));
    const elapsed = Date.now() - started;
    const log = readFileSync(join(ws.dir, 'flink-cron.log'), 'utf8');
    assert.doesNotMatch(log, STACK_FRAME, log);
    assert.doesNotMatch(log, /database is locked|SQLITE_BUSY/i, log);
    const logLines = log.split('\n').filter((l) => l !== '');
    const errors = logLines.filter((l) => l.startsWith('flink: ') && !l.startsWith('flink: warning: '));
    const unexpected = logLines.filter((l) => !l.startsWith('flink: ') && !SUCCESS_LINE.some((re) => re.test(l)));
    assert.deepEqual(unexpected, [], `every line is a result, a progress line or a one-line error:\n${log}`);
    const failed = runs.filter((r) => r.exitCode !== 0);
    assert.equal(errors.length, failed.length, `one error line per failed call (${failed.map((r) => r.exitCode)}):\n${log}`);
    assert.ok(runs.slice(0).filter((_, i) => (i + 1) % 5 === 0).every((r) => r.exitCode === 0), `every prune succeeded:\n${log}`);
    const made = logLines.filter((l) => l.startsWith('Savepoint completed. Path: ')).map((l) => l.slice('Savepoint completed. Path: file:'.length));
    assert.equal(made.length, runs.filter((r, i) => (i + 1) % 5 !== 0 && r.exitCode === 0).length);
    assert.ok(made.length >= KEEP + 2, `enough savepoints completed to prune some: ${made.length}; ${errors.join(' | ')}`);
    process.stderr.write(`# cron recipe: ${made.length}/20 savepoints, ${failed.length} refusals, 5 prunes in ${elapsed} ms\n`);

    // The next hour's prune (the same line) brings the set to the policy; the catalog and the folders agree.
    const last = await execa('sh', ['-c', pruneLine!], { env, cwd: ws.dir, reject: false });
    assert.equal(last.exitCode, 0);
    const rows = catalog((i) => i.listSnapshots({ jobId: orders, kind: 'SAVEPOINT' }));
    const completed = rows.filter((r) => r.status === 'COMPLETED').sort((a, b) => b.triggerTime - a.triggerTime);
    const newest = [...rows].filter((r) => r.status !== 'IN_PROGRESS' && r.status !== 'FAILED').sort((a, b) => b.triggerTime - a.triggerTime).slice(0, KEEP);
    assert.deepEqual(completed.map((r) => r.path), newest.map((r) => r.path), 'the kept ones are the newest');
    assert.equal(completed.length, KEEP);
    for (const r of completed) verifySnapshotFiles(loadSnapshot(r.path));
    for (const r of rows.filter((x) => x.status === 'DISCARDED')) assert.ok(!existsSync(r.path), `a discarded savepoint is gone: ${r.path}`);
    for (const p of made) {
      const row = rows.find((r) => r.path === p);
      assert.ok(row && (row.status === 'COMPLETED' || row.status === 'DISCARDED'), `every printed savepoint is recorded: ${p}`);
    }
    const onDisk = readdirSync(other.sp).filter((n) => n.startsWith('savepoint-') && n !== 'savepoint-foreign').map((n) => join(other.sp, n));
    assert.deepEqual(onDisk.sort(), completed.map((r) => r.path).sort(), 'the folders are exactly the kept savepoints');
    assert.equal(readFileSync(join(other.sp, 'savepoint-foreign', 'data'), 'utf8'), 'not ours');
    assert.equal(readFileSync(join(other.sp, 'NOTES.txt'), 'utf8'), 'keep me');
    for (const p of billingSavepoints) verifySnapshotFiles(loadSnapshot(p)); // another job name: untouched
  });

  test('bad input: one line and a stable exit code', async () => {
    const cases: [string[], number, RegExp][] = [
      [['savepoints', '--prune', 'orders', '--max-count', '0'], 2, /would remove the last savepoint/],
      [['savepoints', '--prune', '--max-count', 'ten'], 2, /max-count 'ten'/],
      [['savepoints', '--prune', '--max-age', '7 fortnights'], 2, /max-age '7 fortnights'/],
      [['checkpoints', 'no-such-job'], 3, /No job named 'no-such-job'/],
      [['savepoints', 'no-such-job'], 3, /No job named/],
      [['run', '-s', 'latest:no-such-job', JOB], 3, /No job named/],
      [['state', 'latest:'], 2, /names no job/],
      [['savepoint', 'no-such-job'], 2, /Cannot parse JobID.*No job named 'no-such-job'/],
      // Claiming a checkpoint that a running job still owns would let two jobs delete each other's state.
      [['run', '-s', 'latest-checkpoint:billing', '-rm', 'claim', JOB], 5, /Refusing to claim .*still RUNNING/],
    ];
    const results = await Promise.all(cases.map(([args]) => flink(ws, args)));
    results.forEach((res, i) => assert.match(assertOneLineError(res, cases[i]![1]), cases[i]![2]));
    assert.equal(catalog((i) => i.listSnapshots({ jobId: orders, kind: 'SAVEPOINT', status: 'COMPLETED' }).length), KEEP, 'a refused prune disposed nothing');
    // A second running job of the name: refused with both ids.
    const r = await flink(ws, ['run', '-d', JOB, '--name', 'billing']);
    assert.equal(r.exitCode, 0, show(r));
    const second = jobIdFrom(r.stdout);
    await waitForStatus(ws, second, 'RUNNING');
    const amb = assertOneLineError(await flink(ws, ['savepoint', 'billing']), 2);
    assert.ok(amb.includes(billing) && amb.includes(second), amb);
    assert.ok(assertOneLineError(await flink(ws, ['run', '-s', 'latest:billing', JOB]), 2).includes(second));
    assert.equal((await flink(ws, ['cancel', second])).exitCode, 0);
    await waitForStatus(ws, second, 'CANCELED');
    // Nothing to restore: the cancelled run took no savepoint, latest-savepoint: by its id finds none.
    const idOnly = await flink(ws, ['state', `latest-savepoint:${second}`]);
    assert.match(assertOneLineError(idOnly, 3), /Nothing to restore/);
  });

  test('the deploy recipe: stop by name, run -s latest:<name> resumes from that savepoint', async () => {
    const stop = await flink(ws, ['stop', 'orders']);
    assert.equal(stop.exitCode, 0, show(stop));
    const stopped = savepointPathFrom(stop.stdout);
    const state = await flink(ws, ['state', 'latest:orders', '--json']);
    assert.equal(state.exitCode, 0, show(state));
    const run = await flink(ws, ['run', '-d', '-s', 'latest:orders', JOB, '--name', 'orders']);
    assert.equal(run.exitCode, 0, show(run));
    assert.match(run.stderr, new RegExp(`Restoring from savepoint ${stopped}`));
    const next = jobIdFrom(run.stdout);
    await waitForStatus(ws, next, 'RUNNING');
    assert.equal(catalog((i) => i.getJob(next)?.restoredFrom), stopped);
    const sps = await flink(ws, ['savepoints', 'orders', '--json']);
    const listed = (JSON.parse(sps.stdout) as { savepoints: { path: string; restoredFrom: string | null; jobId: string }[] }).savepoints;
    assert.ok(listed.some((s) => s.path === stopped), 'the history spans both runs of the name');
  });
});
