/**
 * The worker's record path without native (de)serializers per value: FastV8Codec writes V8's own bytes for the
 * common shapes (node:v8 reads them, and they equal v8.serialize's), falls back to node:v8 for everything else, and
 * reads V8's bytes as node:v8 does; FrameReader cuts frames out of chunks of any size.
 */
import assert from 'node:assert/strict';
import { deserialize, serialize } from 'node:v8';
import { describe, it } from 'node:test';
import { fastDeserialize, fastSerialize } from '../../src/core/FastV8Codec.js';
import { BinReader, BinWriter, FrameReader } from '../../src/flink/worker/Frames.js';

const shared = { x: 1 };
const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;
// eslint-disable-next-line no-sparse-arrays
const holey = [1, , 3];
const fastShapes: unknown[] = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1.5, -0, NaN, Infinity, -Infinity, 'abc', '', 'é', 'a'.repeat(300),
  true, false, null, undefined, { key: 'k1', sum: 3, emitted: 1.5e12 }, [1, 'x', [2, { y: null }]], {}, [], { nested: { deep: { v: [1.25, -7, 'z'] } } }];
const otherShapes: unknown[] = ['日本', { 1: 2 }, holey, new Date(5), new Map([[1, { a: 2 }]]), new Set(['s']), 10n, { s: shared, t: shared }, Buffer.from('hi'),
  new Uint8Array([1, 2]), Array.from({ length: 500 }, (_, i) => ({ i })), Object.assign(Object.create(null), { a: 1 }), Object.assign([1, 2], { p: 3 }), { ключ: 1 }, { ['__proto__']: 1 }, cyclic];

describe('FastV8Codec', () => {
  it("writes V8's bytes for the common shapes", () => {
    for (const v of fastShapes) assert.deepEqual(fastSerialize(v), serialize(v), `value ${fastShapes.indexOf(v)}`);
  });
  it('round-trips every shape as node:v8 does, in both directions', () => {
    for (const v of [...fastShapes, ...otherShapes]) {
      const expected = deserialize(serialize(v));
      assert.deepStrictEqual(deserialize(fastSerialize(v)), expected);
      assert.deepStrictEqual(fastDeserialize(serialize(v)), expected);
      assert.deepStrictEqual(fastDeserialize(fastSerialize(v)), expected);
    }
    const back = fastDeserialize(fastSerialize(cyclic)) as Record<string, unknown>;
    assert.equal(back.self, back);
  });
  it('rejects bytes that are not V8 format as node:v8 does', () => {
    assert.throws(() => fastDeserialize(Buffer.from([1, 2, 3])));
  });
});

describe('FrameReader', () => {
  it('cuts frames out of arbitrary chunks', () => {
    const big = Buffer.alloc(300_000, 7);
    const stream = Buffer.concat([new BinWriter().int(42).frame(3), new BinWriter().bytes(big).frame(4), new BinWriter().string('ñ').frame(5)]);
    for (const size of [1, 3, 4096, 65536, stream.length]) {
      const reader = new FrameReader();
      const frames: Array<{ type: number; payload: Buffer }> = [];
      for (let i = 0; i < stream.length; i += size) frames.push(...reader.push(stream.subarray(i, i + size)));
      assert.deepEqual(frames.map((f) => f.type), [3, 4, 5]);
      assert.equal(new BinReader(frames[0].payload).int(), 42);
      assert.deepEqual(new BinReader(frames[1].payload).bytes(), big);
      assert.equal(new BinReader(frames[2].payload).string(), 'ñ');
    }
  });
  it('reads and writes longs as numbers without bigints', () => {
    for (const v of [0, 1, -1, 1_700_000_000_123, -(2 ** 53) + 1, 2 ** 53 - 1]) {
      const w = new BinWriter().longNumber(v);
      const payload = w.frame(0).subarray(5);
      assert.equal(new BinReader(payload).longNumber(), v);
      assert.equal(new BinReader(payload).long(), BigInt(v));
    }
    assert.equal(new BinReader(new BinWriter().long(-(2n ** 63n)).frame(0).subarray(5)).longNumber(), -(2 ** 63));
  });
});
