import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  METADATA_FORMAT_VERSION, loadSnapshot, writeMetadataAtomically, type CheckpointMetadata, type OperatorStateMetadata,
} from '../../src/checkpoint/Metadata.js';
import {
  dumpState, findOperator, inspectSnapshot, keyGroupSectionSizes, readableJsonReplacer, resolveDumpTarget, toReadableJson,
  verifyDumpTarget, type DumpEntry, type KeyedDumpEntry,
} from '../../src/tools/SnapshotInspector.js';
import { captureJobGraph, dryRunRestore } from '../../src/tools/RestoreDryRun.js';
import { Configuration } from '../../src/config/Configuration.js';
import { isFlinkError, type ErrorKind } from '../../src/core/FlinkError.js';
import { hash128 } from '../../src/core/ids.js';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex } from '../../src/state/KeyGroupRangeAssignment.js';
import { StateFileWriter, type OperatorStateSnapshot } from '../../src/state/StateFile.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '../../src/api/state.js';
import { StateTtlConfig } from '../../src/api/StateTtlConfig.js';

const root = mkdtempSync(join(tmpdir(), 'flink-ts-inspector-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirNo = 0;
const freshDir = (name = `d${++dirNo}`) => {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
};

function flinkError(kind: ErrorKind, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(isFlinkError(e), `expected a FlinkError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

interface OperatorSpec {
  uid?: string;
  name: string;
  parallelism: number;
  maxParallelism?: number;
  /** Keyed state name → kind and [key, value] entries (spread over subtasks by key group). */
  keyed?: Record<string, { kind?: string; entries: [unknown, unknown][] }>;
  /** Operator state name → mode and the list of each subtask. */
  lists?: Record<string, { mode: 'SPLIT_DISTRIBUTE' | 'UNION'; perSubtask: unknown[][] }>;
}

/** Writes one operator's state files the way StreamTask does (StateFileWriter) and returns its metadata. */
async function writeOperator(dir: string, spec: OperatorSpec): Promise<OperatorStateMetadata> {
  const maxP = spec.maxParallelism ?? 128;
  const operatorId = spec.uid ? hash128(spec.uid) : hash128(`auto:${spec.name}`);
  const keyed = Object.entries(spec.keyed ?? {});
  const subtasks: OperatorStateMetadata['subtasks'] = [];
  for (let i = 0; i < spec.parallelism; i++) {
    const w = new StateFileWriter();
    let keyGroupRange: [number, number] | undefined;
    if (keyed.length > 0) {
      const range = computeKeyGroupRangeForOperatorIndex(maxP, spec.parallelism, i);
      keyGroupRange = range.toJSON();
      for (let kg = range.start; kg <= range.end; kg++) {
        w.beginKeyGroup();
        for (const [name, { entries }] of keyed) {
          const flat = entries.filter(([k]) => assignToKeyGroup(k, maxP) === kg).flat();
          if (flat.length > 0) w.writeKeyedChunk(name, flat);
        }
        w.endSection();
      }
    }
    const operatorStateOffset = w.size;
    const ops: OperatorStateSnapshot = {};
    for (const [name, { mode, perSubtask }] of Object.entries(spec.lists ?? {})) ops[name] = { mode, entries: perSubtask[i] ?? [] };
    w.writeOperatorState(ops);
    const file = `${operatorId}-${i}-${(dirNo * 7919 + i).toString(16).padStart(8, '0')}`;
    const { size, crc32 } = await w.finish(join(dir, file));
    subtasks.push({
      subtask: i,
      state: {
        file, size, crc32, keyGroupRange, keyGroupOffsets: keyGroupRange ? w.keyGroupOffsets : undefined, operatorStateOffset,
        keyedStates: Object.fromEntries(keyed.map(([n, s]) => [n, s.kind ?? 'value'])),
        operatorStates: Object.fromEntries(Object.entries(spec.lists ?? {}).map(([n, l]) => [n, l.mode])),
        keyedEntries: w.keyedEntries,
      },
    });
  }
  return { operatorId, uid: spec.uid, name: spec.name, parallelism: spec.parallelism, maxParallelism: maxP, subtasks };
}

async function writeSnapshot(dir: string, ops: OperatorSpec[], over: Partial<CheckpointMetadata> = {}): Promise<CheckpointMetadata> {
  const md: CheckpointMetadata = {
    formatVersion: METADATA_FORMAT_VERSION,
    jobId: '0123456789abcdef0123456789abcdef',
    jobName: 'Counting job',
    checkpointId: 42,
    kind: 'SAVEPOINT',
    format: 'CANONICAL',
    triggerTimestamp: 1_700_000_000_000,
    completionTimestamp: 1_700_000_000_250,
    maxParallelism: 128,
    operators: [],
    ...over,
  };
  for (const o of ops) md.operators.push(await writeOperator(dir, o));
  writeMetadataAtomically(dir, md);
  return md;
}

const KEYS = Array.from({ length: 50 }, (_, i) => `key-${i}`);
const COUNT_ENTRIES: [unknown, unknown][] = KEYS.map((k, i) => [k, i]);
const SEEN_ENTRIES: [unknown, unknown][] = KEYS.slice(0, 20).map((k, i) => [k, { at: new Date(1_700_000_000_000 + i), tags: new Set(['a', i]) }]);

/** The job of most tests: a source with operator state, a keyed counter with two keyed states, a stateless sink. */
const STANDARD: OperatorSpec[] = [
  {
    uid: 'src', name: 'Source: Sequence Source', parallelism: 2,
    lists: {
      offsets: { mode: 'SPLIT_DISTRIBUTE', perSubtask: [[{ split: 0, pos: 10 }, { split: 2, pos: 3 }], [{ split: 1, pos: 7 }]] },
      epochs: { mode: 'UNION', perSubtask: [[1n], [2n]] },
    },
  },
  { uid: 'counter', name: 'Counter', parallelism: 2, keyed: { count: { entries: COUNT_ENTRIES }, seen: { kind: 'value', entries: SEEN_ENTRIES } } },
];

async function standardSnapshot(): Promise<{ dir: string; md: CheckpointMetadata }> {
  const dir = freshDir();
  const md = await writeSnapshot(dir, STANDARD);
  return { dir, md };
}

describe('inspectSnapshot', () => {
  test('reports metadata, states with kinds and entry counts, subtasks with key groups and sizes', async () => {
    const { dir, md } = await standardSnapshot();
    const s = inspectSnapshot(dir);
    assert.equal(s.path, dir);
    assert.equal(s.metadataFile, join(dir, '_metadata'));
    assert.equal(s.jobId, md.jobId);
    assert.equal(s.jobName, 'Counting job');
    assert.equal(s.checkpointId, 42);
    assert.equal(s.kind, 'savepoint');
    assert.equal(s.format, 'CANONICAL');
    assert.equal(s.triggerTime, '2023-11-14T22:13:20.000Z');
    assert.equal(s.completionTimestamp - s.triggerTimestamp, 250);
    assert.equal(s.maxParallelism, 128);
    assert.deepEqual(s.operators.map((o) => [o.uid, o.operatorId, o.parallelism]), [['src', hash128('src'), 2], ['counter', hash128('counter'), 2]]);

    const [src, counter] = s.operators;
    assert.deepEqual(src.states, [
      { name: 'epochs', type: 'operator', kind: 'UNION', entries: 2 },
      { name: 'offsets', type: 'operator', kind: 'SPLIT_DISTRIBUTE', entries: 3 },
    ]);
    assert.deepEqual(src.subtasks.map((x) => x.operatorStateEntries), [{ offsets: 2, epochs: 1 }, { offsets: 1, epochs: 1 }]);
    assert.equal(src.keyedEntries, 0);
    assert.deepEqual(counter.states, [
      { name: 'count', type: 'keyed', kind: 'value', entries: 50 },
      { name: 'seen', type: 'keyed', kind: 'value', entries: 20 },
    ]);
    assert.equal(counter.keyedEntries, 70);
    assert.deepEqual(counter.subtasks.map((x) => x.keyGroupRange), [[0, 63], [64, 127]]);
    assert.equal(counter.subtasks.reduce((n, x) => n + x.keyedEntries, 0), 70);
    for (const x of counter.subtasks) assert.equal(x.keyGroupEntries, undefined, 'per key group counts only on request');

    const sizes = md.operators.flatMap((o) => o.subtasks.map((x) => x.state.size));
    assert.equal(s.bytes, sizes.reduce((a, b) => a + b, 0));
    for (const o of s.operators) {
      assert.equal(o.bytes, o.subtasks.reduce((n, x) => n + x.bytes, 0));
      for (const x of o.subtasks) assert.equal(x.keyedBytes + x.operatorStateBytes, x.bytes);
    }
    assert.equal(src.subtasks[0].keyedBytes, 0);
  });

  test('accepts the _metadata file, a file: URI and a loaded snapshot; a chk-N directory reads as a checkpoint', async () => {
    const dir = freshDir('job/chk-7');
    await writeSnapshot(dir, STANDARD, { kind: 'CHECKPOINT', format: 'NATIVE', checkpointId: 7 });
    for (const p of [dir, join(dir, '_metadata'), `file:${dir}`, `file://${join(dir, '_metadata')}`]) {
      const s = inspectSnapshot(p);
      assert.equal(s.kind, 'checkpoint', p);
      assert.equal(s.format, 'NATIVE');
      assert.equal(s.checkpointId, 7);
    }
    assert.equal(inspectSnapshot(loadSnapshot(dir)).operators.length, 2);
  });

  test('per key group counts add up to the keyed entries of each subtask; section sizes to the keyed bytes', async () => {
    const { dir, md } = await standardSnapshot();
    const s = inspectSnapshot(dir, { perKeyGroup: true });
    const counter = s.operators[1];
    for (const [i, x] of counter.subtasks.entries()) {
      assert.equal(x.keyGroupEntries!.length, 64);
      assert.equal(x.keyGroupEntries!.reduce((a, b) => a + b, 0), x.keyedEntries);
      const sizes = keyGroupSectionSizes(md.operators[1].subtasks[i].state);
      assert.equal(sizes.size, 64);
      assert.equal([...sizes.values()].reduce((a, b) => a + b, 0), x.keyedBytes);
    }
    // Where the keys actually are.
    const expected = new Array<number>(128).fill(0);
    for (const [k] of [...COUNT_ENTRIES, ...SEEN_ENTRIES]) expected[assignToKeyGroup(k, 128)]++;
    assert.deepEqual(counter.subtasks.flatMap((x) => x.keyGroupEntries!), expected);
  });

  test('an empty operator list and an operator without keyed states are fine', async () => {
    const dir = freshDir();
    await writeSnapshot(dir, [{ uid: 'sink', name: 'Sink', parallelism: 3, lists: { pending: { mode: 'SPLIT_DISTRIBUTE', perSubtask: [[], [], []] } } }]);
    const s = inspectSnapshot(dir);
    assert.deepEqual(s.operators[0].states, [{ name: 'pending', type: 'operator', kind: 'SPLIT_DISTRIBUTE', entries: 0 }]);
    const none = freshDir();
    await writeSnapshot(none, []);
    assert.deepEqual(inspectSnapshot(none).operators, []);
  });

  test('a damaged snapshot is a restore error naming the file: checksum mismatch, wrong size, missing file', async () => {
    const { dir, md } = await standardSnapshot();
    const file = md.operators[1].subtasks[1].state.file;

    const flipped = freshDir();
    cpSync(dir, flipped, { recursive: true });
    const bytes = readFileSync(join(flipped, file));
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(join(flipped, file), bytes);
    assert.throws(() => inspectSnapshot(flipped), flinkError('restore', new RegExp(`${file}.*checksum mismatch`)));

    const truncated = freshDir();
    cpSync(dir, truncated, { recursive: true });
    writeFileSync(join(truncated, file), bytes.subarray(0, 10));
    assert.throws(() => inspectSnapshot(truncated), flinkError('restore', new RegExp(`${file}.*expected \\d+ bytes, found 10`)));

    const missing = freshDir();
    cpSync(dir, missing, { recursive: true });
    unlinkSync(join(missing, file));
    assert.throws(() => inspectSnapshot(missing), flinkError('restore', new RegExp(`${file}.*missing`)));

    const badMeta = freshDir();
    cpSync(dir, badMeta, { recursive: true });
    const meta = readFileSync(join(badMeta, '_metadata'));
    meta[meta.length - 2] ^= 0x01;
    writeFileSync(join(badMeta, '_metadata'), meta);
    assert.throws(() => inspectSnapshot(badMeta), flinkError('restore', /_metadata.*checksum mismatch/));

    assert.throws(() => inspectSnapshot(join(root, 'nowhere')), flinkError('not-found', /does not exist/));
  });
});

