/**
 * The heap backend's checkpoint path (issue 13): columnar chunks, and a snapshot whose asynchronous part
 * runs while the task keeps mutating state is exactly the state at the barrier.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { ReducingStateDescriptor, ValueStateDescriptor } from '../../src/api/state.js';
import { isColumnar, packColumnar, unpackColumnar } from '../../src/state/ColumnarChunk.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { codecOf } from '../../src/state/StateCodec.js';
import { decodeKeyedChunk, readKeyGroups, StateFileWriter, type StateFileOutput } from '../../src/state/StateFile.js';
import { AsyncOperationsThread } from '../../src/runtime/AsyncOperationsThread.js';
import { AsyncStateFileWriter } from '../../src/runtime/AsyncStateFileWriter.js';
import { decode, encode } from '../../src/core/Serializer.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';

const rows = (values: unknown[], keyOf = (i: number): unknown => `k${i}`) => values.map((v, i) => ({ k: keyOf(i), v }));
const flatOf = (r: { k: unknown; v: unknown }[]) => r.flatMap((e) => [e.k, e.v]);

/** Packs, writes and reads back as a state file chunk does. */
function roundTrip(r: { k: unknown; v: unknown }[]): unknown[] | undefined {
  const packed = packColumnar(r, 0, r.length);
  if (!packed) return undefined;
  const w = new StateFileWriter();
  w.writeColumnarChunk('s', packed);
  const bytes = w.toBytes().bytes;
  const chunk = bytes.subarray(4, 4 + bytes.readUInt32BE(0));
  assert.ok(isColumnar(decode<[string, unknown]>(chunk)[1]), 'written in the columnar form');
  const [name, flat] = decodeKeyedChunk(chunk);
  assert.equal(name, 's');
  return flat;
}

describe('columnar chunks', () => {
  test('numbers round-trip exactly: integers, doubles, -0, NaN, infinities', () => {
    const ints = rows(Array.from({ length: 40 }, (_, i) => i * 1000 - 7));
    assert.deepEqual(roundTrip(ints), flatOf(ints));
    const special = [0.5, -0, NaN, Infinity, -Infinity, 2 ** 40, -(2 ** 31) - 1, Number.MIN_VALUE];
    const mixed = rows(Array.from({ length: 40 }, (_, i) => (i < special.length ? special[i] : i)));
    const back = roundTrip(mixed)!;
    for (let i = 0; i < mixed.length; i++) assert.ok(Object.is(back[i * 2 + 1], mixed[i].v), `value ${i}: ${String(mixed[i].v)}`);
    const negZero = rows(Array.from({ length: 20 }, (_, i) => (i === 3 ? -0 : i)));
    assert.ok(Object.is(roundTrip(negZero)![7], -0), 'an integer column keeps -0');
  });

  test('records of one shape: number, key, string, undefined and nested fields, in their order', () => {
    const r = rows(Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, sum: i * 1.5, name: `n${i % 3}`, emitted: undefined, nested: { a: [i] } })));
    const back = roundTrip(r)!;
    assert.deepEqual(back, flatOf(r));
    assert.deepEqual(Object.keys(back[1] as object), ['key', 'sum', 'name', 'emitted', 'nested'], 'field order kept');
    assert.ok('emitted' in (back[1] as object), 'an undefined field stays a field');
    // A field equal to the key in all but one entry is a value column, not the key column.
    const almost = rows(Array.from({ length: 30 }, (_, i) => ({ key: i === 7 ? 'other' : `k${i}` })));
    assert.deepEqual(roundTrip(almost), flatOf(almost));
    // Non-string keys.
    const numKeys = rows(Array.from({ length: 30 }, (_, i) => ({ id: i, v: -i })), (i) => i);
    assert.deepEqual(roundTrip(numKeys), flatOf(numKeys));
  });

  test('property: any chunk of numbers or of records of one shape reads back exactly as its rows', () => {
    const field = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(undefined), fc.boolean(), fc.constant(null), fc.bigInt(), fc.record({ a: fc.integer() }));
    const names = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), { minLength: 1, maxLength: 5 });
    const chunk = names.chain((shape) => fc.tuple(
      fc.constant(shape),
      fc.array(fc.tuple(fc.oneof(fc.string(), fc.integer()), fc.tuple(...shape.map(() => field))), { minLength: 16, maxLength: 60 }),
      fc.boolean(), fc.boolean(),
    ));
    fc.assert(fc.property(chunk, ([shape, entries, asNumbers, keyField]) => {
      const r = entries.map(([k, vals], i) => {
        if (asNumbers) return { k, v: typeof vals[0] === 'number' ? vals[0] : i };
        const v: Record<string, unknown> = {};
        shape.forEach((f, j) => (v[f] = keyField && j === 0 ? k : vals[j]));
        return { k, v };
      });
      const back = roundTrip(r);
      assert.ok(back, 'packed');
      // Exactly what the row form reads back as (V8's serializer, too, gives nested objects Object.prototype).
      assert.deepStrictEqual(back, decode(encode(flatOf(r))));
    }), { numRuns: 200 });
  });

  test('chunks that are not uniform stay rows', () => {
    const n = 30;
    const shapes = rows(Array.from({ length: n }, (_, i) => (i === 5 ? { b: 1, a: 2 } : { a: 1, b: 2 })));
    assert.equal(packColumnar(shapes, 0, n), undefined, 'another field order');
    const extra = rows(Array.from({ length: n }, (_, i) => (i === 5 ? { a: 1, b: 2, c: 3 } : { a: 1, b: 2 })));
    assert.equal(packColumnar(extra, 0, n), undefined, 'an extra field');
    const fewer = rows(Array.from({ length: n }, (_, i) => (i === 5 ? { a: 1 } : { a: 1, b: 2 })));
    assert.equal(packColumnar(fewer, 0, n), undefined, 'a missing field');
    class P { constructor(readonly x: number) {} }
    assert.equal(packColumnar(rows(Array.from({ length: n }, (_, i) => new P(i))), 0, n), undefined, 'class instances');
    assert.equal(packColumnar(rows(Array.from({ length: n }, (_, i) => (i === 9 ? '9' : i))), 0, n), undefined, 'a string among numbers');
    assert.equal(packColumnar(rows(Array.from({ length: n }, (_, i) => [i])), 0, n), undefined, 'arrays');
    assert.equal(packColumnar(rows(Array.from({ length: n }, (_, i) => ({ 0: i }))), 0, n), undefined, 'index-named fields');
    assert.equal(packColumnar(rows([1, 2, 3]), 0, 3), undefined, 'a small chunk');
    const tagged = unpackColumnar({ ...packColumnar(rows(Array.from({ length: n }, (_, i) => i)), 0, n)!, format: { ttl: true } });
    assert.deepEqual(tagged.format, { ttl: true }, 'the format tag travels');
  });
});

