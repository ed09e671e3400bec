import { readCell, Tag } from './BinaryValueShape.js';
import type { ColumnarChunk } from './ColumnarChunk.js';
import type { TaggedFlat } from './StateCodec.js';

/**
 * A binary key group (BinaryKeyGroup.ts) as a checkpoint chunk: its rows as a few typed arrays, which V8's
 * serializer copies as bytes. The columnar chunk's binary form (ColumnarChunk.ts): `keys` is PackedKeys,
 * `cols` are BinaryColumns, one per field of `shape` (one for a state of plain numbers).
 */

/** Keys as latin-1 bytes and lengths: in row order when `off` is absent; a length of -1 is a number key in `nums`. */
export interface PackedKeys {
  latin1: Uint8Array;
  len: Int8Array | Int32Array;
  off?: Int32Array;
  nums?: Float64Array;
}

/**
 * A value column: 0, the entry's own key in every row (ColumnarChunk's KEY); `{ tag }`, one tagged value in
 * every row (undefined, say); 32-bit integers; or cells (doubles, NaN payloads tagged, BinaryValueShape.ts).
 */
export type BinaryColumn = 0 | { tag: number } | Int32Array | { cells: Float64Array };

/** The rows of a binary key group as the pack reads them: row-major cells of `width` each. */
export interface Rows {
  n: number;
  width: number;
  keyBytes: Uint8Array;
  keyEnd: number;
  rowOff: Int32Array;
  rowLen: Int16Array;
  rowNum: Float64Array;
  /** Key bytes lie in row order without gaps (no delete since the last compaction). */
  inOrder: boolean;
  /** No key is longer than this. */
  maxLen: number;
  cells: Float64Array;
  words: Uint32Array;
}

/** Rows in buffers of their own. */
export function copyRows(r: Rows): Rows {
  const cells = r.cells.slice(0, r.n * r.width);
  return {
    ...r,
    keyBytes: r.keyBytes.slice(0, r.keyEnd),
    rowOff: r.inOrder ? new Int32Array(0) : r.rowOff.slice(0, r.n),
    rowLen: r.rowLen.slice(0, r.n),
    rowNum: r.rowNum.length > 0 ? r.rowNum.slice(0, r.n) : new Float64Array(0),
    cells,
    words: new Uint32Array(cells.buffer),
  };
}

/** The chunk of `r`; it may share the key bytes with `r` (it is serialized before they change). */
export function packRows(r: Rows, fields: string[] | undefined): ColumnarChunk {
  const { n, width: w } = r;
  const len = r.maxLen <= 127 ? new Int8Array(n) : new Int32Array(n);
  len.set(r.rowLen.subarray(0, n));
  const keys: PackedKeys = { latin1: r.keyBytes.subarray(0, r.keyEnd), len };
  if (!r.inOrder) keys.off = r.rowOff.subarray(0, n);
  if (r.rowNum.length > 0) keys.nums = r.rowNum.subarray(0, n);
  const cols: BinaryColumn[] = [];
  for (let j = 0; j < w; j++) cols.push(column(r, j));
  return { columnar: 1, keys, shape: fields, cols };
}

function column(r: Rows, j: number): BinaryColumn {
  const { n, width: w, cells, words } = r;
  const x0 = cells[j];
  if (x0 !== x0) {
    const lo = words[2 * j];
    const hi = words[2 * j + 1];
    let same = true;
    for (let i = 1; i < n && same; i++) same = words[2 * (i * w + j)] === lo && words[2 * (i * w + j) + 1] === hi;
    if (same) return lo === Tag.KEY ? 0 : { tag: lo };
  }
  const col = new Float64Array(n);
  const out = new Uint32Array(col.buffer);
  let ints = true;
  // Copied as words, so a NaN's payload (its tag) survives; integers (not -0) go as an Int32Array.
  for (let i = 0; i < n; i++) {
    const at = 2 * (i * w + j);
    out[2 * i] = words[at];
    out[2 * i + 1] = words[at + 1];
    if (ints) {
      const x = cells[i * w + j];
      ints = (x | 0) === x && (x !== 0 || 1 / x > 0);
    }
  }
  if (!ints) return { cells: col };
  const i32 = new Int32Array(n);
  i32.set(col);
  return i32;
}

/** Each row's key offset: given, or the running sum of the lengths. */
export function keyOffsets(k: PackedKeys): Int32Array {
  if (k.off) return k.off;
  const off = new Int32Array(k.len.length);
  let at = 0;
  for (let i = 0; i < off.length; i++) {
    off[i] = at;
    if (k.len[i] > 0) at += k.len[i];
  }
  return off;
}

/** Writes column `col` of a chunk into row-major cells (width `w`, field `j`) for `n` rows. */
export function columnIntoCells(col: BinaryColumn, n: number, w: number, j: number, words: Uint32Array, cells: Float64Array): boolean {
  if (col === 0 || (typeof col === 'object' && 'tag' in col)) {
    const tag = col === 0 ? Tag.KEY : col.tag;
    for (let i = 0; i < n; i++) {
      words[2 * (i * w + j)] = tag;
      words[2 * (i * w + j) + 1] = 0x7ff80000;
    }
    return true;
  }
  if (col instanceof Int32Array) {
    if (col.length < n) return false;
    for (let i = 0; i < n; i++) cells[i * w + j] = col[i];
    return true;
  }
  if (!(col?.cells instanceof Float64Array) || col.cells.length < n) return false;
  const from = new Uint32Array(col.cells.buffer, col.cells.byteOffset, n * 2);
  for (let i = 0; i < n; i++) {
    words[2 * (i * w + j)] = from[2 * i];
    words[2 * (i * w + j) + 1] = from[2 * i + 1];
  }
  return true;
}

/** The row form of a binary chunk. */
export function unpackBinary(c: ColumnarChunk, k: PackedKeys): TaggedFlat {
  const n = k.len.length;
  const w = c.shape?.length ?? 1;
  const cells = new Float64Array(n * w);
  const words = new Uint32Array(cells.buffer);
  for (let j = 0; j < w; j++) columnIntoCells(c.cols[j] as BinaryColumn, n, w, j, words, cells);
  const off = keyOffsets(k);
  const all = latin1(k.latin1, 0, k.latin1.length); // one string, every key a slice of it
  const flat: TaggedFlat = new Array(n * 2);
  for (let i = 0; i < n; i++) {
    const key = k.len[i] < 0 ? k.nums![i] : all.slice(off[i], off[i] + k.len[i]);
    let v: unknown;
    if (!c.shape) {
      v = readCell(cells, words, i, key);
    } else {
      const o: Record<string, unknown> = {};
      for (let j = 0; j < w; j++) o[c.shape[j]] = readCell(cells, words, i * w + j, key);
      v = o;
    }
    flat[i * 2] = key;
    flat[i * 2 + 1] = v;
  }
  if (c.format) flat.format = c.format;
  return flat;
}

/** A latin-1 string of bytes [start, end). */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}
