/**
 * State files written on the asynchronous-operations thread (src/runtime/AsyncOperationsThread.ts): the same
 * bytes as on the task thread, rows handed over without copies that the live state never misses, a file that
 * fails to write fails its snapshot only.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListStateDescriptor, ValueStateDescriptor } from '../../src/api/state.js';
import { AsyncOperationsThread } from '../../src/runtime/AsyncOperationsThread.js';
import { AsyncStateFileWriter } from '../../src/runtime/AsyncStateFileWriter.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { readKeyGroups, readOperatorState, StateFileWriter, verifyStateFile, type StateFileOutput } from '../../src/state/StateFile.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';

const NATIVE = { checkpointId: 1, location: '', format: 'NATIVE', filePrefix: '' } as const;
const range = new KeyGroupRange(0, 7);
const dir = mkdtempSync(join(tmpdir(), 'flink-ts-async-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const keyOf = (i: number): string | number => (i % 10 === 0 ? i : `key-${i}`);

/** A backend with binary rows (a flat record, numbers, number keys) and a state of JS objects (a list). */
function backend(keys: number) {
  const b = new HeapKeyedStateBackend(range, 8);
  const records = b.getState(new ValueStateDescriptor<{ key: string | number; sum: number }>('record'));
  const counts = b.getState(new ValueStateDescriptor<number>('count'));
  const lists = b.getListState(new ListStateDescriptor<string>('list'));
  for (let i = 0; i < keys; i++) {
    const k = keyOf(i);
    b.setCurrentKey(k);
    records.update({ key: k, sum: i }); // the key as a field: still rows
    counts.update(i * 0.5);
    if (i % 7 === 0) lists.add(`x${i}`);
  }
  return { b, records, counts, lists };
}

async function writeTo(w: StateFileOutput, write: (w: StateFileOutput) => Promise<void>, path: string) {
  await write(w);
  w.writeOperatorState({ offsets: { mode: 'SPLIT_DISTRIBUTE', entries: [1, 2, 3] } });
  const r = await w.finish(path);
  const handle: StateFileHandle = {
    file: path.slice(dir.length + 1), size: r.size, crc32: r.crc32, keyGroupRange: range.toJSON(), keyGroupOffsets: r.keyGroupOffsets,
    operatorStateOffset: r.operatorStateOffset, keyedStates: {}, operatorStates: {}, keyedEntries: w.keyedEntries,
  };
  return { bytes: verifyStateFile(dir, handle), handle };
}

function contents(f: { bytes: Buffer; handle: StateFileHandle }): Map<string, Map<unknown, unknown>> {
  const got = new Map<string, Map<unknown, unknown>>();
  readKeyGroups(f.bytes, f.handle, range, (name, _kg, flat) => {
    const m = got.get(name) ?? new Map();
    got.set(name, m);
    for (let i = 0; i < flat.length; i += 2) m.set(flat[i], flat[i + 1]);
  });
  return got;
}

