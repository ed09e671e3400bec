/**
 * `flink state` end to end: the compiled CLI on a real savepoint and a retained checkpoint of
 * examples/StateMachineExample.ts — the summary (human and --json), --dump as JSON lines, damaged snapshots,
 * and --dry-run restores into the same program, a program without the keyed operator, and a new parallelism.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import {
  ROOT, STATE_MACHINE_JOB, STATE_MACHINE_VARIANT_JOB, assertOneLineError, cleanup, createWorkspace, flink, jobIdFrom,
  ensureBuilt, latestCheckpoint, savepointPathFrom, show, sleep, waitFor, waitForStatus, type Workspace,
} from './helpers.js';

interface StateSummaryJson {
  path: string;
  jobId: string;
  jobName: string;
  checkpointId: number;
  kind: string;
  format: string;
  maxParallelism: number;
  operators: Array<{
    uid: string | null; operatorId: string; name: string; parallelism: number; keyedEntries: number;
    states: Array<{ name: string; type: string; kind: string; entries: number }>;
    subtasks: Array<{ subtask: number; keyGroupRange?: [number, number]; keyedEntries: number }>;
  }>;
}

interface PlanJson {
  result: string;
  restorable: boolean;
  verdict: string;
  error?: { kind: string; message: string };
  operators: Array<{ uid: string | null; status: string; target?: { uid: string | null; parallelism: number }; keyGroups?: { newParallelism: number; new: Array<{ subtask: number; range: [number, number]; entries: number }> } }>;
  newOperators: Array<{ uid: string | null; name: string; state: string }>;
}

describe('flink state', () => {
  let ws: Workspace;
  let savepoint: string;
  let checkpoint: string;
  let jobId: string;
  let summary: StateSummaryJson;

  before(async () => {
    await ensureBuilt();
    assert.ok(existsSync(join(ROOT, 'dist', 'commands', 'state.js')), 'dist/commands/state.js built');

    ws = createWorkspace();
    const output = join(ws.dir, 'alerts');
    const r = await flink(ws, ['run', '-d', STATE_MACHINE_JOB, '--output', output, '--rate', '500']);
    assert.equal(r.exitCode, 0, show(r));
    jobId = jobIdFrom(r.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 20_000);
    await sleep(1500); // a few hundred events: every one of the 100 addresses has state
    const sp = await flink(ws, ['savepoint', jobId]);
    assert.equal(sp.exitCode, 0, show(sp));
    savepoint = savepointPathFrom(sp.stdout);
    await waitFor(() => latestCheckpoint(ws, jobId), 10_000, 'a retained checkpoint');
    const c = await flink(ws, ['cancel', jobId]);
    assert.equal(c.exitCode, 0, show(c));
    await waitForStatus(ws, jobId, 'CANCELED', 20_000);
    checkpoint = latestCheckpoint(ws, jobId)!;
    // What later tests look up (operator ids, entry counts), read here so each test also runs alone.
    const j = await flink(ws, ['state', savepoint, '--json']);
    assert.equal(j.exitCode, 0, show(j));
    summary = JSON.parse(j.stdout) as StateSummaryJson;
  });

  after(async () => {
    if (ws) await cleanup(ws);
  });

  test('prints the savepoint: job, checkpoint, kind, and per operator uid, id, parallelism, states and entries', async () => {
    const r = await flink(ws, ['state', savepoint]);
    assert.equal(r.exitCode, 0, show(r));
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^Snapshot: +\/.*savepoint-[0-9a-f]{6}-[0-9a-f]{12}$/m);
    assert.match(r.stdout, /^Kind: +savepoint \(CANONICAL\)$/m);
    assert.match(r.stdout, new RegExp(`^Job ID: +${jobId}$`, 'm'));
    assert.match(r.stdout, /^Job name: +State machine job$/m);
    assert.match(r.stdout, /^Checkpoint ID: +\d+$/m);
    assert.match(r.stdout, /^Triggered: +\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d/m);
    assert.match(r.stdout, /^Completed: +\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d/m);
    assert.match(r.stdout, /^Max parallelism: +128$/m);
    assert.match(r.stdout, /^ {2}events-source {2}[0-9a-f]{32} {2}'Source: Events Generator Source'$/m);
    assert.match(r.stdout, /^ {2}state-machine {2}[0-9a-f]{32} {2}'State machine'$/m);
    assert.match(r.stdout, /^ {2}alerts-sink {2}[0-9a-f]{32} {2}'Alerts sink'$/m);
    assert.match(r.stdout, /^ {4}state +keyed +value +[1-9]\d*$/m);
    assert.match(r.stdout, /^ {4}cycles +keyed +value +\d+$/m);
    assert.match(r.stdout, /^ {4}SourceReaderState +operator +SPLIT_DISTRIBUTE +1$/m);
    assert.match(r.stdout, /^ {4}subtask 1: key groups 64-127, \d+ keyed entries, /m);
  });

  test('--json gives the same as an object', async () => {
    const r = await flink(ws, ['state', savepoint, '--json']);
    assert.equal(r.exitCode, 0, show(r));
    const got = JSON.parse(r.stdout) as StateSummaryJson;
    assert.equal(got.jobId, jobId);
    assert.equal(got.kind, 'savepoint');
    assert.equal(got.jobName, 'State machine job');
    assert.equal(got.maxParallelism, 128);
    assert.deepEqual(got.operators.map((o) => o.uid), ['events-source', 'state-machine', 'alerts-sink']);
    const sm = got.operators[1];
    assert.equal(sm.parallelism, 2);
    assert.match(sm.operatorId, /^[0-9a-f]{32}$/);
    assert.deepEqual(sm.subtasks.map((s) => s.keyGroupRange), [[0, 63], [64, 127]]);
    const state = sm.states.find((s) => s.name === 'state')!;
    assert.deepEqual([state.type, state.kind], ['keyed', 'value']);
    assert.ok(state.entries > 0 && state.entries <= 100, `entries of 'state': ${state.entries}`);
    assert.equal(sm.keyedEntries, sm.states.reduce((n, s) => n + s.entries, 0), 'the per-state counts add up to _metadata\'s');
    assert.deepEqual(got.operators[2].states.map((s) => [s.name, s.type, s.kind]), [['FileSinkState', 'operator', 'SPLIT_DISTRIBUTE']]);
  });

  test('--dump prints JSON lines, as many as the reported entries', async () => {
    const expected = summary.operators[1].states.find((s) => s.name === 'state')!.entries;
    const r = await flink(ws, ['state', savepoint, '--dump', 'state']);
    assert.equal(r.exitCode, 0, show(r));
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, expected);
    const keys = new Set<string>();
    for (const l of lines) {
      const e = JSON.parse(l) as { key: string; namespace: null; value: number; subtask: number };
      assert.deepEqual(Object.keys(e), ['key', 'namespace', 'value', 'subtask']);
      assert.match(e.key, /^10\.0\.0\.\d+$/);
      assert.equal(e.namespace, null);
      assert.ok(Number.isInteger(e.value) && e.value >= 0 && e.value <= 4, `state value ${e.value}`);
      assert.ok(e.subtask === 0 || e.subtask === 1);
      keys.add(e.key);
    }
    assert.equal(keys.size, lines.length, 'each key once');

    const [byUid, src] = await Promise.all([
      flink(ws, ['state', savepoint, '--dump', 'state', '--operator', 'state-machine']),
      flink(ws, ['state', `file:${savepoint}/_metadata`, '--dump', 'SourceReaderState']),
    ]);
    assert.equal(byUid.stdout, r.stdout);
    assert.equal(src.exitCode, 0, show(src));
    const splits = src.stdout.trim().split('\n').map((l) => JSON.parse(l) as { value: unknown; subtask: number });
    assert.equal(splits.length, 1);
    assert.equal(splits[0].subtask, 0);
    assert.deepEqual(Object.keys(splits[0]), ['value', 'subtask']);
  });

  test('an unknown state or operator is a one-line error listing what exists, exit 3', async () => {
    const r = await flink(ws, ['state', savepoint, '--dump', 'nope']);
    const line = assertOneLineError(r, 3);
    assert.match(line, /No state 'nope'.*state-machine: state \(keyed value\), cycles \(keyed value\).*alerts-sink: FileSinkState/);
    const op = await flink(ws, ['state', savepoint, '--dump', 'state', '--operator', 'nope', '--json']);
    assert.match(assertOneLineError(op, 3), /No operator 'nope'.*events-source.*state-machine.*alerts-sink/);
    assert.equal((JSON.parse(op.stdout) as { error: { kind: string } }).error.kind, 'not-found');
  });

  test('a retained checkpoint (chk-N, file: URI) reads the same way', async () => {
    const r = await flink(ws, ['state', `file://${checkpoint}`, '--json']);
    assert.equal(r.exitCode, 0, show(r));
    const s = JSON.parse(r.stdout) as StateSummaryJson;
    assert.equal(s.kind, 'checkpoint');
    assert.equal(s.path, checkpoint);
    assert.equal(s.checkpointId, Number(/chk-(\d+)$/.exec(checkpoint)![1]));
    assert.deepEqual(s.operators.map((o) => o.uid), ['events-source', 'state-machine', 'alerts-sink']);
  });

  test('a damaged snapshot is one line naming the file, exit 7', async () => {
    const damaged = join(ws.dir, 'damaged');
    cpSync(savepoint, damaged, { recursive: true });
    const file = readdirSync(damaged).find((f) => f.startsWith(summary.operators[1].operatorId))!;
    const bytes = readFileSync(join(damaged, file));
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(join(damaged, file), bytes);
    const variants = [[], ['--json'], ['--dump', 'state'], ['--dry-run', STATE_MACHINE_JOB]];
    const results = await Promise.all(variants.map((args) => flink(ws, ['state', damaged, ...args])));
    results.forEach((r, i) => {
      const line = assertOneLineError(r, 7);
      assert.match(line, new RegExp(`${file} is corrupted: checksum mismatch`), variants[i].join(' '));
    });
  });

  test('--dry-run into the same program maps every operator: exit 0', async () => {
    const out = join(ws.dir, 'restored');
    const [r, j] = await Promise.all([
      flink(ws, ['state', savepoint, '--dry-run', STATE_MACHINE_JOB, '--', '--output', out]),
      flink(ws, ['state', savepoint, '--dry-run', STATE_MACHINE_JOB, '--json', '--', '--output', out]),
    ]);
    assert.equal(r.exitCode, 0, show(r));
    assert.match(r.stdout, /^ {2}events-source +'Source: Events Generator Source' +-> +events-source \(by uid\), parallelism 1 -> 1$/m);
    assert.match(r.stdout, /^ {2}state-machine +'State machine' +-> +state-machine \(by uid\), parallelism 2 -> 2$/m);
    assert.match(r.stdout, /^ {2}alerts-sink +'Alerts sink' +-> +alerts-sink \(by uid\), parallelism 2 -> 2$/m);
    assert.match(r.stdout, /Key groups of state-machine \(max parallelism 128\): 2 -> 2 subtasks, unchanged/);
    assert.match(r.stdout, /^Result: run -s would restore the state of every operator of the snapshot\.$/m);
    assert.doesNotMatch(r.stdout, /DROPPED/);

    assert.equal(j.exitCode, 0, show(j));
    const plan = JSON.parse(j.stdout) as PlanJson;
    assert.deepEqual([plan.result, plan.restorable], ['RESTORABLE', true]);
    assert.deepEqual(plan.operators.map((o) => [o.uid, o.status, o.target?.uid]), [
      ['events-source', 'MAPPED', 'events-source'], ['state-machine', 'MAPPED', 'state-machine'], ['alerts-sink', 'MAPPED', 'alerts-sink'],
    ]);
    assert.ok(!existsSync(out), 'the program was not run');
  });

  test('--dry-run into a program without the state machine: DROPPED, needs -n, exit 7', async () => {
    const args = ['state', savepoint, '--dry-run', STATE_MACHINE_VARIANT_JOB, '--', '--without-state-machine', '--output', join(ws.dir, 'variant')];
    const [r, j, n] = await Promise.all([
      flink(ws, args),
      flink(ws, [...args.slice(0, 4), '--json', ...args.slice(4)]),
      flink(ws, [...args.slice(0, 4), '-n', ...args.slice(4)]),
    ]);
    assert.equal(r.exitCode, 7, show(r));
    assert.match(r.stdout, /^ {2}state-machine +'State machine' +-> +DROPPED: not in the new program, state \[.*cycles, state\] needs -n$/m);
    assert.match(r.stdout, /New operators without state in the snapshot \(start empty\):\n {2}[0-9a-f]{32} +'Format events' +parallelism 2/);
    assert.match(r.stdout, /^Result: run -s would fail: the state of 'State machine' \(uid state-machine\) has no operator in the new program\. Run with -n\/--allowNonRestoredState to drop it\.$/m);
    assert.match(assertOneLineError(r, 7), /Cannot map checkpoint\/savepoint state for operator\(s\) 'State machine' \(uid: state-machine.*--allowNonRestoredState/);

    assert.equal(j.exitCode, 7, show(j));
    const plan = JSON.parse(j.stdout) as PlanJson;
    assert.deepEqual([plan.result, plan.restorable, plan.error?.kind], ['NEEDS_ALLOW_NON_RESTORED_STATE', false, 'restore']);
    assert.equal(plan.operators.find((o) => o.uid === 'state-machine')!.status, 'DROPPED');

    assert.equal(n.exitCode, 0, show(n));
    assert.match(n.stdout, /Result: run -s -n would restore; the state of 'State machine' \(uid state-machine\) would be dropped/);
  });

  test('--dry-run -p 3 shows how the key groups split across the new subtasks', async () => {
    const [r, j] = await Promise.all([
      flink(ws, ['state', savepoint, '--dry-run', STATE_MACHINE_JOB, '-p', '3', '--', '--output', join(ws.dir, 'p3')]),
      flink(ws, ['state', savepoint, '--dry-run', STATE_MACHINE_JOB, '-p', '3', '--json', '--', '--output', join(ws.dir, 'p3')]),
    ]);
    assert.equal(r.exitCode, 0, show(r));
    assert.match(r.stdout, /parallelism\.default 3/);
    assert.match(r.stdout, /state-machine \(by uid\), parallelism 2 -> 3/);
    assert.match(r.stdout, /Key groups of state-machine \(max parallelism 128\): 2 -> 3 subtasks\n/);
    assert.match(r.stdout, /^ {2}old subtask 0: +0-63 +\d+ entr/m);
    assert.match(r.stdout, /^ {2}old subtask 1: +64-127 +\d+ entr/m);
    assert.match(r.stdout, /^ {2}new subtask 0: +0-42 +<- old 0 \(0-42\) +\d+ entr/m);
    assert.match(r.stdout, /^ {2}new subtask 1: +43-85 +<- old 0 \(43-63\), old 1 \(64-85\) +\d+ entr/m);
    assert.match(r.stdout, /^ {2}new subtask 2: +86-127 +<- old 1 \(86-127\) +\d+ entr/m);

    assert.equal(j.exitCode, 0, show(j));
    const plan = JSON.parse(j.stdout) as PlanJson;
    const kg = plan.operators.find((o) => o.uid === 'state-machine')!.keyGroups!;
    assert.equal(kg.newParallelism, 3);
    assert.equal(kg.new.reduce((n, x) => n + x.entries, 0), summary.operators[1].keyedEntries, 'every entry lands in one new subtask');
  });

  test('usage errors: flags that need --dry-run or --dump, both at once', async () => {
    const [p, op, both, nowhere] = await Promise.all([
      flink(ws, ['state', savepoint, '-p', '3']),
      flink(ws, ['state', savepoint, '--operator', 'x']),
      flink(ws, ['state', savepoint, '--dump', 'state', '--dry-run', STATE_MACHINE_JOB]),
      flink(ws, ['state', join(ws.dir, 'nowhere')]),
    ]);
    assert.match(assertOneLineError(p, 2), /--dry-run/);
    assert.match(assertOneLineError(op, 2), /needs --dump/);
    assertOneLineError(both, 2);
    assert.match(assertOneLineError(nowhere, 3), /does not exist/);
  });
});