describe('dump', () => {
  const collect = (it: Iterable<DumpEntry[]>) => [...it].flat();

  test('keyed state: every entry once, with its key, value and the subtask whose key groups hold it', async () => {
    const { dir } = await standardSnapshot();
    const snap = loadSnapshot(dir);
    const target = resolveDumpTarget(snap, 'seen');
    assert.equal(target.type, 'keyed');
    assert.equal(target.operator.uid, 'counter');
    const entries = collect(dumpState(snap, target)) as KeyedDumpEntry[];
    assert.equal(entries.length, inspectSnapshot(snap).operators[1].states.find((s) => s.name === 'seen')!.entries);
    assert.deepEqual(new Map(entries.map((e) => [e.key, e.value])), new Map(SEEN_ENTRIES));
    for (const e of entries) {
      assert.equal(e.namespace, null);
      const kg = assignToKeyGroup(e.key, 128);
      assert.ok(computeKeyGroupRangeForOperatorIndex(128, 2, e.subtask).contains(kg), `key ${String(e.key)} in subtask ${e.subtask}`);
    }
    assert.deepEqual(Object.keys(entries[0]), ['key', 'namespace', 'value', 'subtask']);
    // Subtask order, then key-group order.
    const order = entries.map((e) => [e.subtask, assignToKeyGroup(e.key, 128)]);
    assert.deepEqual(order, [...order].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
  });

  test('operator state: the list elements of each subtask, in order', async () => {
    const { dir } = await standardSnapshot();
    const entries = collect(dumpState(dir, resolveDumpTarget(dir, 'offsets', 'src')));
    assert.deepEqual(entries, [
      { value: { split: 0, pos: 10 }, subtask: 0 }, { value: { split: 2, pos: 3 }, subtask: 0 }, { value: { split: 1, pos: 7 }, subtask: 1 },
    ]);
    assert.deepEqual(collect(dumpState(dir, resolveDumpTarget(dir, 'epochs'))), [{ value: 1n, subtask: 0 }, { value: 2n, subtask: 1 }]);
  });

  test('the generator is lazy: batches per key group', async () => {
    const { dir } = await standardSnapshot();
    const it = dumpState(dir, resolveDumpTarget(dir, 'count'));
    const first = it.next();
    assert.equal(first.done, false);
    const kgs = new Set((first.value as KeyedDumpEntry[]).map((e) => assignToKeyGroup(e.key, 128)));
    assert.equal(kgs.size, 1, 'one key group per batch');
  });

  test('operator selection by uid, operator id or unique name; errors list what exists', async () => {
    const dir = freshDir();
    await writeSnapshot(dir, [
      ...STANDARD,
      { uid: 'other', name: 'Other counter', parallelism: 1, keyed: { count: { entries: [['x', 1]] } } },
      { name: 'No uid', parallelism: 1, lists: { buffer: { mode: 'SPLIT_DISTRIBUTE', perSubtask: [[1, 2]] } } },
    ]);
    assert.equal(findOperator(dir, 'counter').uid, 'counter');
    assert.equal(findOperator(dir, hash128('other')).uid, 'other');
    assert.equal(findOperator(dir, hash128('other').toUpperCase()).uid, 'other');
    assert.equal(findOperator(dir, 'No uid').uid, undefined);
    assert.equal(resolveDumpTarget(dir, 'count', 'other').operator.uid, 'other');
    assert.equal(resolveDumpTarget(dir, 'buffer').operator.name, 'No uid');

    assert.throws(() => resolveDumpTarget(dir, 'count'), flinkError('invalid-argument', /several operators.*--operator.*counter.*other/));
    assert.throws(() => resolveDumpTarget(dir, 'nope'), flinkError('not-found', /No state 'nope'.*src: offsets \(SPLIT_DISTRIBUTE\), epochs \(UNION\); counter: count \(keyed value\), seen \(keyed value\); other: count.*[0-9a-f]{32}: buffer/));
    assert.throws(() => resolveDumpTarget(dir, 'offsets', 'counter'), flinkError('not-found', /No state 'offsets'.*of operator counter.*count/));
    assert.throws(() => resolveDumpTarget(dir, 'count', 'missing'), flinkError('not-found', /No operator 'missing'.*src.*counter.*other.*no uid/));
  });

  test('a real heap backend snapshot: list, map and TTL state dump as the user\'s values, timestamps beside them', async () => {
    const clock = { now: 1_700_000_000_000, currentTimestamp() { return this.now; } };
    const backend = new HeapKeyedStateBackend(new KeyGroupRange(0, 127), 128, { ttlTimeProvider: clock });
    const ttl = StateTtlConfig.newBuilder(60_000).build();
    const value = new ValueStateDescriptor<number>('v');
    value.enableTimeToLive(ttl);
    const list = new ListStateDescriptor<string>('l');
    const map = new MapStateDescriptor<string, bigint>('m');
    map.enableTimeToLive(ttl);
    for (const [i, k] of ['a', 'b', 'c'].entries()) {
      clock.now += 1000;
      backend.setCurrentKey(k);
      backend.getState(value).update(i);
      backend.getListState(list).add(`${k}1`);
      backend.getListState(list).add(`${k}2`);
      backend.getMapState(map).put('x', BigInt(i));
    }
    const w = new StateFileWriter();
    await backend.snapshot()(w);
    const operatorStateOffset = w.size;
    w.writeOperatorState({});
    const dir = freshDir();
    const file = 'keyed-0';
    const { size, crc32 } = await w.finish(join(dir, file));
    writeMetadataAtomically(dir, {
      formatVersion: METADATA_FORMAT_VERSION, jobId: 'f'.repeat(32), jobName: 'kinds', checkpointId: 1, kind: 'CHECKPOINT', format: 'NATIVE',
      triggerTimestamp: 1, completionTimestamp: 2, maxParallelism: 128,
      operators: [{
        operatorId: hash128('kinds'), uid: 'kinds', name: 'Kinds', parallelism: 1, maxParallelism: 128,
        subtasks: [{
          subtask: 0,
          state: {
            file, size, crc32, keyGroupRange: [0, 127], keyGroupOffsets: w.keyGroupOffsets, operatorStateOffset,
            keyedStates: backend.stateKinds, operatorStates: {}, keyedEntries: w.keyedEntries,
          },
        }],
      }],
    });
    const s = inspectSnapshot(dir);
    assert.deepEqual(s.operators[0].states.map((x) => [x.name, x.kind, x.entries]), [['l', 'list', 3], ['m', 'map', 3], ['v', 'value', 3]]);
    const byKey = (name: string) => new Map((collect(dumpState(dir, resolveDumpTarget(dir, name))) as KeyedDumpEntry[]).map((e) => [e.key, e]));
    const t = (i: number) => 1_700_000_000_000 + 1000 * (i + 1);
    const v = byKey('v');
    assert.deepEqual([...v.keys()].sort(), ['a', 'b', 'c']);
    assert.deepEqual([v.get('b')!.value, v.get('b')!.lastAccessTimestamp], [1, t(1)]);
    const l = byKey('l');
    assert.deepEqual(l.get('c')!.value, ['c1', 'c2']);
    assert.equal(l.get('c')!.lastAccessTimestamp, undefined, 'no TTL, no timestamps');
    const m = byKey('m');
    assert.deepEqual(m.get('a')!.value, new Map([['x', 0n]]));
    assert.deepEqual(m.get('a')!.lastAccessTimestamp, new Map([['x', t(0)]]));
    assert.deepEqual(JSON.parse(toReadableJson(m.get('c'))), {
      key: 'c', namespace: null, value: { $map: [['x', { $bigint: '2' }]] }, subtask: 0, lastAccessTimestamp: { $map: [['x', t(2)]] },
    });
  });

  test('values written with a user serializer dump as their bytes, marked serialized', async () => {
    const dir = freshDir();
    const w = new StateFileWriter();
    for (let kg = 0; kg < 128; kg++) {
      w.beginKeyGroup();
      if (kg === assignToKeyGroup('k', 128)) {
        const flat: unknown[] & { format?: object } = ['k', new Uint8Array([1, 2, 3])];
        flat.format = { ser: true };
        w.writeKeyedChunk('s', flat);
      }
      w.endSection();
    }
    const operatorStateOffset = w.size;
    w.writeOperatorState({});
    const { size, crc32 } = await w.finish(join(dir, 'f'));
    writeMetadataAtomically(dir, {
      formatVersion: METADATA_FORMAT_VERSION, jobId: 'f'.repeat(32), jobName: 'ser', checkpointId: 1, kind: 'SAVEPOINT', format: 'CANONICAL',
      triggerTimestamp: 1, completionTimestamp: 2, maxParallelism: 128,
      operators: [{
        operatorId: hash128('ser'), uid: 'ser', name: 'Ser', parallelism: 1, maxParallelism: 128,
        subtasks: [{
          subtask: 0,
          state: {
            file: 'f', size, crc32, keyGroupRange: [0, 127], keyGroupOffsets: w.keyGroupOffsets, operatorStateOffset,
            keyedStates: { s: 'value' }, operatorStates: {}, keyedEntries: 1,
          },
        }],
      }],
    });
    const [line] = collect(dumpState(dir, resolveDumpTarget(dir, 's'))).map(toReadableJson);
    assert.deepEqual(JSON.parse(line), { key: 'k', namespace: null, value: { $bytes: 'AQID' }, subtask: 0, serialized: true });
  });

  test('verifyDumpTarget checks the operator\'s files; dumping a damaged file fails before it yields', async () => {
    const { dir, md } = await standardSnapshot();
    const file = md.operators[1].subtasks[0].state.file;
    const bytes = readFileSync(join(dir, file));
    bytes[20] ^= 0xff;
    writeFileSync(join(dir, file), bytes);
    const target = resolveDumpTarget(dir, 'count');
    assert.throws(() => verifyDumpTarget(dir, target), flinkError('restore', new RegExp(file)));
    assert.throws(() => dumpState(dir, target).next(), flinkError('restore', new RegExp(file)));
    // Other operators' files are intact: their state can still be dumped.
    assert.equal(collect(dumpState(dir, resolveDumpTarget(dir, 'offsets'))).length, 3);
  });
});

describe('readable JSON', () => {
  test('values JSON has no form for become tagged objects', () => {
    const value = {
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([[1, 'a'], [{ k: 2 }, new Set([3n])]]),
      date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
      bad: new Date(Number.NaN),
      bytes: new Uint8Array([1, 2, 255]),
      view: new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2),
      buffer: new Uint8Array([104, 105]).buffer,
      floats: new Float64Array([1.5, Number.NaN]),
      longs: new BigInt64Array([-1n]),
      nums: [Number.NaN, Infinity, -Infinity, -0, 1],
      missing: undefined,
      re: /a+b/gi,
      err: new RangeError('too far'),
      nested: [[null, 'ok', true]],
    };
    assert.deepEqual(JSON.parse(toReadableJson(value)), {
      big: { $bigint: '12345678901234567890' },
      map: { $map: [[1, 'a'], [{ k: 2 }, { $set: [{ $bigint: '3' }] }]] },
      date: { $date: '2024-01-02T03:04:05.006Z' },
      bad: { $date: null },
      bytes: { $bytes: 'AQL/' },
      view: { $bytes: Buffer.from([8, 7]).toString('base64') },
      buffer: { $bytes: 'aGk=' },
      floats: { $typedArray: 'Float64Array', values: [1.5, { $number: 'NaN' }] },
      longs: { $typedArray: 'BigInt64Array', values: [{ $bigint: '-1' }] },
      nums: [{ $number: 'NaN' }, { $number: 'Infinity' }, { $number: '-Infinity' }, 0, 1],
      missing: { $undefined: true },
      re: { $regexp: '/a+b/gi' },
      err: { $error: { name: 'RangeError', message: 'too far' } },
      nested: [[null, 'ok', true]],
    });
    assert.equal(toReadableJson(5n), '{"$bigint":"5"}');
    assert.equal(toReadableJson(new Date(0)), '{"$date":"1970-01-01T00:00:00.000Z"}');
    assert.equal(toReadableJson('plain'), '"plain"');
    assert.equal(JSON.stringify({ a: [new Set([1])] }, readableJsonReplacer), '{"a":[{"$set":[1]}]}');
  });

  test('a dumped line is one line of JSON with the entry fields', async () => {
    const { dir } = await standardSnapshot();
    const lines = [...dumpState(dir, resolveDumpTarget(dir, 'seen'))].flat().map(toReadableJson);
    for (const l of lines) {
      assert.doesNotMatch(l, /\n/);
      const o = JSON.parse(l) as { key: string; namespace: null; value: { at: { $date: string }; tags: { $set: unknown[] } }; subtask: number };
      assert.match(o.key, /^key-\d+$/);
      assert.equal(o.namespace, null);
      assert.match(o.value.at.$date, /^2023-11-14T22:13:20\.0\d\dZ$/);
      assert.equal(o.value.tags.$set[0], 'a');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Restore dry run: real job programs loaded in capture mode.

const jobsDir = freshDir('jobs');
const JOB = join(jobsDir, 'CountingJob.ts');
writeFileSync(JOB, `
import { KeyedProcessFunction, ParameterTool, StreamExecutionEnvironment, ValueStateDescriptor } from 'flink-ts';

class Counter extends KeyedProcessFunction<string, number, string> {
  private count: any;
  override open() { this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('count')); }
  processElement(n: number, ctx: any, out: any) {
    const c = (this.count.value() ?? 0) + 1;
    this.count.update(c);
    out.collect(ctx.getCurrentKey() + ',' + c);
  }
}

const params = ParameterTool.fromArgs(process.argv.slice(2));
const env = StreamExecutionEnvironment.getExecutionEnvironment();
if (params.has('max-parallelism')) env.setMaxParallelism(params.getInt('max-parallelism', 128));
(globalThis as any).__countingJobArgs = process.argv.slice(2);
const src = env.fromSequence(0, 1000).uid('src');
const counted = params.has('without-counter')
  ? src.map((n: number) => 'n' + n).name('Format')
  : src.keyBy((n: number) => 'key-' + (n % 50)).process(new Counter()).name('Counter').uid(params.get('counter-uid', 'counter'));
counted.map((s: string) => s.toUpperCase()).name('Upper').print();
await env.execute('Counting job');
`);

const config = (over: Record<string, string> = {}) => Configuration.fromMap({ 'parallelism.default': '2', 'taskmanager.numberOfTaskSlots': '4', ...over });

describe('restore dry run', () => {
  test('captureJobGraph builds the graph run would submit, without running it, and restores argv', async () => {
    const argv = [...process.argv];
    const { streamGraph, jobGraph } = await captureJobGraph(JOB, ['--answer', '42'], config({ 'parallelism.default': '3' }));
    assert.deepEqual(process.argv, argv, 'process.argv is put back');
    assert.deepEqual((globalThis as { __countingJobArgs?: string[] }).__countingJobArgs, ['--answer', '42'], 'the program saw its arguments');
    assert.equal(jobGraph.jobName, 'Counting job');
    assert.ok(streamGraph.nodes.length >= 4);
    assert.deepEqual(jobGraph.vertices.map((v) => v.parallelism), [3, 3]);
    assert.equal(jobGraph.maxParallelism, 128);
  });

  test('same program, same parallelism: everything maps by uid, key groups unchanged, exit-0 verdict', async () => {
    const { dir } = await standardSnapshot();
    const plan = await dryRunRestore({ snapshot: dir, jobFile: JOB, config: config() });
    assert.equal(plan.result, 'RESTORABLE');
    assert.equal(plan.restorable, true);
    assert.equal(plan.error, undefined);
    assert.match(plan.verdict, /run -s would restore the state of every operator/);
    assert.deepEqual(plan.operators.map((o) => [o.uid, o.status, o.matchedBy, o.target?.uid]), [['src', 'MAPPED', 'uid', 'src'], ['counter', 'MAPPED', 'uid', 'counter']]);
    const counter = plan.operators[1];
    assert.equal(counter.target!.keyed, true);
    assert.equal(counter.keyGroups!.changed, false);
    assert.deepEqual(counter.keyGroups!.new.map((n) => n.range), [[0, 63], [64, 127]]);
    assert.deepEqual(counter.keyGroups!.new.map((n) => n.from), [[{ subtask: 0, range: [0, 63] }], [{ subtask: 1, range: [64, 127] }]]);
    assert.deepEqual(counter.keyGroups!.new.map((n) => n.entries), counter.keyGroups!.old.map((o) => o.entries));
    assert.deepEqual(plan.newOperators.map((o) => [o.name, o.state]), [
      ['Source: Sequence Source', 'restored'], ['Counter', 'restored'], ['Upper', 'empty'], ['Print to Std. Out', 'empty'],
    ]);
    // Unchanged parallelism: each source subtask gets its own list back.
    assert.deepEqual(plan.operators[0].operatorState, [
      { name: 'epochs', mode: 'UNION', entries: 2, perNewSubtask: [2, 2] },
      { name: 'offsets', mode: 'SPLIT_DISTRIBUTE', entries: 3, perNewSubtask: [2, 1] },
    ]);
    assert.deepEqual(plan.warnings, []);
  });

  test('a new parallelism splits the key groups: old and new ranges, who reads what, entries per new subtask', async () => {
    const { dir } = await standardSnapshot();
    const plan = await dryRunRestore({ snapshot: dir, jobFile: JOB, config: config({ 'parallelism.default': '3' }) });
    assert.equal(plan.result, 'RESTORABLE');
    const kg = plan.operators[1].keyGroups!;
    assert.deepEqual([kg.maxParallelism, kg.oldParallelism, kg.newParallelism, kg.changed], [128, 2, 3, true]);
    assert.deepEqual(kg.old.map((o) => o.range), [[0, 63], [64, 127]]);
    assert.deepEqual(kg.new.map((n) => n.range), [0, 1, 2].map((j) => computeKeyGroupRangeForOperatorIndex(128, 3, j).toJSON()));
    assert.deepEqual(kg.new.map((n) => n.from), [
      [{ subtask: 0, range: [0, 42] }],
      [{ subtask: 0, range: [43, 63] }, { subtask: 1, range: [64, 85] }],
      [{ subtask: 1, range: [86, 127] }],
    ]);
    assert.equal(kg.new.reduce((n, x) => n + x.entries, 0), 70, 'every entry lands in exactly one new subtask');
    const expected = [0, 0, 0];
    for (const [k] of [...COUNT_ENTRIES, ...SEEN_ENTRIES]) expected[computeKeyGroupRangeForOperatorIndex(128, 3, 0).contains(assignToKeyGroup(k, 128)) ? 0 : computeKeyGroupRangeForOperatorIndex(128, 3, 1).contains(assignToKeyGroup(k, 128)) ? 1 : 2]++;
    assert.deepEqual(kg.new.map((n) => n.entries), expected);
    assert.equal(kg.new.reduce((n, x) => n + x.bytes, 0), kg.old.reduce((n, x) => n + x.bytes, 0));
    // Rescaled operator state: an even split of the 3 offsets, UNION everywhere.
    assert.deepEqual(plan.operators[0].operatorState!.map((s) => s.perNewSubtask), [[2, 2, 2], [1, 1, 1]]);
  });

  test('state without an operator in the program: DROPPED, needs -n (the error run -s gives); with -n restorable', async () => {
    const { dir } = await standardSnapshot();
    const plan = await dryRunRestore({ snapshot: dir, jobFile: JOB, programArgs: ['--without-counter'], config: config() });
    assert.equal(plan.result, 'NEEDS_ALLOW_NON_RESTORED_STATE');
    assert.equal(plan.restorable, false);
    assert.deepEqual(plan.operators.map((o) => [o.uid, o.status]), [['src', 'MAPPED'], ['counter', 'DROPPED']]);
    assert.equal(plan.operators[1].target, undefined);
    assert.equal(plan.error?.kind, 'restore');
    assert.match(plan.error!.message, /Cannot map checkpoint\/savepoint state for operator\(s\) 'Counter' \(uid: counter.*allowNonRestoredState/);
    assert.match(plan.verdict, /run -s would fail.*'Counter' \(uid counter\).*-n\/--allowNonRestoredState/);
    assert.deepEqual(plan.newOperators.filter((o) => o.state === 'empty').map((o) => o.name), ['Format', 'Upper', 'Print to Std. Out']);

    const allowed = await dryRunRestore({ snapshot: dir, jobFile: JOB, programArgs: ['--without-counter'], config: config(), allowNonRestoredState: true });
    assert.equal(allowed.result, 'RESTORABLE');
    assert.equal(allowed.restorable, true);
    assert.equal(allowed.operators[1].status, 'DROPPED');
    assert.match(allowed.verdict, /run -s -n would restore; the state of 'Counter' \(uid counter\) would be dropped/);
  });

  test('a changed max parallelism is reported as the result, with assignState\'s error', async () => {
    const { dir } = await standardSnapshot();
    for (const [args, cfg] of [[['--max-parallelism', '256'], {}], [[], { 'pipeline.max-parallelism': '64' }]] as const) {
      const plan = await dryRunRestore({ snapshot: dir, jobFile: JOB, programArgs: [...args], config: config(cfg), allowNonRestoredState: true });
      assert.equal(plan.result, 'MAX_PARALLELISM_MISMATCH');
      assert.equal(plan.restorable, false);
      const mp = args.length > 0 ? 256 : 64;
      assert.deepEqual(plan.operators[1].maxParallelismConflict, { snapshot: 128, job: mp });
      assert.equal(plan.operators[1].keyGroups, undefined);
      assert.equal(plan.operators[0].maxParallelismConflict, undefined, 'operator state has no key groups');
      assert.match(plan.error!.message, new RegExp(`max parallelism \\(${mp}\\).*different from the max parallelism \\(128\\).*Set the max parallelism back to 128`));
      assert.match(plan.verdict, /would fail: the max parallelism changed/);
    }
  });

  test('operators without uid map by their generated id; a different uid does not map', async () => {
    const { jobGraph } = await captureJobGraph(JOB, ['--counter-uid', 'renamed'], config());
    const renamed = jobGraph.vertices.flatMap((v) => v.operators).find((o) => o.name === 'Counter')!;
    assert.equal(renamed.operatorId, hash128('renamed'));
    const { dir } = await standardSnapshot();
    const plan = await dryRunRestore({ snapshot: dir, jobFile: JOB, programArgs: ['--counter-uid', 'renamed'], config: config() });
    assert.equal(plan.operators[1].status, 'DROPPED');
    assert.deepEqual(plan.newOperators.find((o) => o.name === 'Counter')!.state, 'empty');

    // A snapshot operator whose id is the generated id of 'Upper' (no uid) maps by operator id.
    const upper = jobGraph.vertices.flatMap((v) => v.operators).find((o) => o.name === 'Upper')!;
    const dir2 = freshDir();
    const md = await writeSnapshot(dir2, [{ name: 'Upper', parallelism: 2, lists: { buf: { mode: 'UNION', perSubtask: [[1], []] } } }]);
    md.operators[0].operatorId = upper.operatorId;
    writeMetadataAtomically(dir2, md);
    const byId = await dryRunRestore({ snapshot: dir2, jobFile: JOB, programArgs: ['--counter-uid', 'renamed'], config: config() });
    assert.deepEqual([byId.operators[0].status, byId.operators[0].matchedBy, byId.result], ['MAPPED', 'operator id', 'RESTORABLE']);
  });

  test('keyed state mapped onto an operator without keyed input, and too few slots, are warnings', async () => {
    const dir = freshDir();
    // 'src' is the source in the program, but here it holds keyed state.
    await writeSnapshot(dir, [{ uid: 'src', name: 'Keyed?', parallelism: 2, keyed: { count: { entries: [['a', 1]] } } }]);
    const plan = await dryRunRestore({ snapshot: dir, jobFile: JOB, config: config({ 'parallelism.default': '6' }) });
    assert.equal(plan.result, 'RESTORABLE');
    assert.equal(plan.warnings.length, 2, plan.warnings.join('\n'));
    assert.match(plan.warnings[0], /keyed state \[count\].*no keyed input.*would not be restored/);
    assert.match(plan.warnings[1], /needs 6 task slots.*numberOfTaskSlots is 4/);
  });

  test('a damaged snapshot fails the dry run before the program is loaded; a bad program is the program\'s error', async () => {
    const { dir, md } = await standardSnapshot();
    unlinkSync(join(dir, md.operators[0].subtasks[0].state.file));
    await assert.rejects(dryRunRestore({ snapshot: dir, jobFile: join(jobsDir, 'nope.ts'), config: config() }), flinkError('restore', /missing/));
    const good = (await standardSnapshot()).dir;
    await assert.rejects(dryRunRestore({ snapshot: good, jobFile: join(jobsDir, 'nope.ts'), config: config() }), flinkError('not-found', /nope\.ts/));
    const noExecute = join(jobsDir, 'NoExecute.ts');
    writeFileSync(noExecute, `import { StreamExecutionEnvironment } from 'flink-ts';\nStreamExecutionEnvironment.getExecutionEnvironment().fromSequence(1, 2).print();\n`);
    await assert.rejects(dryRunRestore({ snapshot: good, jobFile: noExecute, config: config() }), flinkError('invalid-argument', /never called env\.execute/));
  });
});
