import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import {
  assignToKeyGroup, checkParallelism, computeKeyGroupRangeForOperatorIndex, computeOperatorIndexForKeyGroup,
  DEFAULT_MAX_PARALLELISM, hashKey, murmurString, normalizeKey, UPPER_BOUND_MAX_PARALLELISM,
} from '../../src/state/KeyGroupRangeAssignment.js';

/**
 * Independent byte-level MurmurHash3 x86_32 (as in SMHasher), with the length mixed into the
 * finalization given separately: murmurString hashes the UTF-16LE bytes of a string but mixes in the
 * number of code units, not of bytes.
 */
function murmur3Bytes(bytes: Uint8Array, seed: number, finalLength = bytes.length): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = Math.floor(bytes.length / 4);
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  for (let i = 0; i < blocks; i++) {
    let k = (bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) | (bytes[4 * i + 3] << 24)) >>> 0;
    k = Math.imul(k, c1) >>> 0;
    k = rotl(k, 15);
    k = Math.imul(k, c2) >>> 0;
    h = (h ^ k) >>> 0;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest >= 3) k ^= bytes[tail + 2] << 16;
    if (rest >= 2) k ^= bytes[tail + 1] << 8;
    k ^= bytes[tail];
    k = Math.imul(k, c1) >>> 0;
    k = rotl(k, 15);
    k = Math.imul(k, c2) >>> 0;
    h = (h ^ k) >>> 0;
  }
  h = (h ^ finalLength) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

const utf16le = (s: string) => new Uint8Array(Buffer.from(s, 'utf16le'));
/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

describe('KeyGroupRange', () => {
  test('size, contains, intersection and JSON round trip', () => {
    const r = new KeyGroupRange(3, 7);
    assert.equal(r.size, 5);
    assert.ok(r.contains(3) && r.contains(7) && r.contains(5));
    assert.ok(!r.contains(2) && !r.contains(8));
    assert.deepEqual(r.toJSON(), [3, 7]);
    assert.deepEqual(KeyGroupRange.of(r.toJSON()), r);
    assert.equal(JSON.stringify(r), '[3,7]');

    const i = r.intersection(new KeyGroupRange(6, 20));
    assert.deepEqual([i.start, i.end, i.size], [6, 7, 2]);
    const none = r.intersection(new KeyGroupRange(8, 9));
    assert.equal(none.size, 0);
    for (let kg = 0; kg < 12; kg++) assert.equal(none.contains(kg), false);
    assert.equal(new KeyGroupRange(5, 4).size, 0);
    assert.equal(new KeyGroupRange(0, 0).size, 1);
  });

  test('intersection contains exactly the key groups in both ranges (property)', () => {
    const range = fc.tuple(fc.nat(60), fc.nat(60)).map(([a, b]) => new KeyGroupRange(Math.min(a, b), Math.max(a, b)));
    fc.assert(
      fc.property(range, range, (a, b) => {
        const i = a.intersection(b);
        let n = 0;
        for (let kg = 0; kg <= 61; kg++) {
          const both = a.contains(kg) && b.contains(kg);
          assert.equal(i.contains(kg), both);
          if (both) n++;
        }
        assert.equal(i.size, n);
      }),
      { numRuns: 500 },
    );
  });
});

