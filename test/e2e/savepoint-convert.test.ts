/**
 * Graduation with state, without a Flink cluster: a mini-cluster job with keyed Value/List/Map state, timers,
 * operator list, union and broadcast state and a data generator's position is savepointed; the savepoint becomes
 * a Flink savepoint (Flink's State Processor API, jvm/flink-savepoint-converter); Flink's SavepointReader reads
 * every value back equal (by key, decoded); that Flink savepoint becomes a flink-ts savepoint again, and the job
 * restored from it on the mini-cluster ends with exactly the output of an uninterrupted run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { decode } from '../../src/core/Serializer.js';
import { decodeKey } from '../../src/flink/KeyEncoding.js';
import { convertToFlink, dumpFlinkSavepoint, dumpFlinkTsSavepoint, writeFlinkTsSavepoint } from '../../src/flink/SavepointConversion.js';
import { readDumpFile, readManifest } from '../../src/flink/SavepointDump.js';
import { converterSkip, ensureConverterJars } from '../support/converter.js';
import {
  ROOT, assertOneLineError, cleanup, committedLines, createWorkspace, flink, jobIdFrom, savepointPathFrom, show, waitFor, waitForStatus, withArgs, type Workspace,
} from './helpers.js';

const JOB = join(ROOT, 'test', 'jobs', 'GraduateJob.ts');
const COUNT = 3000;
const HOLD_AT = 1500;
const ARGS = ['--count', String(COUNT), '--keys', '7', '--rules', '5'];
const UIDS = ['events', 'stateful', 'tally'];
const SOURCES = { numberSequenceSources: { events: 0 } };

/** A dump's content, decoded and in an order-free form: what both sides must agree on. */
function contentOf(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const op of readManifest(dir).operators) {
    const keyed = new Map<string, unknown>();
    const lists = new Map<string, unknown[]>();
    const maps = new Map<string, Map<string, unknown>>();
    const timers: string[] = [];
    const split: string[] = [];
    const union: string[] = [];
    const broadcast = new Set<string>();
    const splits: string[] = [];
    for (const r of readDumpFile(join(dir, op.file))) {
      const k = 'key' in r ? JSON.stringify(decodeKey(r.key)) : '';
      switch (r.type) {
        case 'value': keyed.set(`${r.state}|${k}`, decode(r.value)); break;
        case 'list-element': lists.set(`${r.state}|${k}`, [...(lists.get(`${r.state}|${k}`) ?? []), decode(r.value)]); break;
        case 'map-entry': {
          const m = maps.get(`${r.state}|${k}`) ?? new Map<string, unknown>();
          m.set(JSON.stringify(decodeKey(r.userKey)), decode(r.value));
          maps.set(`${r.state}|${k}`, m);
          break;
        }
        case 'timer': timers.push(`${r.domain}|${k}|${r.time}`); break;
        case 'operator-list': split.push(`${r.state}|${JSON.stringify(decode(r.value))}`); break;
        case 'union-list': union.push(`${r.state}|${JSON.stringify(decode(r.value))}`); break;
        case 'broadcast': broadcast.add(`${r.state}|${JSON.stringify(decodeKey(r.userKey))}|${JSON.stringify(decode(r.value))}`); break;
        case 'source-split': splits.push(`${r.splitId}|${r.from}|${r.to}`); break;
      }
    }
    const sorted = <V>(m: Map<string, V>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    out[op.uid] = {
      parallelism: op.parallelism,
      maxParallelism: op.maxParallelism,
      values: sorted(keyed),
      lists: sorted(lists),
      maps: Object.fromEntries([...maps].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, m]) => [n, sorted(m)])),
      timers: timers.sort(),
      split: split.sort(),
      union: union.sort(),
      broadcast: [...broadcast].sort(),
      splits: splits.sort(),
    };
  }
  return out;
}

const skip = converterSkip();

