import { unpackBinary, type BinaryColumn, type PackedKeys } from './BinaryChunk.js';
import type { TaggedFlat } from './StateCodec.js';

/**
 * The columnar form of a keyed chunk, the heap backend's native checkpoint format: the chunk's keys as one
 * array, and its values as columns when they are uniform: all numbers (one Float64Array), or all plain
 * objects of one shape (one column per field: an Int32Array or Float64Array when every value of the field is a number, the
 * marker KEY when it is the entry's own key, otherwise an array of the values).
 *
 * Why: V8's serializer writes a million small objects in about 650 ms (every property name again, value by
 * value), which at checkpoints every second eats most of a task's thread. Typed-array columns are copied as
 * bytes, an array of strings is a tight loop: the same state packs in a fraction of that time (see
 * docs/benchmarks.md, "Heap snapshot off the critical path"). Chunks that are not uniform (TTL pairs, lists,
 * maps, class instances, mixed values) stay in the row form `[key0, value0, ...]`. Readers never see the
 * difference: decodeKeyedChunk unpacks.
 */
export interface ColumnarChunk {
  columnar: 1;
  /** PackedKeys: a binary key group's chunk (BinaryChunk.ts). */
  keys: unknown[] | PackedKeys;
  /** Absent: every value is a number, in cols[0]. */
  shape?: string[];
  cols: Column[];
  format?: TaggedFlat['format'];
}
type Column = Int32Array | Float64Array | unknown[] | typeof KEY | BinaryColumn;

/** Number of entries in a columnar chunk. */
export function columnarSize(c: ColumnarChunk): number {
  return Array.isArray(c.keys) ? c.keys.length : c.keys.len.length;
}
/** A field whose value is the entry's key (records that carry their key, the common case of a keyed stream). */
const KEY = 0;
/** Below this many entries the row form is as fast and smaller. */
const MIN_ENTRIES = 16;

const OBJECT_PROTO = Object.prototype;
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === OBJECT_PROTO;

/** Packs entries [start, end) of `entries`, or undefined when their values are not uniform. */
export function packColumnar(entries: readonly { k: unknown; v: unknown }[], start: number, end: number): ColumnarChunk | undefined {
  return packColumns(entries.map((e) => e.k), entries.map((e) => e.v), start, end);
}

/** Packs entries [start, end) of parallel `keys` and `values` (a heap key group's view), or undefined when the values are not uniform. */
export function packColumns(keys: readonly unknown[], values: readonly unknown[], start: number, end: number): ColumnarChunk | undefined {
  const n = end - start;
  if (n < MIN_ENTRIES) return undefined;
  const v0 = values[start];
  if (typeof v0 === 'number') {
    const nums = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const v = values[start + i];
      if (typeof v !== 'number') return undefined;
      nums[i] = v;
    }
    return { columnar: 1, keys: keys.slice(start, end), cols: [numbers(n, (i) => nums[i])] };
  }
  if (!isPlain(v0)) return undefined;
  const shape = Object.keys(v0);
  // Index-like names would be reordered by the engine: not worth the risk.
  if (shape.length === 0 || shape.some((f) => /^\d+$/.test(f))) return undefined;
  const nf = shape.length;
  const recs = new Array<Record<string, unknown>>(n);
  for (let i = 0; i < n; i++) {
    const v = values[start + i];
    if (!sameShape(v, shape, nf)) return undefined;
    recs[i] = v;
  }
  const ks = keys.slice(start, end);
  const cols: Column[] = shape.map((f) => column(ks, recs, f));
  return { columnar: 1, keys: ks, shape, cols };
}

function sameShape(v: unknown, shape: string[], nf: number): v is Record<string, unknown> {
  if (!isPlain(v)) return false;
  let j = 0;
  // Own enumerable names in creation order: the same shape is the same names in the same order.
  for (const f in v) if (j >= nf || shape[j++] !== f) return false;
  return j === nf;
}

function column(keys: unknown[], values: Record<string, unknown>[], f: string): Column {
  const n = keys.length;
  let isKey = true;
  let nums = true;
  for (let i = 0; i < n && (isKey || nums); i++) {
    const x = values[i][f];
    if (!Object.is(x, keys[i])) isKey = false;
    if (typeof x !== 'number') nums = false;
  }
  if (isKey) return KEY;
  if (nums) return numbers(n, (i) => values[i][f] as number);
  const col = new Array<unknown>(n);
  for (let i = 0; i < n; i++) col[i] = values[i][f];
  return col;
}

/** A number column: Int32Array when every value is a 32-bit integer (not -0), else Float64Array. */
function numbers(n: number, at: (i: number) => number): Int32Array | Float64Array {
  let ints = true;
  for (let i = 0; i < n && ints; i++) {
    const x = at(i);
    if ((x | 0) !== x || Object.is(x, -0)) ints = false;
  }
  const col = ints ? new Int32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) col[i] = at(i);
  return col;
}

export function isColumnar(x: unknown): x is ColumnarChunk {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && (x as ColumnarChunk).columnar === 1;
}

/** The row form `[key0, value0, ...]` of a columnar chunk, with its format tag. */
export function unpackColumnar(c: ColumnarChunk): TaggedFlat {
  if (!Array.isArray(c.keys)) return unpackBinary(c, c.keys);
  const { keys, shape, cols } = c;
  const n = keys.length;
  const flat: TaggedFlat = new Array(n * 2);
  if (!shape) {
    const col = cols[0] as Int32Array | Float64Array;
    for (let i = 0; i < n; i++) {
      flat[i * 2] = keys[i];
      flat[i * 2 + 1] = col[i];
    }
  } else {
    const nf = shape.length;
    for (let i = 0; i < n; i++) {
      const o: Record<string, unknown> = {};
      for (let j = 0; j < nf; j++) {
        const col = cols[j];
        o[shape[j]] = col === KEY ? keys[i] : (col as ArrayLike<unknown>)[i];
      }
      flat[i * 2] = keys[i];
      flat[i * 2 + 1] = o;
    }
  }
  if (c.format) flat.format = c.format;
  return flat;
}