describe('copy-on-write copies', () => {
  const copy = codecOf(undefined).copy;
  test('a plain record is copied field by field, equal to structuredClone and not the same object', () => {
    const v = { key: 'k', sum: 3, emitted: undefined, big: 10n, neg: -0 };
    const c = copy(v) as typeof v;
    assert.notEqual(c, v);
    assert.deepEqual(c, structuredClone(v));
    assert.ok(Object.is(c.neg, -0));
    assert.deepEqual(Object.keys(c), Object.keys(v));
  });
  test('nested values, other classes and functions take structuredClone', () => {
    const nested = { a: { b: [1] } };
    const c = copy(nested) as typeof nested;
    assert.deepEqual(c, nested);
    assert.notEqual(c.a, nested.a, 'deep');
    const d = new Date(5);
    assert.deepEqual(copy(d), d);
    assert.throws(() => copy({ f: () => 1 }), /could not be cloned/, 'a function is rejected as structuredClone rejects it');
  });
});

describe('heap snapshot while the task mutates state', () => {
  /** Writes a snapshot's async part to bytes while `mutate(round)` runs between its yields; returns the rounds seen. */
  async function writeWhileMutating(write: (w: StateFileOutput) => Promise<void>, mutate: (round: number) => void, w: StateFileOutput = new StateFileWriter()) {
    let done = false;
    let rounds = 0;
    const running = write(w).finally(() => (done = true));
    // As the task does: records between the chunks of the asynchronous part, each batch on a later turn of the loop.
    while (!done) {
      mutate(rounds++);
      await new Promise((r) => setImmediate(r));
    }
    await running;
    w.writeOperatorState({});
    const { bytes, size, crc32, keyGroupOffsets, operatorStateOffset } = await w.toBytes();
    return { rounds, bytes, handle: { file: 'x', size, crc32, keyGroupRange: [0, 3], keyGroupOffsets, operatorStateOffset, keyedStates: {}, operatorStates: {}, keyedEntries: w.keyedEntries } as StateFileHandle };
  }

  for (const [via, writer] of [
    ['on the task thread', () => new StateFileWriter()],
    ['on the asynchronous-operations thread', () => new AsyncStateFileWriter(AsyncOperationsThread.get())],
  ] as const) test(`a checkpoint (columnar) holds exactly the state at the barrier, written ${via}`, async () => {
    const range = new KeyGroupRange(0, 3);
    const b = new HeapKeyedStateBackend(range, 4);
    const records = b.getState(new ValueStateDescriptor<{ key: string; sum: number; emitted?: number }>('record'));
    const counts = b.getState(new ValueStateDescriptor<number>('count'));
    // Mutates the accumulator in place, as Flink's examples do.
    const sums = b.getReducingState(new ReducingStateDescriptor<{ key: string; sum: number }>('sum', (a, x) => {
      a.sum += x.sum;
      return a;
    }));
    const K = 40_000; // ~10,000 per key group: several chunks each, so the async part yields many times
    const key = (i: number) => `key-${i}`;
    for (let i = 0; i < K; i++) {
      b.setCurrentKey(key(i));
      records.update({ key: key(i), sum: i, emitted: undefined });
      counts.update(i);
      sums.add({ key: key(i), sum: i });
    }
    const write = b.snapshotKeyed({ checkpointId: 1, location: '', format: 'NATIVE', filePrefix: '' }).write!;
    const { rounds, bytes, handle } = await writeWhileMutating(write, (round) => {
      // Every round touches every key: in-place mutation of a read value, update, add, clear, new keys.
      for (let i = 0; i < K; i++) {
        b.setCurrentKey(key(i));
        const r = records.value()!;
        if (i % 5 === 0) records.clear();
        else {
          r.sum = -1 - round; // in place, no update
          if (i % 2 === 0) records.update({ key: r.key, sum: r.sum, emitted: round });
        }
        counts.update(counts.value()! + 1);
        sums.add({ key: key(i), sum: 1_000_000 });
      }
      b.setCurrentKey(`new-${round}`);
      counts.update(-1);
    }, writer());
    assert.ok(rounds > 3, `the task mutated state while the snapshot was written (${rounds} rounds)`);
    assert.equal(crc32(bytes), handle.crc32, 'the checksum is the bytes\'');
    const got = new Map<string, Map<unknown, unknown>>();
    let columnar = 0;
    readKeyGroups(bytes, handle, range, (name, _kg, flat) => {
      const m = got.get(name) ?? new Map();
      got.set(name, m);
      for (let i = 0; i < flat.length; i += 2) {
        assert.ok(!m.has(flat[i]), `${name}: key ${String(flat[i])} written twice`);
        m.set(flat[i], flat[i + 1]);
      }
    });
    for (let at = handle.keyGroupOffsets![0]; at < handle.operatorStateOffset!;) {
      const len = bytes.readUInt32BE(at);
      if (len > 0 && isColumnar(decode<[string, unknown]>(bytes.subarray(at + 4, at + 4 + len))[1])) columnar++;
      at += 4 + len;
    }
    assert.ok(columnar >= 12, `chunks were written in the columnar form (${columnar})`);
    for (const name of ['record', 'count', 'sum']) assert.equal(got.get(name)?.size, K, `${name}: every key of the barrier, nothing later`);
    for (let i = 0; i < K; i++) {
      assert.deepEqual(got.get('record')!.get(key(i)), { key: key(i), sum: i, emitted: undefined }, `record of ${key(i)}`);
      assert.equal(got.get('count')!.get(key(i)), i, `count of ${key(i)}`);
      assert.deepEqual(got.get('sum')!.get(key(i)), { key: key(i), sum: i }, `sum of ${key(i)}`);
    }
    // ...and the live state went on.
    b.setCurrentKey(key(1));
    assert.equal(counts.value(), 1 + rounds);
    assert.equal(sums.get()!.sum, 1 + rounds * 1_000_000);
  });

  test('a snapshot released unwritten (its checkpoint declined first) leaves no copy-on-write behind', () => {
    const b = new HeapKeyedStateBackend(new KeyGroupRange(0, 3), 4);
    // Values with a nested array stay JS objects (binary rows hold flat records only): the object path's copy-on-write.
    const s = b.getState(new ValueStateDescriptor<{ n: number; tags: string[] }>('obj'));
    const stored = { a: { n: 1, tags: ['x'] }, b: { n: 2, tags: ['y'] } };
    for (const k of ['a', 'b'] as const) {
      b.setCurrentKey(k);
      s.update(stored[k]);
    }
    const snap = b.snapshotKeyed({ checkpointId: 1, location: '', format: 'NATIVE', filePrefix: '' });
    b.setCurrentKey('a');
    assert.notEqual(s.value(), stored.a, 'while the snapshot is pending, a value from before the barrier is read as a copy');
    snap.release!();
    b.setCurrentKey('b');
    assert.equal(s.value(), stored.b, 'released: the stored object again, as without a snapshot');
  });
});

