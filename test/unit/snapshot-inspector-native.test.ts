import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSnapshot, writeMetadataAtomically, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';
import { dumpState, inspectSnapshot, resolveDumpTarget, type KeyedDumpEntry } from '../../src/tools/SnapshotInspector.js';
import { splitKeyGroups } from '../../src/tools/RestoreDryRun.js';
import { MapStateDescriptor, ValueStateDescriptor } from '../../src/api/state.js';
import { hash128 } from '../../src/core/ids.js';
import { EmbeddedKeyedStateBackend } from '../../src/state/EmbeddedKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { StateFileWriter } from '../../src/state/StateFile.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';

// `flink state`, `--dump` and `--dry-run` on what the embedded backend writes: native files and incremental chains.

const tmp = mkdtempSync(join(tmpdir(), 'flink-ts-inspect-native-'));
const backends: EmbeddedKeyedStateBackend[] = [];
after(() => {
  for (const b of backends) b.dispose();
  rmSync(tmp, { recursive: true, force: true });
});
const MAXP = 128;
const count = new ValueStateDescriptor<number>('count');
const tags = new MapStateDescriptor<string, number>('tags');
let n = 0;

function embedded(incremental: boolean): EmbeddedKeyedStateBackend {
  const b = new EmbeddedKeyedStateBackend(new KeyGroupRange(0, MAXP - 1), MAXP, { localDir: join(tmp, `local-${++n}`), incremental, writeCacheEntries: 10 });
  backends.push(b);
  return b;
}

/** Takes a snapshot and writes its `_metadata` as the coordinator would: one operator 'counter', one subtask. */
async function snapshot(b: EmbeddedKeyedStateBackend, id: number, format: 'CANONICAL' | 'NATIVE', jobDir: string): Promise<string> {
  const location = join(jobDir, `chk-${id}`);
  const sharedDir = join(jobDir, 'shared');
  mkdirSync(location, { recursive: true });
  mkdirSync(sharedDir, { recursive: true });
  const s = b.snapshotKeyed({ checkpointId: id, location, sharedDir: format === 'NATIVE' ? sharedDir : undefined, format, filePrefix: 'op-0' });
  const kinds = b.stateKinds;
  const w = new StateFileWriter();
  if (s.write) await s.write(w);
  const files = s.files ? await s.files() : undefined;
  const operatorStateOffset = w.size;
  w.writeOperatorState({});
  const file = `state-${++n}`;
  const { size, crc32 } = await w.finish(join(location, file));
  const handle: StateFileHandle = {
    file, size, crc32, keyGroupRange: [0, MAXP - 1], keyGroupOffsets: files ? undefined : w.keyGroupOffsets, operatorStateOffset,
    keyedStates: kinds, operatorStates: {}, keyedEntries: w.keyedEntries, ...(files ? { keyedStateFiles: files } : {}),
  };
  const md: CheckpointMetadata = {
    formatVersion: 1, jobId: 'a'.repeat(32), jobName: 'native', checkpointId: id, kind: 'CHECKPOINT', format, triggerTimestamp: 1,
    completionTimestamp: 2, maxParallelism: MAXP,
    operators: [{ operatorId: hash128('counter'), uid: 'counter', name: 'Counter', parallelism: 1, maxParallelism: MAXP, subtasks: [{ subtask: 0, state: handle }] }],
  };
  writeMetadataAtomically(location, md);
  b.notifyCheckpointComplete(id);
  return location;
}

function put(b: EmbeddedKeyedStateBackend, key: string, v: number | undefined): void {
  b.setCurrentKey(key);
  if (v === undefined) b.getState(count).clear();
  else b.getState(count).update(v);
  b.getMapState(tags).put(`t${v ?? 0}`, v ?? 0);
}

/** The entries `flink state --dump count` shows, as key → value. */
function dumped(dir: string): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  for (const batch of dumpState(dir, resolveDumpTarget(dir, 'count'))) for (const e of batch as KeyedDumpEntry[]) out.set(e.key, e.value);
  return out;
}

const entriesOf = (dir: string, state: string) => inspectSnapshot(dir).operators[0].states.find((s) => s.name === state)?.entries;

describe('inspecting the embedded backend\'s snapshots', () => {
  test('native full files and an incremental chain show the same entries as a canonical snapshot of the same state', async () => {
    const b = embedded(true);
    const job = join(tmp, 'job-inc');
    for (let k = 0; k < 50; k++) put(b, `key-${k}`, k);
    const first = await snapshot(b, 1, 'NATIVE', job);
    for (let k = 0; k < 10; k++) put(b, `key-${k}`, 100 + k);
    for (let k = 40; k < 50; k++) put(b, `key-${k}`, undefined);
    put(b, 'key-new', 7);
    const chained = await snapshot(b, 2, 'NATIVE', job);
    const canonical = await snapshot(b, 3, 'CANONICAL', join(tmp, 'job-canonical'));

    const md2 = inspectSnapshot(chained);
    assert.ok((md2.operators[0].subtasks[0].keyedBytes) > 0, 'the chain\'s keyed bytes are counted');

    const expected = new Map<unknown, unknown>();
    for (let k = 0; k < 40; k++) expected.set(`key-${k}`, k < 10 ? 100 + k : k);
    expected.set('key-new', 7);
    assert.deepEqual(dumped(canonical), expected, 'canonical');
    assert.deepEqual(dumped(chained), expected, 'incremental chain: a full file, then a delta with updates and removals');
    assert.equal(entriesOf(chained, 'count'), 41);
    assert.equal(entriesOf(chained, 'tags'), entriesOf(canonical, 'tags'));

    const firstExpected = new Map<unknown, unknown>(Array.from({ length: 50 }, (_, k) => [`key-${k}`, k]));
    assert.deepEqual(dumped(first), firstExpected, 'native full file');
    assert.equal(entriesOf(first, 'count'), 50);
  });

  test('a native checkpoint without increments, and the dry run\'s key-group split of a chain', async () => {
    const b = embedded(false);
    for (let k = 0; k < 30; k++) put(b, `k${k}`, k);
    const dir = await snapshot(b, 1, 'NATIVE', join(tmp, 'job-full'));
    assert.equal(entriesOf(dir, 'count'), 30);
    assert.equal(dumped(dir).size, 30);

    const inc = embedded(true);
    const job = join(tmp, 'job-split');
    for (let k = 0; k < 60; k++) put(inc, `k${k}`, k);
    await snapshot(inc, 1, 'NATIVE', job);
    put(inc, 'k1', 1000);
    const chained = await snapshot(inc, 2, 'NATIVE', job);
    const sum = inspectSnapshot(chained, { perKeyGroup: true });
    const split = splitKeyGroups(loadSnapshot(chained).metadata.operators[0], sum.operators[0], 2);
    assert.equal(split.new.reduce((s, x) => s + x.entries, 0), 120, 'count and tags of 60 keys land in the new subtasks');
    assert.ok(split.new.every((x) => x.bytes > 0), 'each new subtask reads some bytes of the chain');
  });
});
