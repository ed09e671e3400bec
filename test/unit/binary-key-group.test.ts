/**
 * The heap backend's binary key groups (issue 13): value-like state of numbers and flat records kept as rows.
 * Checked against a plain Map as the model: random writes, reads, deletes and values that do not fit the rows
 * (which move the state to JS objects); a snapshot taken while the task goes on changing state is exactly the
 * state at the barrier; what a snapshot wrote restores to the same state.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { ReducingStateDescriptor, ValueStateDescriptor } from '../../src/api/state.js';
import { isColumnar } from '../../src/state/ColumnarChunk.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { readKeyGroups, StateFileWriter } from '../../src/state/StateFile.js';
import { decode } from '../../src/core/Serializer.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';
import type { KeyedSnapshotOptions } from '../../src/state/KeyedStateBackend.js';

const RANGE = new KeyGroupRange(0, 7);
const NATIVE: KeyedSnapshotOptions = { checkpointId: 1, location: '', format: 'NATIVE', filePrefix: '' };
const CANONICAL: KeyedSnapshotOptions = { ...NATIVE, format: 'CANONICAL' };

type Rec = { key: string; sum: number; flag: boolean | null | undefined };

async function fileOf(b: HeapKeyedStateBackend, write: (w: StateFileWriter) => Promise<void>) {
  const w = new StateFileWriter();
  await write(w);
  const operatorStateOffset = w.size;
  w.writeOperatorState({});
  const { bytes, size, crc32 } = w.toBytes();
  const handle = { file: 'x', size, crc32, keyGroupRange: RANGE.toJSON(), keyGroupOffsets: w.keyGroupOffsets, operatorStateOffset, keyedStates: b.stateKinds, operatorStates: {}, keyedEntries: w.keyedEntries } as StateFileHandle;
  return { bytes, handle };
}

/** Every (state, key, value) a state file holds, sorted. */
function contents(f: Awaited<ReturnType<typeof fileOf>>): [string, unknown, unknown][] {
  const out: [string, unknown, unknown][] = [];
  readKeyGroups(f.bytes, f.handle, RANGE, (name, _kg, flat) => {
    for (let i = 0; i < flat.length; i += 2) out.push([name, flat[i], flat[i + 1]]);
  });
  return out.sort((a, b) => JSON.stringify(a.slice(0, 2)).localeCompare(JSON.stringify(b.slice(0, 2))));
}

const modelContents = (m: Map<string, unknown>, name: string) =>
  [...m].map(([k, v]) => [name, k, v] as [string, unknown, unknown]).sort((a, b) => JSON.stringify(a.slice(0, 2)).localeCompare(JSON.stringify(b.slice(0, 2))));

/** Longer than a row's 16-bit key length (and the longest that still fits): rows cannot hold the first. */
const LONG_KEY = 'L'.repeat(0x8000);
const LONGEST_ROW_KEY = 'M'.repeat(0x7fff);
/** Keys: latin-1 strings mostly, some numbers (also rows), a few two-byte or too long strings (which rows cannot hold). */
const keyArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 60 }).map((i) => `k${i}`) },
  { weight: 4, arbitrary: fc.oneof(fc.integer({ min: -3, max: 5 }), fc.constantFrom(-0, NaN, 0.5, 2 ** 40)) },
  { weight: 1, arbitrary: fc.constantFrom('é', '', 'ключ', LONG_KEY, LONGEST_ROW_KEY) },
);
const recArb = (key: unknown) =>
  fc.record({ sum: fc.oneof(fc.integer(), fc.double(), fc.constant(-0), fc.constant(NaN)), flag: fc.constantFrom(true, false, null, undefined) }).map((r) => ({ key, ...r }));
/** A value that does not fit the rows: another shape, a foreign string, a nested object. */
const misfitArb = fc.constantFrom<unknown>({ key: 'x', sum: 1 }, { key: 'other', sum: 1, flag: 'yes' }, { key: 'k', sum: { n: 1 }, flag: true }, 'a string');

