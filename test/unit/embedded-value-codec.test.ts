/** The embedded backend's compact row encoding gives back exactly what V8's serializer would, or declines. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { decodeRow, encodeRow, T_JS, T_V8 } from '../../src/state/EmbeddedRows.js';

/** Row bytes of a value (copied: encodeRow may hand out a reused buffer), its tag and the value read back. */
function roundTrip(v: unknown): { tag: number; back: unknown } {
  const b = Buffer.from(encodeRow(0, 'k', 'k', v));
  return { tag: b[2], back: decodeRow(b, 'k')[2] };
}

test('plain records, tuples and their primitives round-trip exactly, in the compact encoding', () => {
  const values: unknown[] = [
    { key: 'key-1', sum: 1, emitted: undefined },
    { a: -0, b: NaN, c: 1.5, d: 2 ** 31, e: -(2 ** 31), f: Infinity, g: null, h: true, i: false },
    ['x'.repeat(100), 'ü'.repeat(30), '日本', '\ud800 lone surrogate', ''],
    { 1: 'a', b: 2, 0: 'c' },
    JSON.parse('{"__proto__": {"x": 1}, "y": [1, [2, {"z": null}]]}'),
    [], {}, [[[]]],
  ];
  for (const v of values) {
    const { tag, back } = roundTrip(v);
    assert.equal(tag, T_JS, JSON.stringify(v));
    assert.deepStrictEqual(back, deserialize(serialize(v)));
    assert.deepStrictEqual(Object.keys(back as object), Object.keys(v as object), 'property order');
    assert.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(v));
  }
  const neg = roundTrip({ a: -0 }).back as { a: number };
  assert.ok(Object.is(neg.a, -0));
  const own = roundTrip(JSON.parse('{"__proto__": 5}')).back as object;
  assert.equal(Object.getPrototypeOf(own), Object.prototype, 'an own __proto__ property stays a property');
  assert.deepStrictEqual(Object.keys(own), ['__proto__']);
});

test('what it cannot give back exactly goes to V8: classes, holes, shared objects, cycles, bigint, deep nesting', () => {
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = [deep];
  const withExtra = Object.assign([1, 2], { extra: true });
  const values: unknown[] = [
    new Date(5), new Map([[1, 2]]), new Set([1]), new Uint8Array([1, 2]), [1, , 3], Object.create(null), { big: 10n },
    { a: shared, b: shared }, cyclic, deep, withExtra, { d: new Date(0) },
  ];
  for (const v of values) {
    const { tag, back } = roundTrip(v);
    assert.equal(tag, T_V8);
    assert.deepStrictEqual(back, deserialize(serialize(v)));
  }
  const s = roundTrip({ a: shared, b: shared }).back as { a: object; b: object };
  assert.equal(s.a, s.b, 'a shared object stays shared');
});