describe('key group assignment to operator indices', () => {
  test('ranges per operator index partition [0, maxParallelism) consistently with computeOperatorIndexForKeyGroup (property)', () => {
    const arb = fc.integer({ min: 1, max: 4096 }).chain((maxP) => fc.tuple(fc.constant(maxP), fc.integer({ min: 1, max: maxP })));
    fc.assert(
      fc.property(arb, ([maxP, p]) => {
        const owner = new Int32Array(maxP).fill(-1);
        let expectedStart = 0;
        for (let op = 0; op < p; op++) {
          const r = computeKeyGroupRangeForOperatorIndex(maxP, p, op);
          // contiguous, no gap and no overlap with the previous range, and never empty (p <= maxP)
          assert.equal(r.start, expectedStart, `maxP=${maxP} p=${p} op=${op}`);
          assert.ok(r.size >= 1, `empty range for op ${op} (maxP=${maxP}, p=${p})`);
          for (let kg = r.start; kg <= r.end; kg++) {
            assert.equal(owner[kg], -1, `key group ${kg} owned twice`);
            owner[kg] = op;
          }
          expectedStart = r.end + 1;
        }
        assert.equal(expectedStart, maxP, 'the ranges end at maxParallelism - 1');
        for (let kg = 0; kg < maxP; kg++) {
          const op = computeOperatorIndexForKeyGroup(maxP, p, kg);
          assert.ok(op >= 0 && op < p);
          assert.equal(op, owner[kg], `key group ${kg}: computeOperatorIndexForKeyGroup=${op}, range owner=${owner[kg]}`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('range sizes differ by at most one (even distribution)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4096 }).chain((m) => fc.tuple(fc.constant(m), fc.integer({ min: 1, max: m }))), ([maxP, p]) => {
        const sizes = Array.from({ length: p }, (_, op) => computeKeyGroupRangeForOperatorIndex(maxP, p, op).size);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
      }),
      { numRuns: 300 },
    );
  });

  test('known assignments (Flink formula)', () => {
    assert.deepEqual(computeKeyGroupRangeForOperatorIndex(128, 3, 0).toJSON(), [0, 42]);
    assert.deepEqual(computeKeyGroupRangeForOperatorIndex(128, 3, 1).toJSON(), [43, 85]);
    assert.deepEqual(computeKeyGroupRangeForOperatorIndex(128, 3, 2).toJSON(), [86, 127]);
    assert.deepEqual(computeKeyGroupRangeForOperatorIndex(128, 1, 0).toJSON(), [0, 127]);
    assert.deepEqual(computeKeyGroupRangeForOperatorIndex(4, 4, 2).toJSON(), [2, 2]);
    assert.equal(computeOperatorIndexForKeyGroup(128, 3, 42), 0);
    assert.equal(computeOperatorIndexForKeyGroup(128, 3, 43), 1);
    assert.equal(computeOperatorIndexForKeyGroup(128, 3, 127), 2);
    assert.equal(DEFAULT_MAX_PARALLELISM, 128);
  });

  test('assignToKeyGroup stays within [0, maxParallelism) and is deterministic (property)', () => {
    fc.assert(
      fc.property(fc.anything(), fc.integer({ min: 1, max: UPPER_BOUND_MAX_PARALLELISM }), (key, maxP) => {
        // No escape hatch: any value fast-check generates must get a key group (a throw fails the property).
        const kg = assignToKeyGroup(key, maxP);
        assert.ok(Number.isInteger(kg) && kg >= 0 && kg < maxP);
        assert.equal(assignToKeyGroup(structuredCloneSafe(key), maxP), kg);
      }),
      { numRuns: 1000 },
    );
  });

  test('checkParallelism bounds', () => {
    assert.doesNotThrow(() => checkParallelism(1, 1));
    assert.doesNotThrow(() => checkParallelism(128, 128));
    assert.doesNotThrow(() => checkParallelism(1, UPPER_BOUND_MAX_PARALLELISM));
    assert.throws(() => checkParallelism(1, 0), RangeError);
    assert.throws(() => checkParallelism(1, UPPER_BOUND_MAX_PARALLELISM + 1), RangeError);
    assert.throws(() => checkParallelism(129, 128), /Parallelism 129 is higher than the max parallelism 128/);
    assert.equal(UPPER_BOUND_MAX_PARALLELISM, 32768);
  });
});

/** A copy of a value that is equal by value but not by identity (where structuredClone can copy it). */
function structuredCloneSafe(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    return v;
  }
}

describe('hashing is stable (savepoint compatibility)', () => {
  test('the reference MurmurHash3 matches published test vectors', () => {
    const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
    assert.equal(murmur3Bytes(ascii(''), 0), 0);
    assert.equal(murmur3Bytes(ascii(''), 1), 0x514e28b7);
    assert.equal(murmur3Bytes(ascii(''), 0xffffffff), 0x81f16f39);
    assert.equal(murmur3Bytes(new Uint8Array(4), 0), 0x2362f9de);
    assert.equal(murmur3Bytes(ascii('aaaa'), 0x9747b28c), 0x5a97808a);
    assert.equal(murmur3Bytes(ascii('abc'), 0), 0xb3dd93fa);
    assert.equal(murmur3Bytes(ascii('Hello, world!'), 0x9747b28c), 0x24884cba);
    assert.equal(murmur3Bytes(ascii('The quick brown fox jumps over the lazy dog'), 0x9747b28c), 0x2fa826cd);
  });

  test('murmurString is MurmurHash3 (seed 0x9747b28c) of the UTF-16LE code units, length in code units (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: codeUnit, maxLength: 40 }), (s) => {
        assert.equal(murmurString(s), murmur3Bytes(utf16le(s), 0x9747b28c, s.length));
      }),
      { numRuns: 1000 },
    );
  });

  test('pinned hash values of strings', () => {
    const pinned: Array<[string, number]> = [
      ['', 3954623016], ['a', 2141232806], ['ab', 1395310093], ['abc', 1515432033], ['hello', 4124356749],
      ['flink', 1470776311], ['key-42', 69973771], ['äöü€😀', 2172465887],
    ];
    for (const [s, h] of pinned) assert.equal(murmurString(s), h, `murmurString(${JSON.stringify(s)})`);
  });

  test('pinned hash values and key groups (max parallelism 128) of keys of every kind', () => {
    const pinned: Array<[unknown, number, number]> = [
      [0, 2849029338, 90], [1, 3981615848, 104], [42, 103169990, 70], [-1, 3897885535, 95], [1.5, 3817212479, 63],
      ['1', 1957450686, 62], [true, 4280525758, 62], [false, 1684898620, 60], [null, 1790227418, 90],
      [undefined, 1162050270, 94], [10n, 1537986655, 95], [[1, 'a'], 3550515309, 109], [{ id: 7 }, 2186011473, 81],
      [new Date(0), 3944728358, 38],
    ];
    for (const [key, h, kg] of pinned) {
      assert.equal(hashKey(normalizeKey(key)), h, `hash of ${String(key)}`);
      assert.equal(assignToKeyGroup(key, 128), kg, `key group of ${String(key)}`);
    }
  });

  test('hashes are unsigned 32-bit integers (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const h = murmurString(s);
        assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff);
      }),
      { numRuns: 500 },
    );
  });
});