type Op = { op: 'put'; key: unknown; misfit: boolean; v: unknown } | { op: 'get'; key: unknown } | { op: 'del'; key: unknown } | { op: 'mutate'; key: unknown; by: number };
/** `misfits`: also values that move the state to JS objects (without them, every op stays on binary rows, but for two-byte keys). */
const opsArb = (misfits: boolean, maxLength: number) => fc.array(misfits ? opArb : opArb.filter((o) => o.op !== 'put' || !o.misfit), { maxLength });
const opArb: fc.Arbitrary<Op> = keyArb.chain((key) =>
  fc.oneof(
    { weight: 8, arbitrary: recArb(key).map((v) => ({ op: 'put' as const, key, misfit: false, v })) },
    { weight: 1, arbitrary: misfitArb.map((v) => ({ op: 'put' as const, key, misfit: true, v })) },
    { weight: 4, arbitrary: fc.constant({ op: 'get' as const, key }) },
    { weight: 2, arbitrary: fc.constant({ op: 'del' as const, key }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 9 }).map((by) => ({ op: 'mutate' as const, key, by })) },
  ),
);

const clone = (v: unknown) => structuredClone(v);

/** Applies one op to the backend's value state and to the model; checks every read. */
function apply(b: HeapKeyedStateBackend, s: ReturnType<HeapKeyedStateBackend['getState']>, model: Map<unknown, unknown>, o: Op): void {
  b.setCurrentKey(o.key);
  const mk = o.key; // a Map compares keys as the state does (SameValueZero)
  switch (o.op) {
    case 'put':
      s.update(o.v);
      model.set(mk, clone(o.v));
      break;
    case 'get':
      assert.deepEqual(s.value(), model.get(mk), `value of ${String(o.key)}`);
      break;
    case 'del':
      s.clear();
      model.delete(mk);
      break;
    case 'mutate': {
      // In place, without update(): stays in the live state, as on a heap of objects.
      const v = s.value() as Rec | undefined;
      if (v && typeof v === 'object' && typeof v.sum === 'number') {
        v.sum += o.by;
        (model.get(mk) as Rec).sum += o.by;
      }
      break;
    }
  }
}