describe('savepoint conversion flink-ts <-> Flink (e2e)', { skip, timeout: 300_000 }, () => {
  let ws: Workspace;
  let tmp: string;
  before(() => {
    ensureConverterJars((l) => process.stderr.write(`# ${l}\n`));
    ws = createWorkspace();
    tmp = mkdtempSync(join(tmpdir(), 'flink-ts-convert-test-'));
  });
  after(async () => {
    await cleanup(ws);
    rmSync(tmp, { recursive: true, force: true });
  });

  test('mini-cluster savepoint -> Flink savepoint -> read back equal -> flink-ts savepoint -> restore continues exactly', { timeout: 280_000 }, async () => {
    const out = join(ws.dir, 'out');
    const gate = join(ws.dir, 'gate');
    const run = await flink(ws, ['run', '-d', JOB, ...withArgs(ARGS, { output: out, gate, 'hold-at': String(HOLD_AT) })]);
    assert.equal(run.exitCode, 0, show(run));
    const jobId = jobIdFrom(run.stdout);
    await waitForStatus(ws, jobId, 'RUNNING', 20_000);
    await waitFor(() => committedLines(out).length === HOLD_AT, 30_000, 'the events before the hold committed');
    const c = await flink(ws, ['cancel', '-s', join(ws.dir, 'savepoints-out'), jobId]);
    assert.equal(c.exitCode, 0, show(c));
    const savepoint = savepointPathFrom(c.stdout);
    await waitForStatus(ws, jobId, 'CANCELED', 15_000);

    // flink-ts -> dump (what to-flink writes) and -> a Flink savepoint.
    const before = join(tmp, 'dump-before');
    const dumped = dumpFlinkTsSavepoint(savepoint, before, SOURCES);
    assert.deepEqual(dumped.operators.map((o) => o.uid).sort(), UIDS);
    const flinkSavepoint = join(tmp, 'flink-savepoint');
    const moved = await convertToFlink(savepoint, flinkSavepoint, SOURCES);
    assert.ok(existsSync(join(flinkSavepoint, '_metadata')), 'Flink savepoint written');
    assert.ok(!readFileSync(join(flinkSavepoint, '_metadata')).subarray(0, 8).equals(Buffer.from('FLTSMETA')), "Flink's own _metadata format");
    assert.equal(moved.committedFiles, dumped.pendingFiles.length);

    // Flink's SavepointReader reads every value back, equal by key once decoded.
    const after = join(tmp, 'dump-after');
    await dumpFlinkSavepoint(flinkSavepoint, after, UIDS, SOURCES);
    const expected = contentOf(before);
    const actual = contentOf(after);
    const stateful = expected.stateful as { values: Record<string, unknown>; timers: string[]; broadcast: string[] };
    assert.equal(Object.keys(stateful.values).length, 7, 'a count per key');
    assert.equal(stateful.timers.length, 7, 'a timer per key');
    assert.equal(stateful.broadcast.length, 5, 'every rule in the broadcast state');
    assert.deepEqual(actual, expected);

    // The verb refuses, in one line, what would lose data: this job's test source is no data generator Flink has.
    const refused = await flink(ws, ['savepoint-convert', '--to-flink', '-i', savepoint, '-o', join(tmp, 'refused'), JOB, ...withArgs(ARGS, { output: out })]);
    assert.match(assertOneLineError(refused), /Operator 'Source: Events' \(uid 'events'\) holds the source's read position/);
    assert.match(assertOneLineError(await flink(ws, ['savepoint-convert', '-i', savepoint, '-o', join(tmp, 'x')])), /--to-flink or --to-flink-ts/);
    assert.ok(!existsSync(join(tmp, 'refused', '_metadata')), 'nothing written when refused');

    // Back to a flink-ts savepoint; the job restored from it ends exactly as an uninterrupted run.
    const converted = join(ws.dir, 'converted-savepoint');
    await writeFlinkTsSavepoint(after, converted);
    writeFileSync(gate, '');
    const restored = await flink(ws, ['run', '-s', converted, JOB, ...withArgs(ARGS, { output: out, gate, 'hold-at': String(HOLD_AT) })]);
    assert.equal(restored.exitCode, 0, show(restored));
    const ref = join(ws.dir, 'reference');
    const whole = await flink(ws, ['run', JOB, ...withArgs(ARGS, { output: ref, 'hold-at': String(HOLD_AT) })]);
    assert.equal(whole.exitCode, 0, show(whole));
    const reference = committedLines(ref);
    assert.equal(reference.length, COUNT + 7, 'every event and a timer per key');
    assert.deepEqual(committedLines(out), reference);
    assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('.')), [], 'no part file left pending');
  });
});
