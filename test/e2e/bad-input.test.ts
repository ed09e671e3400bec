/**
 * End-to-end bad input: every mistake a user can make with the compiled `flink` CLI ends with a non-zero
 * exit code, one `flink: …` line on stderr that names the culprit (no stack trace), and nothing deleted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  STATE_MACHINE_JOB, assertOneLineError, cleanup, createWorkspace, flink, jobIdFrom, latestCheckpoint, listJobs, listTree,
  readSnapshot, savepointPathFrom, show, waitFor, waitForStatus, type Workspace,
} from './helpers.js';

const UNKNOWN_JOB = '0123456789abcdef0123456789abcdef';

/** Copies `src` to a fresh folder under the workspace; returns it. */
function copyOf(ws: Workspace, src: string, name: string): string {
  const dst = join(ws.dir, 'copies', name);
  mkdirSync(join(ws.dir, 'copies'), { recursive: true });
  cpSync(src, dst, { recursive: true });
  return dst;
}

/** Byte-level snapshot of a tree: relative path → content, to prove nothing changed. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of listTree(dir)) out[f] = readFileSync(join(dir, f)).toString('base64');
  return out;
}

describe('bad input (e2e)', () => {
  let ws: Workspace;
  /** A long-running detached job (never finishes during the suite; cleanup cancels it). */
  let jobId: string;
  /** A savepoint of that job, never modified: cases corrupt copies of it. */
  let savepoint: string;

  before(async () => {
    ws = createWorkspace();
    const r = await flink(ws, ['run', '-d', STATE_MACHINE_JOB, '--output', join(ws.dir, 'out'), '--count', '1000000', '--rate', '200', '--keys', '10']);
    assert.equal(r.exitCode, 0, show(r));
    jobId = jobIdFrom(r.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 20_000);
    await waitFor(() => latestCheckpoint(ws, jobId), 20_000, 'a completed checkpoint');
    const sp = await flink(ws, ['savepoint', jobId, join(ws.dir, 'pristine')]);
    assert.equal(sp.exitCode, 0, show(sp));
    savepoint = savepointPathFrom(sp.stdout);
    readSnapshot(savepoint); // valid to begin with
  }, { timeout: 60_000 });

  after(() => cleanup(ws), { timeout: 30_000 });

  /** Only the long-running job is alive: a failed command must not leave a job behind. */
  async function assertNoOtherJobRunning(): Promise<void> {
    const running = (await listJobs(ws)).filter((j) => j.jobId !== jobId && !['FINISHED', 'CANCELED', 'FAILED'].includes(j.status));
    assert.deepEqual(running.map((j) => `${j.jobId} ${j.status}`), [], 'no job left running');
  }

  test('run: missing job file', { timeout: 30_000 }, async () => {
    const missing = join(ws.dir, 'no-such-dir', 'Job.ts');
    for (const extra of [[], ['-d']]) {
      const r = await flink(ws, ['run', ...extra, missing, '--output', join(ws.dir, 'never')]);
      const line = assertOneLineError(r, 3);
      assert.ok(line.includes(missing), line);
      assert.ok(!existsSync(join(ws.dir, 'never')));
    }
  });

  test('run: a job file that throws while building the graph (attached and detached)', { timeout: 30_000 }, async () => {
    const dir = join(ws.dir, 'jobs');
    mkdirSync(dir, { recursive: true });
    const job = join(dir, 'Broken.ts');
    const source = [
      "import { StreamExecutionEnvironment, ParameterTool } from 'flink-ts';",
      'const params = ParameterTool.fromArgs(process.argv.slice(2));',
      'const env = StreamExecutionEnvironment.getExecutionEnvironment();',
      "if (params.has('explode')) throw new Error('the graph could not be built: no topic configured');",
      "env.fromElements('a').print();",
      "await env.execute('broken');",
      '',
    ].join('\n');
    writeFileSync(job, source);
    for (const extra of [[], ['-d']]) {
      const r = await flink(ws, ['run', ...extra, job, '--explode']);
      const line = assertOneLineError(r);
      assert.match(line, /the graph could not be built: no topic configured/);
      assert.ok(line.includes('Broken.ts'), `names the program: ${line}`);
      assert.doesNotMatch(r.stdout, /Job has been submitted/);
    }
    assert.equal(readFileSync(job, 'utf8'), source);
    await assertNoOtherJobRunning();
  });

  test('savepoint / cancel / stop: unknown and malformed job ids', { timeout: 30_000 }, async () => {
    for (const args of [['savepoint', UNKNOWN_JOB], ['cancel', UNKNOWN_JOB], ['stop', UNKNOWN_JOB], ['cancel', '-s', join(ws.dir, 'x'), UNKNOWN_JOB]]) {
      const r = await flink(ws, args);
      const line = assertOneLineError(r, 3);
      assert.ok(line.includes(UNKNOWN_JOB), `${args.join(' ')}: ${line}`);
    }
    for (const args of [['savepoint', 'not-a-job-id'], ['cancel', 'xyz'], ['stop', '0123']]) {
      const r = await flink(ws, args);
      assertOneLineError(r, 2);
    }
    assert.ok(!existsSync(join(ws.dir, 'x')), 'no savepoint directory created for an unknown job');
    assert.equal((await listJobs(ws)).find((j) => j.jobId === jobId)?.status, 'RUNNING', 'the real job is unaffected');
  });

  test('savepoint into a directory that cannot be created (under a regular file)', { timeout: 30_000 }, async () => {
    const file = join(ws.dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const target = join(file, 'sub');
    const r = await flink(ws, ['savepoint', jobId, target]);
    const line = assertOneLineError(r, 6);
    assert.ok(line.includes(target), line);
    assert.equal(readFileSync(file, 'utf8'), 'not a directory\n');
    for (const args of [['cancel', '-s', target, jobId], ['stop', '-p', target, jobId]]) {
      const c = await flink(ws, args);
      const l = assertOneLineError(c, 6);
      assert.ok(l.includes(target), `${args[0]}: ${l}`);
    }
    // Neither the savepoint nor cancel/stop went through: the job keeps running.
    assert.equal((await listJobs(ws)).find((j) => j.jobId === jobId)?.status, 'RUNNING');
  });

  test('run -s: path without _metadata, missing path, a state file instead of _metadata', { timeout: 30_000 }, async () => {
    const noMeta = join(ws.dir, 'no-metadata');
    mkdirSync(noMeta, { recursive: true });
    writeFileSync(join(noMeta, 'notes.txt'), 'hello\n');
    const stateFile = readdirSync(savepoint).find((f) => f !== '_metadata')!;
    for (const path of [noMeta, join(ws.dir, 'does-not-exist'), join(savepoint, stateFile)]) {
      const before = contents(savepoint);
      const r = await flink(ws, ['run', '-s', path, STATE_MACHINE_JOB, '--output', join(ws.dir, 'never')]);
      const line = assertOneLineError(r, 3);
      assert.ok(line.includes(path), line);
      assert.deepEqual(contents(savepoint), before);
    }
    assert.deepEqual(listTree(noMeta), ['notes.txt']);
    assert.ok(!existsSync(join(ws.dir, 'never')));
  });

  test('run -s: a truncated _metadata (attached and detached)', { timeout: 30_000 }, async () => {
    const sp = copyOf(ws, savepoint, 'truncated');
    const meta = join(sp, '_metadata');
    truncateSync(meta, Math.floor(statSync(meta).size / 2));
    const before = contents(sp);
    for (const extra of [[], ['-d']]) {
      const r = await flink(ws, ['run', ...extra, '-s', sp, STATE_MACHINE_JOB, '--output', join(ws.dir, 'never')]);
      const line = assertOneLineError(r, 7);
      assert.ok(line.includes(meta), line);
      assert.match(line, /truncated|corrupt/i);
    }
    assert.deepEqual(contents(sp), before, 'nothing in the savepoint was touched');
    assert.ok(!existsSync(join(ws.dir, 'never')));
    await assertNoOtherJobRunning();
  });

  test('run -s: a corrupted state file is named (attached and detached)', { timeout: 30_000 }, async () => {
    const sp = copyOf(ws, savepoint, 'corrupted');
    const victim = readSnapshot(sp).operators.find((o) => o.uid === 'state-machine')!.files[0];
    const path = join(sp, victim);
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(path, bytes);
    const before = contents(sp);
    for (const extra of [[], ['-d']]) {
      const r = await flink(ws, ['run', ...extra, '-s', sp, STATE_MACHINE_JOB, '--output', join(ws.dir, 'never')]);
      const line = assertOneLineError(r, 7);
      assert.ok(line.includes(victim), `names ${victim}: ${line}`);
    }
    assert.deepEqual(contents(sp), before, 'nothing in the savepoint was touched');
    await assertNoOtherJobRunning();
  });

  test('invalid configuration values via -D and in flink-conf.yaml name the key', { timeout: 60_000 }, async () => {
    const cases: Array<[string, string]> = [
      ['execution.checkpointing.interval', 'abc'],
      ['parallelism.default', 'zero'],
      ['restart-strategy.type', 'bogus'],
      ['restart-strategy.fixed-delay.delay', 'soon'],
    ];
    for (const [key, value] of cases) {
      const r = await flink(ws, ['run', '-D', `${key}=${value}`, STATE_MACHINE_JOB, '--output', join(ws.dir, 'never')]);
      const line = assertOneLineError(r, 2);
      assert.ok(line.includes(`'${key}'`) || line.includes(key), `names ${key}: ${line}`);
      assert.ok(line.includes(value), `names the value ${value}: ${line}`);
    }
    // Job-control verbs validate -D too.
    const l = await flink(ws, ['list', '-D', 'execution.checkpointing.interval=abc']);
    assert.match(assertOneLineError(l, 2), /execution\.checkpointing\.interval/);
    // A malformed -D.
    assertOneLineError(await flink(ws, ['run', '-D', 'novalue', STATE_MACHINE_JOB]), 2);
    // The same mistake in the configuration file.
    const confDir = join(ws.dir, 'bad-conf');
    mkdirSync(confDir, { recursive: true });
    const conf = `${readFileSync(join(ws.confDir, 'flink-conf.yaml'), 'utf8')}execution.checkpointing.interval: often\n`;
    writeFileSync(join(confDir, 'flink-conf.yaml'), conf);
    const f = await flink(ws, ['run', STATE_MACHINE_JOB, '--output', join(ws.dir, 'never')], { env: { FLINK_CONF_DIR: confDir } });
    assert.match(assertOneLineError(f, 2), /execution\.checkpointing\.interval/);
    assert.equal(readFileSync(join(confDir, 'flink-conf.yaml'), 'utf8'), conf);
    assert.ok(!existsSync(join(ws.dir, 'never')));
    await assertNoOtherJobRunning();
  });

  test('usage errors: unknown flag, bad -p, missing job file argument', { timeout: 30_000 }, async () => {
    assertOneLineError(await flink(ws, ['run', '--bogus', STATE_MACHINE_JOB]), 2);
    assertOneLineError(await flink(ws, ['run', '-p', '0', STATE_MACHINE_JOB]), 2);
    assertOneLineError(await flink(ws, ['run']), 2);
  });

  test('savepoint -d: refuses a non-savepoint directory, a truncated savepoint and a checkpoint, deleting nothing', { timeout: 30_000 }, async () => {
    const notSp = join(ws.dir, 'not-a-savepoint');
    mkdirSync(join(notSp, 'nested'), { recursive: true });
    writeFileSync(join(notSp, 'data.csv'), '1,2,3\n');
    writeFileSync(join(notSp, 'nested', 'more.txt'), 'keep\n');
    const truncated = copyOf(ws, savepoint, 'dispose-truncated');
    truncateSync(join(truncated, '_metadata'), 10);
    // A copy of a retained checkpoint (copied, since the running job's retention may delete the original).
    const chk = await waitFor(() => {
      const c = latestCheckpoint(ws, jobId);
      if (!c) return undefined;
      try {
        return copyOf(ws, c, `chk-copy-${Date.now()}`);
      } catch {
        return undefined; // deleted by retention while copying; take the next one
      }
    }, 10_000, 'a copy of a retained checkpoint');
    assert.equal(readSnapshot(chk).kind, 'CHECKPOINT');

    for (const dir of [notSp, truncated, chk]) {
      const before = contents(dir);
      const r = await flink(ws, ['savepoint', '-d', dir]);
      const line = assertOneLineError(r);
      assert.ok(line.includes(dir), line);
      assert.deepEqual(contents(dir), before, `nothing deleted in ${dir}`);
    }
    // A path that does not exist.
    const gone = join(ws.dir, 'no-such-savepoint');
    assertOneLineError(await flink(ws, ['savepoint', '-d', gone]), 3);
  });
});