describe('binary key groups', () => {
  test('property: reads, writes, deletes, in-place changes and values that do not fit behave as a Map', () => {
    fc.assert(
      fc.property(fc.boolean().chain((m) => opsArb(m, 300)), (ops) => {
        const b = new HeapKeyedStateBackend(RANGE, 8);
        const s = b.getState(new ValueStateDescriptor<unknown>('v'));
        const model = new Map<unknown, unknown>();
        for (const o of ops) apply(b, s, model, o);
        for (const k of new Set(ops.map((o) => o.key))) {
          b.setCurrentKey(k);
          assert.deepEqual(s.value(), model.get(k));
        }
        assert.equal(b.numEntries(), model.size);
      }),
      { numRuns: 200 },
    );
  });

  test('one key group with thousands of keys: long probe runs, deletes, growth and key-byte compaction stay exact', () => {
    const one = new KeyGroupRange(0, 0);
    const b = new HeapKeyedStateBackend(one, 1);
    const s = b.getState(new ValueStateDescriptor<number>('n'));
    const model = new Map<string, number>();
    let seed = 7;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let i = 0; i < 60_000; i++) {
      const key = `key-${rnd(4000)}`;
      b.setCurrentKey(key);
      if (rnd(3) === 0) {
        s.clear();
        model.delete(key);
      } else {
        s.update(i);
        model.set(key, i);
      }
      if (i % 5000 === 0) {
        for (let k = 0; k < 4000; k++) {
          b.setCurrentKey(`key-${k}`);
          assert.equal(s.value(), model.get(`key-${k}`), `key-${k} after ${i} ops`);
        }
      }
    }
    assert.equal(b.numEntries(), model.size);
  });

  test('property: a snapshot taken mid-stream is the state at its barrier, native or canonical, and restores to it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean().chain((m) => fc.tuple(opsArb(m, 150), opsArb(m, 150))), fc.boolean(), async ([before, after], native) => {
        const b = new HeapKeyedStateBackend(RANGE, 8);
        const s = b.getState(new ValueStateDescriptor<unknown>('v'));
        const model = new Map<unknown, unknown>();
        for (const o of before) apply(b, s, model, o);
        const atBarrier = new Map([...model].map(([k, v]) => [k, clone(v)]));
        const snap = b.snapshotKeyed(native ? NATIVE : CANONICAL);
        // The task goes on between the snapshot's chunks: every op of `after` runs before the asynchronous part writes.
        for (const o of after) apply(b, s, model, o);
        const f = await fileOf(b, snap.write!);
        const expected = [...atBarrier].map(([k, v]) => ['v', k, v] as [string, unknown, unknown]).sort((x, y) => JSON.stringify(x.slice(0, 2)).localeCompare(JSON.stringify(y.slice(0, 2))));
        assert.deepEqual(contents(f), expected);
        const r = new HeapKeyedStateBackend(RANGE, 8);
        r.restore([f]);
        const rs = r.getState(new ValueStateDescriptor<unknown>('v'));
        for (const [k, v] of atBarrier) {
          r.setCurrentKey(k);
          assert.deepEqual(rs.value(), v);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('a checkpoint writes binary groups as packed columnar chunks; the live state after it is unchanged', async () => {
    const b = new HeapKeyedStateBackend(RANGE, 8);
    const s = b.getReducingState(new ReducingStateDescriptor<Rec>('sum', (a, x) => ({ key: a.key, sum: a.sum + x.sum, flag: x.flag })));
    const model = new Map<string, unknown>();
    for (let i = 0; i < 5000; i++) {
      const key = `key-${i % 700}`;
      b.setCurrentKey(key);
      s.add({ key, sum: 1, flag: i % 2 === 0 });
      model.set(key, { key, sum: Math.floor(i / 700) + 1, flag: i % 2 === 0 });
    }
    const f = await fileOf(b, b.snapshotKeyed(NATIVE).write!);
    let packed = 0;
    for (let at = f.handle.keyGroupOffsets![0]; at < f.handle.operatorStateOffset!; ) {
      const len = f.bytes.readUInt32BE(at);
      if (len > 0) {
        const body = decode<[string, { keys: unknown }]>(f.bytes.subarray(at + 4, at + 4 + len))[1];
        if (isColumnar(body) && !Array.isArray(body.keys)) packed++;
      }
      at += 4 + len;
    }
    assert.ok(packed >= 8, `every key group is one packed chunk (${packed})`);
    assert.equal(f.handle.keyedEntries, 700);
    assert.deepEqual(contents(f), modelContents(model, 'sum'));
    b.setCurrentKey('key-3');
    assert.deepEqual(s.get(), model.get('key-3'));
  });

  test('an in-place change made before the barrier is in the snapshot; one made after is not', async () => {
    const b = new HeapKeyedStateBackend(RANGE, 8);
    const s = b.getState(new ValueStateDescriptor<Rec>('v'));
    b.setCurrentKey('a');
    s.update({ key: 'a', sum: 1, flag: true });
    s.value()!.sum = 2; // before the barrier, and no other access after it
    const snap = b.snapshotKeyed(NATIVE);
    s.value()!.sum = 3; // after the barrier
    b.setCurrentKey('b'); // writes 'a' back
    s.update({ key: 'b', sum: 9, flag: false });
    const f = await fileOf(b, snap.write!);
    assert.deepEqual(contents(f), [['v', 'a', { key: 'a', sum: 2, flag: true }]]);
    b.setCurrentKey('a');
    assert.equal(s.value()!.sum, 3);
  });

  test('a value that stops fitting during a snapshot moves the state to JS objects without changing the snapshot', async () => {
    const b = new HeapKeyedStateBackend(RANGE, 8);
    const s = b.getState(new ValueStateDescriptor<unknown>('v'));
    for (let i = 0; i < 100; i++) {
      b.setCurrentKey(`k${i}`);
      s.update({ key: `k${i}`, sum: i, flag: null });
    }
    const snap = b.snapshotKeyed(NATIVE);
    b.setCurrentKey('k5');
    s.update({ nested: [1, 2] }); // no row form: the state moves
    b.setCurrentKey('k6');
    s.update({ key: 'k6', sum: -6, flag: null });
    const f = await fileOf(b, snap.write!);
    const written = contents(f);
    assert.equal(written.length, 100);
    assert.deepEqual(written.find(([, k]) => k === 'k5')?.[2], { key: 'k5', sum: 5, flag: null });
    assert.deepEqual(written.find(([, k]) => k === 'k6')?.[2], { key: 'k6', sum: 6, flag: null });
    b.setCurrentKey('k5');
    assert.deepEqual(s.value(), { nested: [1, 2] });
    b.setCurrentKey('k6');
    assert.deepEqual(s.value(), { key: 'k6', sum: -6, flag: null });
  });

  test('a state that moves to JS objects says so once, with what did not fit', () => {
    const cases: [string, (b: HeapKeyedStateBackend, s: ReturnType<HeapKeyedStateBackend['getState']>) => void, RegExp][] = [
      ['another shape', (b, s) => { b.setCurrentKey('a'); s.update(1); b.setCurrentKey('b'); s.update({ sum: 2 }); }, /^a value of another shape \(\{sum\} after numbers\)$/],
      ['a two-byte key', (b, s) => { b.setCurrentKey('a'); s.update(1); b.setCurrentKey('\u2603'); s.update(2); }, /beyond Latin-1/],
      ['a structured key', (b, s) => { b.setCurrentKey(['x', 1]); s.update(1); }, /neither a string nor a number/],
      ['a long key', (b, s) => { b.setCurrentKey(LONG_KEY); s.update(1); }, /longer than 32767/],
      ['a string value', (b, s) => { b.setCurrentKey('a'); s.update('text'); }, /neither a number nor a flat record/],
      ['a nested field', (b, s) => { b.setCurrentKey('a'); s.update({ n: { m: 1 } }); }, /a field that is not/],
      ['a string field', (b, s) => { b.setCurrentKey('a'); s.update({ key: 'a', n: 1 }); b.setCurrentKey('b'); s.update({ key: 'not b', n: 1 }); }, /a field that is not/],
    ];
    for (const [what, run, why] of cases) {
      const notices: [string, string][] = [];
      const b = new HeapKeyedStateBackend(RANGE, 8, { onDemote: (state, reason) => notices.push([state, reason]) });
      const s = b.getState(new ValueStateDescriptor<unknown>('v'));
      run(b, s);
      for (let i = 0; i < 10; i++) { b.setCurrentKey(`more-${i}`); s.update({ nested: [i] }); } // moved already: no second notice
      assert.equal(notices.length, 1, `${what}: ${JSON.stringify(notices)}`);
      assert.equal(notices[0][0], 'v');
      assert.match(notices[0][1], why, what);
    }
    const quiet: string[] = [];
    const b = new HeapKeyedStateBackend(RANGE, 8, { onDemote: (state) => quiet.push(state) });
    const s = b.getState(new ValueStateDescriptor<{ key: string; sum: number }>('rows'));
    for (let i = 0; i < 100; i++) { b.setCurrentKey(`k${i}`); s.update({ key: `k${i}`, sum: i }); }
    assert.deepEqual(quiet, [], 'state that fits the rows says nothing');
  });

  test('without code generation from strings (node --disallow-code-generation-from-strings) the rows encode and decode the same', () => {
    const script = `
      import { ValueShape } from './src/state/BinaryValueShape.ts';
      const shape = new ValueShape(['key', 'sum', 'flag']);
      const f = new Float64Array(6), u = new Uint32Array(f.buffer);
      const ok = shape.encode({ key: 'k', sum: -0, flag: null }, f, u, 0, 'k');
      const misfit = shape.encode({ key: 'k', flag: null, sum: 1 }, f, u, 3, 'k');
      const back = shape.decode(f, u, 0, 'k');
      console.log(JSON.stringify({ ok, misfit, back, negZero: Object.is(back.sum, -0), proto: Object.getPrototypeOf(back) === Object.prototype }));`;
    const r = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ok: true, misfit: false, back: { key: 'k', sum: 0, flag: null }, negZero: true, proto: true });
  });
});