describe('state files on the asynchronous-operations thread', () => {
  test('the same bytes, offsets, checksum and entry count as the task thread writes', async () => {
    const { b } = backend(20_000);
    const here = await writeTo(new StateFileWriter(), b.snapshotKeyed(NATIVE).write!, join(dir, 'here'));
    const there = await writeTo(new AsyncStateFileWriter(AsyncOperationsThread.get()), b.snapshotKeyed(NATIVE).write!, join(dir, 'there'));
    assert.ok(here.bytes.equals(there.bytes), 'byte for byte');
    assert.deepEqual(there.handle, { ...here.handle, file: 'there' });
    assert.equal(there.handle.keyedEntries, 20_000 * 2 + Math.ceil(20_000 / 7));
    assert.deepEqual(readOperatorState(there.bytes, there.handle), { offsets: { mode: 'SPLIT_DISTRIBUTE', entries: [1, 2, 3] } });
  });

  test('two snapshots under way at once, each with its barrier\'s state; the rows handed over leave the live state whole', async () => {
    const { b, records, counts } = backend(5_000);
    const first = b.snapshotKeyed(NATIVE).write!;
    for (let i = 0; i < 5_000; i += 2) { // every group changes: its rows are copied for the first snapshot
      b.setCurrentKey(keyOf(i));
      counts.update(-1);
    }
    const second = b.snapshotKeyed({ ...NATIVE, checkpointId: 2 }).write!;
    for (let i = 0; i < 5_000; i += 3) { // copies handed to the second only; the first's copy was taken before
      b.setCurrentKey(keyOf(i));
      records.update({ key: keyOf(i), sum: -i });
    }
    const thread = AsyncOperationsThread.get();
    const [f1, f2] = await Promise.all([
      writeTo(new AsyncStateFileWriter(thread), first, join(dir, 'first')),
      writeTo(new AsyncStateFileWriter(thread), second, join(dir, 'second')),
    ]);
    const c1 = contents(f1);
    const c2 = contents(f2);
    for (let i = 0; i < 5_000; i++) {
      const k = keyOf(i);
      assert.equal(c1.get('count')!.get(k), i * 0.5);
      assert.equal(c2.get('count')!.get(k), i % 2 === 0 ? -1 : i * 0.5);
      assert.deepEqual(c1.get('record')!.get(k), { key: k, sum: i });
      assert.deepEqual(c2.get('record')!.get(k), { key: k, sum: i });
      // The live state, after its buffers' copies crossed to the other thread.
      b.setCurrentKey(k);
      assert.equal(counts.value(), i % 2 === 0 ? -1 : i * 0.5);
      assert.deepEqual(records.value(), i % 3 === 0 ? { key: k, sum: -i } : { key: k, sum: i });
    }
  });

  test('a thread that dies fails the files under way; a file begun on it is never finished on the next thread', async (t) => {
    const { b } = backend(2_000);
    const thread = new AsyncOperationsThread();
    t.after(() => thread.terminate());
    const warm = await writeTo(new AsyncStateFileWriter(thread), b.snapshotKeyed(NATIVE).write!, join(dir, 'warm'));
    assert.equal(contents(warm).get('record')!.size, 2_000);
    const begun = new AsyncStateFileWriter(thread);
    await b.snapshotKeyed(NATIVE).write!(begun); // its parts are on the thread now
    await thread.terminate();
    // Either step would start a new thread that never saw this file's key groups: both refuse.
    const died = /asynchronous-operations thread failed while this state file was written/;
    assert.throws(() => begun.writeOperatorState({}), died);
    await assert.rejects(begun.finish(join(dir, 'begun')), died);
    assert.ok(!existsSync(join(dir, 'begun')), 'no file of a thread that died');
    const after = await writeTo(new AsyncStateFileWriter(thread), b.snapshotKeyed(NATIVE).write!, join(dir, 'after'));
    assert.ok(after.bytes.equals(warm.bytes), 'a new thread writes the next file whole');
  });

  test('a file that cannot be written fails that snapshot with the reason; the thread writes the next one', async () => {
    const { b } = backend(1_000);
    const taken = join(dir, 'taken');
    writeFileSync(taken, 'someone else\'s');
    const w = new AsyncStateFileWriter(AsyncOperationsThread.get());
    await assert.rejects(writeTo(w, b.snapshotKeyed(NATIVE).write!, taken), /EEXIST/);
    assert.equal(readFileSync(taken, 'utf8'), 'someone else\'s', 'nothing overwritten');
    const ok = await writeTo(new AsyncStateFileWriter(AsyncOperationsThread.get()), b.snapshotKeyed(NATIVE).write!, join(dir, 'next'));
    assert.equal(contents(ok).get('record')!.size, 1_000);
    assert.ok(!existsSync(join(dir, 'never')));
  });
});
