import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { decodeBatch, encodeBatch, transferables, wireBytes, type WireBatch } from '../../src/runtime/network/BatchCodec.js';

/** What node:v8 (the exchange before the codec, and postMessage) makes of a batch: the reference. */
const viaV8 = (records: unknown[]) => deserialize(serialize(records)) as unknown[];

/** Equal in every observable way: deep equality with prototypes, own key order, -0 and NaN. */
function assertSame(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected !== 'object' || expected === null) {
    assert.ok(Object.is(actual, expected), `${path}: ${String(actual)} is not ${String(expected)}`);
    return;
  }
  if (expected instanceof Date) {
    // deepStrictEqual takes two invalid Dates (NaN time) for different.
    assert.ok(actual instanceof Date && Object.is(actual.getTime(), expected.getTime()), `${path}: ${String(actual)} is not ${String(expected)}`);
    return;
  }
  if (expected instanceof Set || expected instanceof Map) {
    // Element by element, in insertion order: deepStrictEqual would take an invalid Date inside for different.
    assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected), `${path}: prototype`);
    assertSame([...(actual as Set<unknown> | Map<unknown, unknown>)], [...expected], `${path}[...]`);
    return;
  }
  if (Object.getPrototypeOf(expected) === Object.prototype || Array.isArray(expected)) {
    assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected), `${path}: prototype`);
    assert.deepStrictEqual(Reflect.ownKeys(actual as object), Reflect.ownKeys(expected), `${path}: key order`);
    for (const k of Reflect.ownKeys(expected)) {
      if (k === 'length' && Array.isArray(expected)) continue;
      assertSame((actual as Record<PropertyKey, unknown>)[k], (expected as Record<PropertyKey, unknown>)[k], `${path}.${String(k)}`);
    }
    return;
  }
  assert.deepStrictEqual(actual, expected, path);
}

const roundTrip = (records: unknown[]) => decodeBatch(encodeBatch(records));
const isColumns = (w: WireBatch) => !(w instanceof ArrayBuffer);

/** Round-trips `records` and checks the result is what node:v8 gives; returns whether the columns carried it. */
function check(records: unknown[]): boolean {
  const w = encodeBatch(records);
  const columns = isColumns(w);
  assertSame(decodeBatch(w), viaV8(records));
  return columns;
}

