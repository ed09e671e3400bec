import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ListStateDescriptor, ValueStateDescriptor } from '../../src/api/state.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';
import { isFlinkError } from '../../src/core/FlinkError.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import type { KeyedStateBackend } from '../../src/state/KeyedStateBackend.js';
import { keyedBackend } from './backends.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex } from '../../src/state/KeyGroupRangeAssignment.js';
import { OperatorStateBackend } from '../../src/state/OperatorStateBackend.js';
import { readKeyGroups, readOperatorState, StateFileWriter, type OperatorStateSnapshot } from '../../src/state/StateFile.js';

const tmp = mkdtempSync(join(tmpdir(), 'flink-ts-state-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

interface Written {
  bytes: Buffer;
  handle: StateFileHandle;
}

/** Writes a subtask's state file the way StreamTask does: keyed key-group sections, then the operator state. */
async function writeStateFile(
  keyed: { backend: KeyedStateBackend; write: (w: StateFileWriter) => Promise<void> } | undefined,
  opState?: OperatorStateSnapshot,
  opModes: Record<string, string> = {},
): Promise<Written> {
  const w = new StateFileWriter();
  if (keyed) await keyed.write(w);
  const operatorStateOffset = w.size;
  w.writeOperatorState(opState ?? {});
  const file = `state-${++fileNo}`;
  const { size, crc32 } = await w.finish(join(tmp, file));
  const handle: StateFileHandle = {
    file,
    size,
    crc32,
    keyGroupRange: keyed ? keyed.backend.keyGroupRange.toJSON() : undefined,
    keyGroupOffsets: keyed ? w.keyGroupOffsets : undefined,
    operatorStateOffset,
    keyedStates: keyed ? keyed.backend.stateKinds : {},
    operatorStates: opModes,
    keyedEntries: w.keyedEntries,
  };
  const bytes = readFileSync(join(tmp, file));
  assert.equal(bytes.length, size);
  return { bytes, handle };
}

async function snapshotToFile(backend: KeyedStateBackend): Promise<Written> {
  return writeStateFile({ backend, write: backend.snapshot() });
}

/** All entries of one state in a file, as key → value (keys normalized by JSON for comparison). */
function entriesOf(f: Written, stateName: string, range = KeyGroupRange.of(f.handle.keyGroupRange!)): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  readKeyGroups(f.bytes, f.handle, range, (name, _kg, flat) => {
    if (name !== stateName) return;
    for (let i = 0; i < flat.length; i += 2) {
      assert.ok(!out.has(flat[i]), `key ${String(flat[i])} written twice`);
      out.set(flat[i], flat[i + 1]);
    }
  });
  return out;
}

const full = (maxP = 128) => keyedBackend(new KeyGroupRange(0, maxP - 1), maxP);
const count = new ValueStateDescriptor<number>('count');

function flinkErrorOf(kind: string, pattern?: RegExp) {
  return (e: unknown) => {
    assert.ok(isFlinkError(e), `expected a FlinkError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

describe('HeapKeyedStateBackend value state', () => {
  test('get/update/clear are per key', () => {
    const b = full();
    const s = b.getState(count);
    b.setCurrentKey('a');
    assert.equal(s.value(), undefined);
    s.update(1);
    b.setCurrentKey('b');
    assert.equal(s.value(), undefined);
    s.update(2);
    b.setCurrentKey('a');
    assert.equal(s.value(), 1);
    assert.equal(b.getCurrentKey(), 'a');
    s.update(10);
    b.setCurrentKey('b');
    assert.equal(s.value(), 2);
    s.clear();
    assert.equal(s.value(), undefined);
    b.setCurrentKey('a');
    assert.equal(s.value(), 10);
    assert.equal(b.numEntries(), 1);
    assert.equal(b.isEmpty, false);
    s.clear();
    assert.equal(b.isEmpty, true);
  });

  test('falsy values are stored; null and undefined delete', () => {
    const b = full();
    const s = b.getState(new ValueStateDescriptor<unknown>('v', 'dflt'));
    b.setCurrentKey(1);
    assert.equal(s.value(), 'dflt', 'default value when absent');
    for (const v of [0, false, '', Number.NaN]) {
      s.update(v);
      assert.ok(Object.is(s.value(), v), `stored ${String(v)}`);
    }
    s.update(null);
    assert.equal(s.value(), 'dflt');
    assert.equal(b.numEntries(), 0);
    s.update(5);
    s.update(undefined);
    assert.equal(s.value(), 'dflt');
    assert.equal(b.numEntries(), 0);
  });

  test('two states of the same key are independent; keys compare by value', () => {
    const b = full();
    const x = b.getState(new ValueStateDescriptor<string>('x'));
    const y = b.getState(new ValueStateDescriptor<string>('y'));
    b.setCurrentKey(['user', 7]);
    x.update('x7');
    y.update('y7');
    b.setCurrentKey(['user', 7]); // a different array object with the same value
    assert.equal(x.value(), 'x7');
    assert.equal(y.value(), 'y7');
    b.setCurrentKey('7');
    assert.equal(x.value(), undefined, "'7' is not the key 7 nor ['user', 7]");
    b.setCurrentKey(7);
    assert.equal(x.value(), undefined);
    assert.deepEqual(b.stateKinds, { x: 'value', y: 'value' });
  });

  test('keys outside the key-group range throw', () => {
    const maxP = 128;
    const range = computeKeyGroupRangeForOperatorIndex(maxP, 2, 0); // 0..63
    const b = keyedBackend(range, maxP);
    let inside: number | undefined;
    let outside: number | undefined;
    for (let k = 0; inside === undefined || outside === undefined; k++) {
      if (range.contains(assignToKeyGroup(k, maxP))) inside ??= k;
      else outside ??= k;
    }
    assert.doesNotThrow(() => b.setCurrentKey(inside));
    assert.throws(() => b.setCurrentKey(outside), flinkErrorOf('internal', /not in this subtask's range 0-63/));
  });

  test('state access without a key, and unsupported kinds, are rejected', () => {
    const b = full();
    const s = b.getState(count);
    assert.throws(() => s.value(), flinkErrorOf('invalid-argument', /No key set/));
    assert.throws(() => s.update(1), flinkErrorOf('invalid-argument'));
    assert.throws(() => b.getState(new ListStateDescriptor<number>('l')), flinkErrorOf('invalid-argument', /'list'/));
  });

  test('a random sequence of operations matches a Map model (property)', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('update' as const), k: fc.integer({ min: 0, max: 20 }), v: fc.integer() }),
      fc.record({ t: fc.constant('clear' as const), k: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ t: fc.constant('get' as const), k: fc.integer({ min: 0, max: 20 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const b = full(16);
        const s = b.getState(count);
        const model = new Map<number, number>();
        for (const o of ops) {
          b.setCurrentKey(o.k);
          if (o.t === 'update') {
            s.update(o.v);
            model.set(o.k, o.v);
          } else if (o.t === 'clear') {
            s.clear();
            model.delete(o.k);
          } else {
            assert.equal(s.value(), model.get(o.k));
          }
        }
        assert.equal(b.numEntries(), model.size);
      }),
      { numRuns: 300 },
    );
  });
});

describe('HeapKeyedStateBackend snapshot and restore', () => {
  const N = 2000;
  async function populated(maxP = 128) {
    const b = full(maxP);
    const s = b.getState(count);
    const t = b.getState(new ValueStateDescriptor<string>('text'));
    for (let k = 0; k < N; k++) {
      b.setCurrentKey(k);
      s.update(k * 3);
      if (k % 2 === 0) t.update(`t${k}`);
    }
    return { b, file: await snapshotToFile(b) };
  }

  test('restore into a backend with the same range gives back every entry', async () => {
    const { file } = await populated();
    assert.equal(file.handle.keyedEntries, N + N / 2);
    assert.equal(file.handle.keyGroupOffsets!.length, 128);
    assert.deepEqual(file.handle.keyedStates, { count: 'value', text: 'value' });
    const r = full();
    r.restore([file]);
    assert.equal(r.numEntries(), N + N / 2);
    const s = r.getState(count);
    const t = r.getState(new ValueStateDescriptor<string>('text'));
    for (let k = 0; k < N; k++) {
      r.setCurrentKey(k);
      assert.equal(s.value(), k * 3);
      assert.equal(t.value(), k % 2 === 0 ? `t${k}` : undefined);
    }
  });

  test('lazy restore: a snapshot of untouched, touched and changed key groups equals the live state', async () => {
    const { file } = await populated();
    const r = full();
    r.restore([file]);
    const s = r.getState(count);
    // Touch a few keys (their groups get decoded), change some, delete one; most groups stay encoded.
    for (const k of [1, 2, 3]) {
      r.setCurrentKey(k);
      s.update(s.value()! + 1);
    }
    r.setCurrentKey(4);
    s.clear();
    r.setCurrentKey(N + 1);
    s.update(-1);
    const again = await snapshotToFile(r);
    assert.equal(again.handle.keyedEntries, N + N / 2 - 1 + 1, 'entry counts include the groups passed through encoded');
    const counts = entriesOf(again, 'count');
    const text = entriesOf(again, 'text');
    assert.equal(counts.size, N);
    assert.equal(text.size, N / 2, "the 'text' state, never registered after the restore, goes forward whole");
    for (let k = 0; k < N; k++) {
      const want = k === 4 ? undefined : k * 3 + (k >= 1 && k <= 3 ? 1 : 0);
      assert.equal(counts.get(k), want, `key ${k}`);
      assert.equal(text.get(k), k % 2 === 0 ? `t${k}` : undefined);
    }
    assert.equal(counts.get(N + 1), -1);
    // And that snapshot restores again, lazily, to the same values.
    const r2 = full();
    r2.restore([again]);
    const s2 = r2.getState(count);
    r2.setCurrentKey(2);
    assert.equal(s2.value(), 7);
    r2.setCurrentKey(N - 1);
    assert.equal(s2.value(), (N - 1) * 3);
    assert.equal(r2.numEntries(), N + N / 2);
  });

  test('rescale 1 -> 2: every entry lands in exactly one of the two backends', async () => {
    const { file } = await populated();
    const parts = [0, 1].map((i) => {
      const r = keyedBackend(computeKeyGroupRangeForOperatorIndex(128, 2, i), 128);
      r.restore([file]);
      return r;
    });
    assert.equal(parts[0].numEntries() + parts[1].numEntries(), N + N / 2);
    assert.ok(parts[0].numEntries() > 0 && parts[1].numEntries() > 0);
    for (let k = 0; k < N; k++) {
      const kg = assignToKeyGroup(k, 128);
      const owners = parts.filter((p) => p.keyGroupRange.contains(kg));
      assert.equal(owners.length, 1);
      const o = owners[0];
      o.setCurrentKey(k);
      assert.equal(o.getState(count).value(), k * 3);
    }
  });

  test('rescale 2 -> 3 and 2 -> 1 from two files', async () => {
    const { b } = await populated();
    // Split the original state over two subtasks first.
    const two = await Promise.all(
      [0, 1].map(async (i) => {
        const r = keyedBackend(computeKeyGroupRangeForOperatorIndex(128, 2, i), 128);
        r.restore([await snapshotToFile(b)]);
        return snapshotToFile(r);
      }),
    );
    for (const p of [1, 3]) {
      const backends = Array.from({ length: p }, (_, i) => {
        const r = keyedBackend(computeKeyGroupRangeForOperatorIndex(128, p, i), 128);
        r.restore(two);
        return r;
      });
      assert.equal(backends.reduce((n, r) => n + r.numEntries(), 0), N + N / 2, `parallelism ${p}`);
      for (let k = 0; k < N; k++) {
        const r = backends.find((x) => x.keyGroupRange.contains(assignToKeyGroup(k, 128)))!;
        r.setCurrentKey(k);
        assert.equal(r.getState(count).value(), k * 3);
      }
    }
  });

  test('restoring an empty snapshot gives an empty backend with the state registered', async () => {
    const b = full(8);
    b.getState(count); // registered, no entries
    const f = await snapshotToFile(b);
    assert.equal(f.handle.keyedEntries, 0);
    const r = full(8);
    r.restore([f]);
    assert.equal(r.numEntries(), 0);
    assert.deepEqual(r.stateKinds, { count: 'value' });
  });

  test('copy-on-write: changes after the synchronous part do not reach the snapshot', async () => {
    const b = full(16);
    const s = b.getState(new ValueStateDescriptor<{ n: number; tags: string[] }>('obj'));
    const c = b.getState(count);
    for (let k = 0; k < 50; k++) {
      b.setCurrentKey(k);
      s.update({ n: k, tags: [`k${k}`] });
      c.update(k);
    }
    const write = b.snapshot();
    // After the barrier: update, clear, add, and mutate values read from state in place.
    for (let k = 0; k < 50; k++) {
      b.setCurrentKey(k);
      if (k % 4 === 0) {
        s.update({ n: -1, tags: [] });
        c.update(-1);
      } else if (k % 4 === 1) {
        s.clear();
        c.clear();
      } else {
        const v = s.value()!;
        v.n = 1000;
        v.tags.push('mutated');
        s.update(v);
        c.update(c.value()! + 1000);
      }
    }
    b.setCurrentKey(999);
    s.update({ n: 999, tags: [] });
    const f = await writeStateFile({ backend: b, write });
    const objs = entriesOf(f, 'obj');
    const counts = entriesOf(f, 'count');
    assert.equal(objs.size, 50);
    assert.equal(counts.size, 50);
    for (let k = 0; k < 50; k++) {
      assert.deepEqual(objs.get(k), { n: k, tags: [`k${k}`] }, `obj of key ${k}`);
      assert.equal(counts.get(k), k);
    }
    // ...while the live state has the new values.
    b.setCurrentKey(2);
    assert.deepEqual(s.value(), { n: 1000, tags: ['k2', 'mutated'] });
    b.setCurrentKey(1);
    assert.equal(s.value(), undefined);
  });

  test('copy-on-write: in-place mutation of a read value, without update, while the async part runs', async () => {
    // A single key group with more entries than a chunk, so the async part yields and records run in between.
    const b = full(1);
    const s = b.getState(new ValueStateDescriptor<{ n: number }>('obj'));
    const M = 10_000;
    for (let k = 0; k < M; k++) {
      b.setCurrentKey(k);
      s.update({ n: k });
    }
    const write = b.snapshot();
    const w = new StateFileWriter();
    const running = write(w); // runs until its first yield
    for (let k = 0; k < M; k++) {
      b.setCurrentKey(k);
      s.value()!.n = -k - 1; // mutation in place, as a careless user function would do
    }
    await running;
    const operatorStateOffset = w.size;
    w.writeOperatorState({});
    const file = join(tmp, `inplace-${++fileNo}`);
    const { size, crc32 } = await w.finish(file);
    const f: Written = {
      bytes: readFileSync(file),
      handle: {
        file, size, crc32, keyGroupRange: [0, 0], keyGroupOffsets: w.keyGroupOffsets, operatorStateOffset,
        keyedStates: b.stateKinds, operatorStates: {}, keyedEntries: w.keyedEntries,
      },
    };
    const got = entriesOf(f, 'obj');
    assert.equal(got.size, M);
    for (let k = 0; k < M; k++) assert.deepEqual(got.get(k), { n: k }, `key ${k}`);
  });

  test('copy-on-write with two snapshots in flight: each holds the values at its own barrier', async () => {
    const b = full(8);
    const s = b.getState(new ValueStateDescriptor<{ v: number }>('obj'));
    for (let k = 0; k < 20; k++) {
      b.setCurrentKey(k);
      s.update({ v: 1 });
    }
    const writeA = b.snapshot();
    for (let k = 0; k < 20; k++) {
      b.setCurrentKey(k);
      const o = s.value()!;
      o.v = 2;
      s.update(o);
    }
    const writeB = b.snapshot();
    for (let k = 0; k < 20; k++) {
      b.setCurrentKey(k);
      const o = s.value()!;
      o.v = 3;
      if (k % 2 === 0) s.update(o);
    }
    const fb = await writeStateFile({ backend: b, write: writeB }); // B finishes first
    for (let k = 0; k < 20; k++) {
      b.setCurrentKey(k);
      s.value()!.v = 4; // A still running: reads are still copies
    }
    const fa = await writeStateFile({ backend: b, write: writeA });
    for (let k = 0; k < 20; k++) {
      assert.deepEqual(entriesOf(fa, 'obj').get(k), { v: 1 }, `A, key ${k}`);
      assert.deepEqual(entriesOf(fb, 'obj').get(k), { v: 2 }, `B, key ${k}`);
    }
  });

  test('an in-place mutation of a value read while a snapshot runs stays in the live state, as without a snapshot', async () => {
    // Without a running snapshot, the heap backend hands out the stored object: mutating it in place changes the state.
    const b = full(4);
    const s = b.getState(new ValueStateDescriptor<{ n: number }>('acc'));
    b.setCurrentKey('k');
    s.update({ n: 0 });
    s.value()!.n++;
    assert.equal(s.value()!.n, 1, 'baseline: in-place mutation is visible without a snapshot');
    // The same user code while the asynchronous part of a snapshot runs must behave the same (Flink's
    // CopyOnWriteStateMap copies the old entry on read and keeps the copy in the live map); only the snapshot
    // must keep the old value.
    const write = b.snapshot();
    s.value()!.n++;
    const liveDuringSnapshot = s.value()!.n;
    const f = await writeStateFile({ backend: b, write });
    assert.deepEqual(entriesOf(f, 'acc').get('k'), { n: 1 }, 'the snapshot holds the value at the barrier');
    assert.equal(liveDuringSnapshot, 2, 'the increment made while the snapshot ran was lost from the live state');
  });

  test('values of every structured-clone type round-trip exactly', async () => {
    const objKey = { id: 1 };
    const values: Array<[unknown, unknown]> = [
      ['date', new Date(1_700_000_000_123)],
      ['bigint', 12345678901234567890123n],
      ['negbigint', -5n],
      ['map', new Map<unknown, unknown>([[objKey, 'v1'], [{ id: 2 }, new Set([1])], ['s', 1], [3n, null]])],
      ['set', new Set<unknown>([1, 'a', { x: [1] }, 2n])],
      ['bytes', new Uint8Array([0, 1, 254, 255])],
      ['nested', { a: { b: { c: [1, { d: new Date(0) }], e: null } }, f: 'ü€😀' }],
      ['undefinedInArray', [1, undefined, 3, undefined]],
      ['negzero', -0],
      ['nan', Number.NaN],
      ['sparse', [1, , 3]], // eslint-disable-line no-sparse-arrays
      ['float64', new Float64Array([1.5, -0, Infinity])],
    ];
    const b = full();
    const s = b.getState(new ValueStateDescriptor<unknown>('any'));
    for (const [k, v] of values) {
      b.setCurrentKey(k);
      s.update(v);
    }
    const r = full();
    r.restore([await snapshotToFile(b)]);
    const rs = r.getState(new ValueStateDescriptor<unknown>('any'));
    for (const [k, v] of values) {
      r.setCurrentKey(k);
      const got = rs.value();
      assert.deepStrictEqual(got, v, `value ${String(k)}`);
      if (k === 'negzero') assert.ok(Object.is(got, -0));
      if (k === 'bytes') assert.ok(got instanceof Uint8Array);
      if (k === 'sparse') assert.equal(1 in (got as unknown[]), false, 'hole preserved');
      if (k === 'undefinedInArray') assert.equal((got as unknown[]).length, 4);
      if (k === 'map') {
        const m = got as Map<unknown, unknown>;
        const keys = [...m.keys()];
        assert.deepStrictEqual(keys[0], { id: 1 });
        assert.equal(m.get(keys[0]), 'v1');
      }
    }
  });

  test('keys of every kind are found again after a restore', async () => {
    const keys: unknown[] = [new Date(5), 7n, [1, 'a'], { id: 3 }, 'plain', 42, true, null, undefined, -1.5];
    const b = full();
    const s = b.getState(count);
    keys.forEach((k, i) => {
      b.setCurrentKey(k);
      s.update(i);
    });
    const r = full();
    r.restore([await snapshotToFile(b)]);
    const rs = r.getState(count);
    keys.forEach((k, i) => {
      r.setCurrentKey(structuredClone(k));
      assert.equal(rs.value(), i, `key ${String(k)}`);
    });
    assert.equal(r.numEntries(), keys.length);
  });
});

describe('StateFile', () => {
  test('readKeyGroups visits exactly the wanted key groups that the file holds', async () => {
    const maxP = 32;
    const range = new KeyGroupRange(8, 23);
    const b = keyedBackend(range, maxP);
    const s = b.getState(count);
    const byGroup = new Map<number, number[]>();
    for (let k = 0, n = 0; n < 300; k++) {
      const kg = assignToKeyGroup(k, maxP);
      if (!range.contains(kg)) continue;
      b.setCurrentKey(k);
      s.update(k);
      byGroup.set(kg, [...(byGroup.get(kg) ?? []), k]);
      n++;
    }
    const f = await snapshotToFile(b);
    assert.deepEqual(f.handle.keyGroupRange, [8, 23]);
    assert.equal(f.handle.keyGroupOffsets!.length, 16);
    for (const wanted of [new KeyGroupRange(0, 31), new KeyGroupRange(0, 10), new KeyGroupRange(20, 31), new KeyGroupRange(12, 12), new KeyGroupRange(24, 31), new KeyGroupRange(0, 7)]) {
      const seen = new Map<number, number[]>();
      readKeyGroups(f.bytes, f.handle, wanted, (name, kg, flat) => {
        assert.equal(name, 'count');
        assert.ok(wanted.contains(kg) && range.contains(kg), `visited key group ${kg}`);
        const keys: number[] = [];
        for (let i = 0; i < flat.length; i += 2) {
          assert.equal(assignToKeyGroup(flat[i], maxP), kg, 'key written under its own key group');
          assert.equal(flat[i + 1], flat[i]);
          keys.push(flat[i] as number);
        }
        seen.set(kg, [...(seen.get(kg) ?? []), ...keys]);
      });
      for (let kg = 0; kg < maxP; kg++) {
        const expected = wanted.contains(kg) ? (byGroup.get(kg) ?? []) : [];
        assert.deepEqual((seen.get(kg) ?? []).sort((a, c) => a - c), expected.sort((a, c) => a - c), `key group ${kg} for wanted ${wanted.start}-${wanted.end}`);
      }
    }
  });

  test('a key group larger than a chunk is written in several chunks and read back whole', async () => {
    const b = full(1);
    // Lists stay JS objects, written in chunks (a value-like state's binary key group is one chunk, its rows copied whole).
    const s = b.getListState(new ListStateDescriptor<number>('list'));
    const M = 9000;
    for (let k = 0; k < M; k++) {
      b.setCurrentKey(`k${k}`);
      s.add(k);
    }
    const f = await snapshotToFile(b);
    let chunks = 0;
    let n = 0;
    readKeyGroups(f.bytes, f.handle, new KeyGroupRange(0, 0), (_name, _kg, flat) => {
      chunks++;
      n += flat.length / 2;
    });
    assert.ok(chunks >= 3, `expected several chunks, got ${chunks}`);
    assert.equal(n, M);
    assert.equal(f.handle.keyedEntries, M);
  });

  test('readOperatorState returns the operator section; files without sections read as empty', async () => {
    const op: OperatorStateSnapshot = { offsets: { mode: 'SPLIT_DISTRIBUTE', entries: [1, 2n, new Date(3)] }, u: { mode: 'UNION', entries: [] } };
    const b = full(4);
    b.setCurrentKey('x');
    b.getState(count).update(1);
    const f = await writeStateFile({ backend: b, write: b.snapshot() }, op, { offsets: 'SPLIT_DISTRIBUTE', u: 'UNION' });
    assert.deepStrictEqual(readOperatorState(f.bytes, f.handle), op);
    assert.equal(entriesOf(f, 'count').get('x'), 1);

    const opOnly = await writeStateFile(undefined, op);
    assert.equal(opOnly.handle.operatorStateOffset, 0);
    assert.deepStrictEqual(readOperatorState(opOnly.bytes, opOnly.handle), op);
    let visited = 0;
    readKeyGroups(opOnly.bytes, opOnly.handle, new KeyGroupRange(0, 127), () => visited++);
    assert.equal(visited, 0, 'no keyed section');
    assert.deepEqual(readOperatorState(opOnly.bytes, { ...opOnly.handle, operatorStateOffset: undefined }), {});
  });

  test('finish refuses to overwrite an existing file', async () => {
    const w = new StateFileWriter();
    w.writeOperatorState({});
    const file = join(tmp, `exists-${++fileNo}`);
    await w.finish(file);
    const w2 = new StateFileWriter();
    w2.writeOperatorState({});
    await assert.rejects(w2.finish(file), /EEXIST/);
  });
});

describe('OperatorStateBackend', () => {
  test('list state add/addAll/update/clear', () => {
    const o = new OperatorStateBackend();
    const l = o.getListState<number>('l');
    assert.deepEqual(l.get(), []);
    assert.equal(o.isEmpty, true);
    l.add(1);
    l.addAll([2, 3]);
    assert.deepEqual(l.get(), [1, 2, 3]);
    assert.deepEqual(o.getListState<number>('l').get(), [1, 2, 3], 'same list by name');
    l.update([9]);
    assert.deepEqual(l.get(), [9]);
    assert.equal(o.isEmpty, false);
    l.clear();
    assert.deepEqual(l.get(), []);
    assert.equal(o.isEmpty, true);
    o.getUnionListState<number>('u');
    assert.deepEqual(o.stateModes, { l: 'SPLIT_DISTRIBUTE', u: 'UNION' });
  });

  test('snapshot is a deep copy taken at the barrier', () => {
    const o = new OperatorStateBackend();
    const l = o.getListState<{ pos: number }>('l');
    const entry = { pos: 1 };
    l.add(entry);
    const snap = o.snapshot();
    entry.pos = 2;
    l.add({ pos: 3 });
    assert.deepEqual(snap, { l: { mode: 'SPLIT_DISTRIBUTE', entries: [{ pos: 1 }] } });
  });

  function subtasks(p: number, fill: (o: OperatorStateBackend, i: number) => void): OperatorStateSnapshot[] {
    return Array.from({ length: p }, (_, i) => {
      const o = new OperatorStateBackend();
      fill(o, i);
      return o.snapshot();
    });
  }

  test('restore at the same parallelism: own split lists back, union lists to everyone', () => {
    const parts = subtasks(3, (o, i) => {
      o.getListState<string>('split').addAll([`s${i}a`, `s${i}b`]);
      o.getUnionListState<string>('union').add(`u${i}`);
    });
    for (let i = 0; i < 3; i++) {
      const r = new OperatorStateBackend();
      r.restore(parts, i, 3);
      assert.deepEqual(r.getListState<string>('split').get(), [`s${i}a`, `s${i}b`]);
      assert.deepEqual(r.getUnionListState<string>('union').get(), ['u0', 'u1', 'u2']);
      assert.deepEqual(r.stateModes, { split: 'SPLIT_DISTRIBUTE', union: 'UNION' });
    }
  });

  test('restore at another parallelism: split evenly, each entry exactly once; union to all (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.nat(8), { minLength: 6, maxLength: 6 }),
        (oldP, newP, sizes) => {
          fc.pre(oldP !== newP); // unchanged parallelism keeps each subtask's own lists (tested above)
          const parts = subtasks(oldP, (o, i) => {
            o.getListState<string>('split').addAll(Array.from({ length: sizes[i] }, (_, j) => `${i}/${j}`));
            o.getUnionListState<string>('union').add(`u${i}`);
          });
          const all = parts.flatMap((p) => p.split.entries as string[]);
          const got: string[][] = [];
          for (let i = 0; i < newP; i++) {
            const r = new OperatorStateBackend();
            r.restore(parts, i, newP);
            got.push(r.getListState<string>('split').get());
            assert.deepEqual(r.getUnionListState<string>('union').get(), Array.from({ length: oldP }, (_, j) => `u${j}`));
          }
          assert.deepEqual(got.flat().sort(), [...all].sort(), 'every split entry exactly once');
          const lens = got.map((g) => g.length);
          assert.ok(Math.max(...lens) - Math.min(...lens) <= 1, `uneven split ${lens}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('restored operator state survives a round trip through a state file', async () => {
    const o = new OperatorStateBackend();
    o.getListState<unknown>('l').addAll([new Date(1), 5n, new Map([[{ k: 1 }, 'v']]), [undefined]]);
    const f = await writeStateFile(undefined, o.snapshot(), o.stateModes);
    const r = new OperatorStateBackend();
    r.restore([readOperatorState(f.bytes, f.handle)], 0, 1);
    assert.deepStrictEqual(r.getListState<unknown>('l').get(), [new Date(1), 5n, new Map([[{ k: 1 }, 'v']]), [undefined]]);
  });
});