describe('normalizeKey equality semantics', () => {
  const same = (a: unknown, b: unknown) => {
    const m = new Map<unknown, number>([[normalizeKey(a), 1]]);
    return m.has(normalizeKey(b));
  };

  test('a number and its string are distinct keys, also in their hash', () => {
    assert.equal(same(1, '1'), false);
    assert.notEqual(hashKey(normalizeKey(1)), hashKey(normalizeKey('1')));
    assert.equal(same(true, 'true'), false);
    assert.equal(same(10n, 10), false);
    assert.equal(same(10n, '10'), false);
    assert.equal(same(null, 'null'), false);
    assert.equal(same(undefined, 'undefined'), false);
    assert.equal(same(null, undefined), false);
  });

  test('primitives are their own normalized keys', () => {
    for (const k of ['x', 3, 0, true, false, 7n, null, undefined]) assert.equal(normalizeKey(k), k);
    assert.ok(Number.isNaN(normalizeKey(NaN)));
    assert.ok(same(NaN, NaN));
    assert.ok(same(0, -0));
    assert.equal(hashKey(normalizeKey(0)), hashKey(normalizeKey(-0)), '0 and -0 are the same Map key, so they must hash alike');
  });

  test('arrays and objects compare by value', () => {
    assert.ok(same([1, 'a'], [1, 'a']));
    assert.ok(same({ id: 7, name: 'x' }, { id: 7, name: 'x' }));
    assert.ok(same([[1, 2], { a: [3] }], [[1, 2], { a: [3] }]));
    assert.equal(same([1, 'a'], ['a', 1]), false);
    assert.equal(same([1, 2], [1, '2']), false);
    assert.equal(same([1], 1), false);
    assert.equal(same({ id: 7 }, { id: 8 }), false);
    assert.equal(same(['1'], '1'), false);
    assert.equal(hashKey(normalizeKey([1, 'a'])), hashKey(normalizeKey([1, 'a'])));
  });

  test('dates compare by their time', () => {
    assert.ok(same(new Date(1000), new Date(1000)));
    assert.equal(same(new Date(1000), new Date(1001)), false);
    assert.equal(same(new Date(1000), 1000), false);
  });

  test('equal JSON values normalize alike and hash alike (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const copy = JSON.parse(JSON.stringify(v));
        assert.ok(same(v, copy));
        assert.equal(hashKey(normalizeKey(v)), hashKey(normalizeKey(copy)));
      }),
      { numRuns: 500 },
    );
  });

  test('objects with the same fields in a different insertion order are the same key ("canonical JSON form")', () => {
    // Compared by value, {a:1,b:2} and {b:2,a:1} are equal; a key selector that builds the object in another
    // order (or a record parsed from JSON with another field order) must reach the same state.
    assert.ok(same({ a: 1, b: 2 }, { b: 2, a: 1 }), 'normalizeKey({a:1,b:2}) !== normalizeKey({b:2,a:1})');
    assert.equal(assignToKeyGroup({ a: 1, b: 2 }, 128), assignToKeyGroup({ b: 2, a: 1 }, 128));
  });

  test('composite keys holding a bigint can be normalized', () => {
    // bigint is a supported key type on its own, so a tuple key containing one must work too.
    assert.doesNotThrow(() => normalizeKey([1, 10n]));
    assert.ok(same([1, 10n], [1, 10n]));
    assert.equal(same([1, 10n], [1, 11n]), false);
    assert.equal(same([1, 10n], [1, 10]), false);
  });

  test('a string key never collides with a composite key', () => {
    // normalizeKey returns strings unchanged and encodes objects as "\u0000" + JSON: a string starting with NUL
    // must still not share its state with an array key.
    assert.equal(same('\u0000[1,2]', [1, 2]), false);
  });
});