describe('heap key groups without entry objects', () => {
  const opts = { checkpointId: 1, location: '', format: 'NATIVE', filePrefix: '' } as const;

  /** A backend's full snapshot as a state file: bytes and handle. */
  async function fileOf(b: HeapKeyedStateBackend, write = b.snapshotKeyed(opts).write!) {
    const w = new StateFileWriter();
    await write(w);
    const operatorStateOffset = w.size;
    w.writeOperatorState({});
    const { bytes, size, crc32 } = w.toBytes();
    return { bytes, handle: { file: 'x', size, crc32, keyGroupRange: b.keyGroupRange.toJSON(), keyGroupOffsets: w.keyGroupOffsets, operatorStateOffset, keyedStates: b.stateKinds, operatorStates: {}, keyedEntries: w.keyedEntries } as StateFileHandle };
  }

  function entries(f: Awaited<ReturnType<typeof fileOf>>, range: KeyGroupRange): [unknown, unknown][] {
    const out: [unknown, unknown][] = [];
    readKeyGroups(f.bytes, f.handle, range, (_name, _kg, flat) => {
      for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
    });
    return out.sort((a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0])));
  }

  test('structured keys are written as the user\'s keys, before and after a change during the snapshot', async () => {
    const range = new KeyGroupRange(0, 3);
    const b = new HeapKeyedStateBackend(range, 4);
    const s = b.getState(new ValueStateDescriptor<{ n: number }>('s'));
    const key = (i: number) => ({ user: i, region: i % 3 === 0 ? 'eu' : 'us' });
    for (let i = 0; i < 100; i++) {
      b.setCurrentKey(key(i));
      s.update({ n: i });
    }
    const write = b.snapshotKeyed(opts).write!;
    for (let i = 0; i < 100; i++) {
      b.setCurrentKey(key(i));
      if (i % 4 === 0) s.clear();
      else s.value()!.n = -i;
    }
    const f = await fileOf(b, write);
    const want = Array.from({ length: 100 }, (_, i) => [key(i), { n: i }] as [unknown, unknown]);
    assert.deepEqual(entries(f, range), want.sort((a, c) => JSON.stringify(a[0]).localeCompare(JSON.stringify(c[0]))));
    b.setCurrentKey(key(5));
    assert.deepEqual(s.value(), { n: -5 }, 'the live state went on');
  });

  test('restored values claimed by a descriptor while a snapshot runs are still written as restored', async () => {
    const range = new KeyGroupRange(0, 3);
    const src = new HeapKeyedStateBackend(range, 4);
    const desc = new ValueStateDescriptor<{ n: number }>('s');
    const s0 = src.getState(desc);
    for (let i = 0; i < 200; i++) {
      src.setCurrentKey(`k${i}`);
      s0.update({ n: i });
    }
    const restoredFrom = await fileOf(src);
    const b = new HeapKeyedStateBackend(range, 4);
    b.restore([restoredFrom]);
    for (let i = 0; i < 200; i++) b.setCurrentKey(`k${i}`); // every group decoded; no descriptor yet: held as restored chunks
    const write = b.snapshotKeyed(opts).write!;
    const s = b.getState(desc); // claims the restored chunks the snapshot is about to write
    for (let i = 0; i < 200; i++) {
      b.setCurrentKey(`k${i}`);
      s.value()!.n = -1; // in place
    }
    const f = await fileOf(b, write);
    assert.deepEqual(entries(f, range), entries(restoredFrom, range));
    b.setCurrentKey('k7');
    assert.deepEqual(s.value(), { n: -1 });
  });
});