const primitive = fc.oneof(
  fc.double(), // includes -0, NaN, ±Infinity
  fc.integer(),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }), // lone surrogates
  fc.string({ minLength: 13, maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

describe('BatchCodec', () => {
  test('uniform flat records go as columns and arrive equal, in the same shape', () => {
    const records = Array.from({ length: 1024 }, (_, i) => ({ key: `key-${i % 100}`, sum: i, emitted: undefined as number | undefined }));
    assert.ok(check(records));
    const out = roundTrip(records) as typeof records;
    assert.ok(out.every((r) => Object.getPrototypeOf(r) === Object.prototype));
    assert.ok('emitted' in out[0], 'an undefined field stays a field');
  });

  test('numbers keep -0, NaN, infinities, fractions and values beyond int32 and 2^53', () => {
    const xs = [-0, 0, NaN, Infinity, -Infinity, 0.1, -1.5e-300, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 1, -1, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, 5e-324];
    assert.ok(check(xs.map((x) => ({ x }))));
    assert.ok(check(xs), 'bare numbers');
    assert.ok(Object.is((roundTrip([{ x: -0 }])[0] as { x: number }).x, -0));
  });

  test('strings: empty, two-byte, lone surrogates, line separators, quotes, and long ones (the JSON form)', () => {
    const ss = ['', 'a', '"\\\'', '\u2028\u2029', '\ud800', 'x\udfffy', '😀', 'ünïcödé', '\0\x01\x7f\xff', 'ab'.repeat(6), 'exactly-13ch', 'exactly-13chr'];
    assert.ok(check(ss.map((s, i) => ({ s, i }))));
    assert.ok(check(ss), 'bare strings');
    const long = Array.from({ length: 300 }, (_, i) => ({ k: `a-much-longer-key-${i}`, v: i }));
    const w = encodeBatch(long);
    assert.ok(isColumns(w) && (w as { j?: 1 }).j === 1, 'a batch with a string of 13+ chars carries its strings as JSON');
    assertSame(decodeBatch(w), viaV8(long));
    const short = encodeBatch([{ k: 'short' }]);
    assert.ok(isColumns(short) && (short as { j?: 1 }).j === undefined, 'short strings are joined');
  });

  test('a field may change type from record to record', () => {
    const vals = [1, 'one', true, false, null, undefined, -0, '', NaN];
    assert.ok(check(vals.map((v) => ({ a: v, b: vals[(vals.indexOf(v) + 3) % vals.length] }))));
    assert.ok(check(vals), 'bare primitives of every kind');
  });

  test('odd field names: integer-like, quotes, unicode, empty, constructor', () => {
    assert.ok(check([{ 2: 'b', 10: 'c', x: 1 }, { 2: 'e', 10: 'f', x: 2 }]));
    assert.ok(check([{ '': 1, '"': 2, '\\': 3, '\u2028': 4, 'ünï': 5, constructor: 6, '}); throw 1; ({': 7 }]));
    assert.ok(check([{}, {}, {}]), 'empty objects');
  });

  test('everything else falls back to node:v8 and arrives as before', () => {
    class Point {
      constructor(readonly x: number, readonly y: number) {}
    }
    const nonEnumerable = Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false });
    const withGetter = { get g() { return 7; }, a: 1 };
    const ownProto = JSON.parse('{"__proto__": 1, "a": 2}') as object;
    const cases: [string, unknown[], boolean][] = [
      ['a Date', [{ t: new Date(5) }], false],
      ['a Map and a Set', [{ m: new Map([[{ k: 1 }, new Set([1])]]) }], false],
      ['an invalid Date in a Set (fast-check found it)', [[new Set([new Date(NaN)]), new Map([])]], false],
      ['a nested object', [{ o: { p: 1 } }], false],
      ['an array field', [{ a: [1, undefined, 3] }], false],
      ['array records', [[1, 'a'], [2, 'b']], false],
      ['a typed array', [{ u: new Uint8Array([1, 2]) }], false],
      ['a bigint', [{ n: 12n }], false],
      ['bare bigints', [1n, 2n], false],
      ['a class instance', [new Point(1, 2)], false],
      ['a null-prototype object', [Object.assign(Object.create(null) as object, { a: 1 })], false],
      ['an own __proto__ field', [ownProto], false],
      ['two shapes', [{ a: 1 }, { b: 1 }], false],
      ['the same names in another order', [{ a: 1, b: 2 }, { b: 2, a: 1 }], false],
      ['an extra field', [{ a: 1 }, { a: 1, b: 2 }], false],
      ['a missing field', [{ a: 1, b: 2 }, { a: 1 }], false],
      ['objects after primitives', [1, { a: 1 }], false],
      ['primitives after objects', [{ a: 1 }, 1], false],
      ['an object sharing a nested value', (() => { const shared = { s: 1 }; return [{ x: shared, y: shared }]; })(), false],
      ['a non-enumerable property (not sent, like node:v8)', [nonEnumerable, { a: 2 }], true],
      ['a getter (its value is sent, like node:v8)', [withGetter], true],
    ];
    for (const [what, records, columns] of cases) {
      assert.equal(isColumns(encodeBatch(records)), columns, `${what}: ${columns ? 'columns' : 'node:v8'}`);
      assertSame(roundTrip(records), viaV8(records), what);
    }
    const shared = { s: 1 };
    const [r] = roundTrip([{ x: shared, y: shared }]) as { x: object; y: object }[];
    assert.equal(r.x, r.y, 'node:v8 keeps the identity of a value referenced twice');
  });

  test('an inherited enumerable property (a polluted Object.prototype) is not taken for a field', () => {
    const proto = Object.prototype as Record<string, unknown>;
    Object.defineProperty(proto, 'polluted', { value: 1, enumerable: true, configurable: true, writable: true });
    try {
      const records = [{ a: 1 }, { a: 2 }];
      assert.equal(isColumns(encodeBatch(records)), false);
      const out = roundTrip(records) as object[];
      assert.deepStrictEqual(Object.keys(out[0]), ['a']);
    } finally {
      delete proto.polluted;
    }
  });

  test('what node:v8 cannot clone fails the same way', () => {
    for (const records of [[{ f: () => 1 }], [{ s: Symbol('x') }], [Symbol('y')]]) {
      let expected: unknown;
      try {
        serialize(records);
      } catch (e) {
        expected = e;
      }
      assert.ok(expected instanceof Error, 'node:v8 refuses it');
      assert.throws(() => encodeBatch(records), (e: Error) => e.constructor === expected.constructor && e.message === expected.message);
    }
  });

  test('property: any batch of flat records or primitives round-trips as node:v8 does', () => {
    const names = fc.uniqueArray(fc.oneof(fc.constantFrom('key', 'sum', 'emitted', 'a', 'b', '1', '__proto__'), fc.string({ maxLength: 6 })), { maxLength: 5 });
    const flatBatch = names.chain((ks) =>
      fc.array(fc.tuple(...ks.map(() => primitive)).map((vs) => {
        const o: Record<string, unknown> = {};
        ks.forEach((k, i) => Object.defineProperty(o, k, { value: vs[i], enumerable: true, writable: true, configurable: true }));
        return o;
      }), { minLength: 1, maxLength: 40 }));
    fc.assert(fc.property(flatBatch, (records) => void check(records)), { numRuns: 400 });
    fc.assert(fc.property(fc.array(primitive, { minLength: 1, maxLength: 60 }), (records) => assert.ok(check(records))), { numRuns: 300 });
    // Anything at all: the codec's choice never changes what arrives.
    fc.assert(fc.property(fc.array(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true, withBoxedValues: true }), { minLength: 1, maxLength: 10 }), (records) => void check(records)), { numRuns: 400 });
  });

  test('over a MessagePort, with its buffers transferred: the same records and the same byte count', async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const batches: unknown[][] = [
        Array.from({ length: 1024 }, (_, i) => ({ key: `key-${i}`, sum: i / 3, ok: i % 2 === 0, none: null })),
        Array.from({ length: 100 }, (_, i) => `a word that is longer than thirteen chars ${i}`),
        [{ d: new Date(1) }],
        ['\ud800', '\udc00', 'a\udfff', '😀'], // lone halves that join into a pair, cut apart again
        ['\ud800', '\udc00', 'a string of thirteen+ \udfff'], // the same as JSON
      ];
      const got = new Promise<{ records: unknown[]; bytes: number }[]>((resolve) => {
        const out: { records: unknown[]; bytes: number }[] = [];
        port2.on('message', (w: WireBatch) => {
          out.push({ records: decodeBatch(w), bytes: wireBytes(w) });
          if (out.length === batches.length) resolve(out);
        });
      });
      const sent: number[] = [];
      for (const b of batches) {
        const w = encodeBatch(b);
        sent.push(wireBytes(w));
        port1.postMessage(w, transferables(w));
        assert.equal(transferables(w)[0].byteLength, 0, 'transferred, not copied');
      }
      const received = await got;
      received.forEach((r, i) => {
        assertSame(r.records, viaV8(batches[i]));
        assert.equal(r.bytes, sent[i]);
      });
    } finally {
      port1.close();
    }
  });

  test('without code generation from strings (node --disallow-code-generation-from-strings) every test above passes too', { skip: process.env.BATCH_CODEC_NO_CODEGEN === '1' && 'this is that run' }, () => {
    const env: NodeJS.ProcessEnv = { ...process.env, BATCH_CODEC_NO_CODEGEN: '1' };
    delete env.NODE_TEST_CONTEXT; // a test run of its own, reporting as text
    const r = spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', '--test', fileURLToPath(import.meta.url)], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /# pass 10\b/);
    assert.match(r.stdout, /# fail 0\b/);
  });
});
