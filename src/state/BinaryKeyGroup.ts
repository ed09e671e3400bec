import type { Entry, KeyGroupStore } from './AbstractKeyedStateBackend.js';
import { columnIntoCells, copyRows, keyOffsets, latin1, packRows, type BinaryColumn, type Rows } from './BinaryChunk.js';
import type { ColumnarChunk } from './ColumnarChunk.js';
import { hashKey, murmurLatin1, type NormalizedKey } from './KeyGroupRangeAssignment.js';
import { rowFields, shapeOf, ValueShape } from './BinaryValueShape.js';

/** The backend's current key and its hash: setCurrentKey hashes once, the binary groups reuse it. */
export interface CurrentKey {
  nk: NormalizedKey;
  hash: number;
}

/** What the key groups of one value-like state share: the row shape, and the way back to JS objects. */
export interface BinaryTable {
  /** Learned from the state's first value. */
  shape: ValueShape | undefined;
  /** Moves the whole state to JS objects (`why`: what did not fit); returns the state's groups after the move. */
  demote(why: string): KeyGroupStore[];
}

/** `Entry.ver` of a binary entry: its value is decoded anew on every read, so no snapshot ever shares it. */
const OWN = Number.MAX_SAFE_INTEGER;
/** Below this the table does not shrink its key bytes. */
const MIN_KEY_BYTES = 1024;
/** The longest string key a row holds (rowLen is 16 bits). */
const MAX_KEY_LEN = 0x7fff;
/** The slots of a group that never had a row: one empty slot, so a lookup ends at once. */
const EMPTY_SLOTS = new Int32Array(2);

/** A key rows can hold: a string or number that is its own entry key (NaN is its own key, as in a Map: SameValueZero). */
function isRowKey(nk: NormalizedKey, k: unknown): nk is string | number {
  return (typeof nk === 'string' || typeof nk === 'number') && (k === nk || (k !== k && nk !== nk));
}

/** Why rows cannot hold this key and value, in words (on the way to JS objects only, never per record). */
function unfit(nk: NormalizedKey, k: unknown, v: unknown, shape: ValueShape | undefined): string {
  if (!isRowKey(nk, k)) return 'a key that is neither a string nor a number';
  if (typeof nk === 'string' && nk.length > MAX_KEY_LEN) return `a key longer than ${MAX_KEY_LEN} characters`;
  if (typeof nk === 'string' && /[^\u0000-\u00ff]/.test(nk)) return 'a key with characters beyond Latin-1';
  const fields = shapeOf(v);
  if (fields === null) return 'a value that is neither a number nor a flat record';
  if (shape && JSON.stringify(fields) !== JSON.stringify(shape.fields)) {
    return `a value of another shape (${fields ? `{${fields.join(', ')}}` : 'a number'} after ${shape.fields ? `{${shape.fields.join(', ')}}` : 'numbers'})`;
  }
  return 'a field that is not a number, boolean, null, undefined or the entry\'s own key';
}

/**
 * The Entry the shared accessors see: a cursor on one row. Reading `v` decodes the row, writing it encodes.
 */
class RowCursor implements Entry {
  nk: NormalizedKey = undefined;
  row = -1;

  constructor(private readonly g: BinaryKeyGroup) {}

  get k(): unknown {
    return this.nk;
  }

  get v(): unknown {
    return this.g.valueAt(this.row, this.nk);
  }

  set v(value: unknown) {
    this.g.putOrDemote(this.nk, value);
  }

  get ver(): number {
    return OWN;
  }

  set ver(_: number) {}
}

/**
 * One key group of one value-like state (value, reducing, aggregating) as binary rows instead of JS objects: an
 * open-addressing hash table (linear probing over [hash, row + 1] pairs) into dense rows, each row its key's
 * latin-1 bytes and its value's cells (BinaryValueShape.ts). String keys only; a key or value the rows cannot
 * hold moves the state to JS objects (BinaryTable.demote), as do TTL and custom serializers.
 *
 * Snapshots: a row's value is decoded anew on every read, so nothing a user holds is ever shared with a
 * snapshot. A running snapshot packs the group as typed-array copies just before its first change after the
 * barrier (or, when the asynchronous part gets there first, reads it in place): no per-key walk, no copy-on-write
 * per entry, and the pack is a few memory copies.
 */
export class BinaryKeyGroup implements KeyGroupStore {
  /** [hash, row + 1] per slot; row + 1 = 0: empty. Allocated on the first insert (a state may have 32768 key groups). */
  private slots = EMPTY_SLOTS;
  private bits = 4;
  private n = 0;
  private rowOff = new Int32Array(0);
  /** A key's byte length, or -1 for a number key (its value in rowNum); longer keys than MAX_KEY_LEN demote. */
  private rowLen = new Int16Array(0);
  /** Number keys, by row; allocated with the first one. */
  private rowNum = new Float64Array(0);
  private keyBytes = new Uint8Array(0);
  private keyEnd = 0;
  /** Key bytes no row points at any more (deleted keys). */
  private garbage = 0;
  /** Key bytes lie in row order without gaps: a chunk needs no offsets. */
  private inOrder = true;
  /** The longest key's length (a chunk's lengths fit in bytes below 128). */
  private maxLen = 0;
  private cells = new Float64Array(0);
  private words = new Uint32Array(0);
  /** The row the last lookup found (a get is usually followed by a set of the same key). */
  private lastNk: NormalizedKey = undefined;
  private lastRow = -1;
  private readonly cursor = new RowCursor(this);
  /** The last record read and its key: handed out as the same object until another key is accessed (valueAt). */
  private readObj: object | undefined = undefined;
  private readNk: NormalizedKey = undefined;
  /** Snapshots whose barrier came before this group's last change and that have not taken it yet. */
  waiting: object[] | undefined = undefined;
  /** Copies of the rows handed to waiting snapshots at this group's first change after their barrier. */
  private readonly handed = new Map<object, Rows | undefined>();
  /** Set once the state moved to JS objects: a late write through an old cursor goes to the new group. */
  private demoted: KeyGroupStore | undefined = undefined;

  constructor(private readonly table: BinaryTable, private readonly index: number, private readonly current: CurrentKey) {}

  get size(): number {
    return this.n;
  }

  get(nk: NormalizedKey): Entry | undefined {
    if (this.readObj !== undefined && nk !== this.readNk) this.writeBack();
    if (this.demoted) return this.demoted.get(nk);
    const row = this.find(nk);
    if (row < 0) return undefined;
    const c = this.cursor;
    c.nk = nk;
    c.row = row;
    return c;
  }

  set(nk: NormalizedKey, e: Entry): unknown {
    return this.put(nk, e.k, e.v) ? this : this.demote(nk, e.k, e.v).set(nk, e);
  }

  /** `v` as the value of `nk`, in a row or, when it does not fit, after the move to JS objects. */
  putOrDemote(nk: NormalizedKey, v: unknown): void {
    if (!this.put(nk, nk, v)) this.demote(nk, nk, v).set(nk, { k: nk, v, ver: OWN });
  }

  /**
   * Writes `v` as the value of `nk` (whose entry key is `k`); false when the rows cannot hold it. Then the caller
   * demotes and writes `nk` there: a known key's row may be half written.
   */
  private put(nk: NormalizedKey, k: unknown, v: unknown): boolean {
    if (this.readObj !== undefined) {
      if (nk === this.readNk) this.readObj = undefined; // this write is the key's value now
      else this.writeBack();
    }
    if (this.demoted) {
      this.demoted.set(nk, { k, v, ver: OWN });
      return true;
    }
    if (!isRowKey(nk, k)) return false;
    let shape = this.table.shape;
    if (shape === undefined) {
      const fields = shapeOf(v);
      if (fields === null) return false;
      shape = this.table.shape = new ValueShape(fields);
    }
    if (this.waiting !== undefined) this.hand();
    const row = this.find(nk);
    const w = shape.width;
    // A known key's row is written in place: should the value not fit half way, the state moves to JS objects
    // and this key's value is written there at once, so the half-written row is never read. A new key is encoded
    // into the spare row n, which becomes its row only when it fits.
    if (row >= 0) return shape.encode(v, this.cells, this.words, row * w, nk);
    this.reserveRow(w);
    return shape.encode(v, this.cells, this.words, this.n * w, nk) && this.insert(nk, this.n);
  }

  delete(nk: NormalizedKey): boolean {
    if (this.readObj !== undefined) {
      if (nk === this.readNk) this.readObj = undefined;
      else this.writeBack();
    }
    if (this.demoted) return this.demoted.delete(nk);
    const row = this.find(nk);
    if (row < 0) return false;
    if (this.waiting !== undefined) this.hand();
    this.removeSlot(this.slotOf(row, this.hashOf(nk) | 0));
    if (this.rowLen[row] > 0) this.garbage += this.rowLen[row];
    this.inOrder = false;
    const last = --this.n;
    if (row !== last) {
      // The last row moves into the hole, so rows stay dense.
      this.slots[this.slotOf(last, this.rowHash(last)) * 2 + 1] = row + 1;
      this.rowOff[row] = this.rowOff[last];
      this.rowLen[row] = this.rowLen[last];
      if (this.rowNum.length > 0) this.rowNum[row] = this.rowNum[last];
      const w = this.table.shape!.width;
      this.cells.copyWithin(row * w, last * w, last * w + w);
    }
    this.lastNk = undefined;
    this.lastRow = -1;
    if (this.garbage > MIN_KEY_BYTES && this.garbage * 2 > this.keyEnd) this.compactKeys();
    return true;
  }

  /**
   * The value of a row. A record read is the same object until another key of the group is accessed; then it is
   * written back, so a change made in place (without update()) stays, as on a heap of objects.
   */
  valueAt(row: number, nk: NormalizedKey): unknown {
    if (this.readObj !== undefined && nk === this.readNk) return this.readObj;
    const shape = this.table.shape!;
    const v = shape.decode(this.cells, this.words, row * shape.width, nk);
    if (shape.fields !== undefined) {
      this.readNk = nk;
      this.readObj = v as object;
    }
    return v;
  }

  /**
   * Writes the last record read back into its row (it may have been changed in place). A snapshot's synchronous
   * part calls it, so a change made before the barrier is in the snapshot; any later write back hands over first.
   */
  writeBack(): void {
    const v = this.readObj;
    const nk = this.readNk;
    this.readObj = undefined;
    if (v === undefined || this.demoted) return;
    this.putOrDemote(nk, v);
  }

  /** Every row as (key, value), for the move to JS objects. */
  forEach(visit: (nk: string | number, v: unknown) => void): void {
    const pending = this.readObj;
    const pendingNk = this.readNk;
    this.readObj = undefined;
    for (let r = 0; r < this.n; r++) {
      const nk = this.keyAt(r);
      visit(nk, nk === pendingNk && pending !== undefined ? pending : this.valueAt(r, nk));
      this.readObj = undefined;
    }
  }

  /**
   * Restore: takes a packed chunk of this state (what pack wrote) as its rows, copying arrays instead of decoding
   * and inserting every key. False when it cannot (rows already here, another shape): load it entry by entry.
   */
  loadPacked(c: ColumnarChunk): boolean {
    if (Array.isArray(c.keys) || this.n !== 0 || this.demoted || c.format) return false;
    const fields = c.shape;
    if (fields !== undefined && !(Array.isArray(fields) && rowFields(fields))) return false;
    const known = this.table.shape;
    if (known !== undefined && JSON.stringify(known.fields) !== JSON.stringify(fields)) return false;
    const shape = known ?? new ValueShape(fields && [...fields]);
    const { latin1: bytes, len, nums } = c.keys;
    const n = len.length;
    const w = shape.width;
    if (c.cols.length !== w) return false;
    const off = keyOffsets(c.keys);
    let total = 0;
    for (let r = 0; r < n; r++) {
      if (len[r] > MAX_KEY_LEN) return false;
      if (len[r] >= 0) total += len[r];
      else if (!(nums instanceof Float64Array) || nums.length < n) return false;
    }
    const cells = new Float64Array(Math.max(8, n) * w);
    const words = new Uint32Array(cells.buffer);
    for (let j = 0; j < w; j++) if (!columnIntoCells(c.cols[j] as BinaryColumn, n, w, j, words, cells)) return false;
    this.table.shape = shape;
    this.cells = cells;
    this.words = words;
    this.keyBytes = new Uint8Array(Math.max(MIN_KEY_BYTES, total));
    this.rowOff = new Int32Array(Math.max(8, n));
    this.rowLen = new Int16Array(Math.max(8, n));
    const kb = this.keyBytes;
    let end = 0;
    if (nums) this.rowNum = new Float64Array(Math.max(8, n));
    for (let r = 0; r < n; r++) {
      const from = off[r];
      const l = len[r];
      if (l < 0) {
        this.rowNum[r] = nums![r];
        this.rowLen[r] = -1;
        continue;
      }
      for (let j = 0; j < l; j++) kb[end + j] = bytes[from + j];
      this.rowOff[r] = end;
      this.rowLen[r] = l;
      if (l > this.maxLen) this.maxLen = l;
      end += l;
    }
    this.keyEnd = end;
    this.inOrder = true;
    let bits = 4;
    while (n * 4 > 3 << bits) bits++;
    this.bits = bits;
    this.slots = new Int32Array(2 << bits);
    this.n = n;
    this.lastNk = undefined;
    this.lastRow = -1;
    for (let r = 0; r < n; r++) {
      const h = this.rowLen[r] < 0 ? hashKey(this.rowNum[r]) : murmurLatin1(this.keyBytes, this.rowOff[r], this.rowLen[r]);
      this.placeSlot(h | 0, r);
    }
    return true;
  }

  // ---------------------------------------------------------------- snapshots

  /** This group as it was at `s`'s barrier: handed over at its first change since, or packed now (views, written at once). */
  take(s: object): ColumnarChunk | undefined {
    if (this.readObj !== undefined) this.writeBack();
    if (this.handed.has(s)) {
      const rows = this.handed.get(s);
      this.handed.delete(s);
      return rows && packRows(rows, this.table.shape!.fields);
    }
    this.forget(s);
    const shape = this.table.shape;
    return this.n === 0 || shape === undefined ? undefined : packRows(this.rows(false), shape.fields);
  }

  /**
   * `take` before the packing: the rows as they were at `s`'s barrier, in buffers that only the caller holds
   * (the copy handed at the first change, or one made now), so another thread may pack them.
   */
  takeRows(s: object): { rows: Rows; fields: string[] | undefined } | undefined {
    if (this.readObj !== undefined) this.writeBack();
    const fields = this.table.shape?.fields;
    if (this.handed.has(s)) {
      const rows = this.handed.get(s);
      this.handed.delete(s);
      if (rows === undefined) return undefined;
      // Handed to two snapshots at once (a savepoint beside a checkpoint): each takes buffers of its own.
      for (const other of this.handed.values()) if (other === rows) return { rows: copyRows(rows), fields };
      return { rows, fields };
    }
    this.forget(s);
    return this.n === 0 || this.table.shape === undefined ? undefined : { rows: this.rows(true), fields };
  }

  forget(s: object): void {
    this.handed.delete(s);
    if (this.waiting === undefined) return;
    const rest = this.waiting.filter((w) => w !== s);
    this.waiting = rest.length > 0 ? rest : undefined;
  }

  /** Before the group's first change after a barrier: every waiting snapshot gets a copy as it is now. */
  hand(): void {
    if (this.waiting === undefined) return;
    // Plain memory copies on the record path; the chunk is made from them when the asynchronous part gets here.
    const rows = this.n === 0 || this.table.shape === undefined ? undefined : this.rows(true);
    for (const s of this.waiting) this.handed.set(s, rows);
    this.waiting = undefined;
  }

  /** The state moved to JS objects: `to` serves this group from now on. */
  retire(to: KeyGroupStore): void {
    this.hand();
    this.demoted = to;
  }

  /** The rows as the chunk packer reads them: views, or copies that later changes do not reach. */
  private rows(copy: boolean): Rows {
    const n = this.n;
    const w = this.table.shape!.width;
    const cells = copy ? this.cells.slice(0, n * w) : this.cells;
    return {
      n,
      width: w,
      keyBytes: copy ? this.keyBytes.slice(0, this.keyEnd) : this.keyBytes,
      keyEnd: this.keyEnd,
      rowOff: copy && !this.inOrder ? this.rowOff.slice(0, n) : this.rowOff,
      rowLen: copy ? this.rowLen.slice(0, n) : this.rowLen,
      rowNum: copy && this.rowNum.length > 0 ? this.rowNum.slice(0, n) : this.rowNum,
      inOrder: this.inOrder,
      maxLen: this.maxLen,
      cells,
      words: copy ? new Uint32Array(cells.buffer) : this.words,
    };
  }

  // ---------------------------------------------------------------- the hash table

  private demote(nk: NormalizedKey, k: unknown, v: unknown): KeyGroupStore {
    return this.table.demote(unfit(nk, k, v, this.table.shape))[this.index];
  }

  private hashOf(nk: NormalizedKey): number {
    return nk === this.current.nk ? this.current.hash : hashKey(nk);
  }

  /** Fibonacci hashing: the top bits of hash * 2^32/phi, so keys of one key group (equal modulo the max parallelism) spread. */
  private home(h: number): number {
    return Math.imul(h, 0x9e3779b1) >>> (32 - this.bits);
  }

  /** The row of `nk`, or -1. */
  private find(nk: NormalizedKey): number {
    if (nk === this.lastNk) return this.lastRow;
    if (this.n === 0) return -1;
    if (typeof nk === 'number') return this.findNumber(nk);
    if (typeof nk !== 'string') return -1;
    const h = this.hashOf(nk) | 0;
    const slots = this.slots;
    const mask = (1 << this.bits) - 1;
    const len = nk.length;
    for (let i = this.home(h); ; i = (i + 1) & mask) {
      const r1 = slots[i * 2 + 1];
      if (r1 === 0) return -1;
      if (slots[i * 2] !== h) continue;
      const r = r1 - 1;
      if (this.rowLen[r] !== len) continue;
      const off = this.rowOff[r];
      const kb = this.keyBytes;
      let j = 0;
      while (j < len && kb[off + j] === nk.charCodeAt(j)) j++;
      if (j === len) {
        this.lastNk = nk;
        this.lastRow = r;
        return r;
      }
    }
  }

  private findNumber(nk: number): number {
    const h = this.hashOf(nk) | 0;
    const slots = this.slots;
    const mask = (1 << this.bits) - 1;
    for (let i = this.home(h); ; i = (i + 1) & mask) {
      const r1 = slots[i * 2 + 1];
      if (r1 === 0) return -1;
      if (slots[i * 2] !== h || this.rowLen[r1 - 1] !== -1) continue;
      const x = this.rowNum[r1 - 1];
      // SameValueZero, as a Map compares keys: NaN is NaN, -0 is 0.
      if (x === nk || (x !== x && nk !== nk)) {
        this.lastNk = nk;
        this.lastRow = r1 - 1;
        return r1 - 1;
      }
    }
  }

  /** Adds `nk` as row `row` (= n, its cells written); false for a string key that is not latin-1. */
  private insert(nk: string | number, row: number): boolean {
    if (typeof nk === 'number') {
      if (this.rowNum.length < this.rowOff.length) this.rowNum = grown(this.rowNum, this.rowOff.length);
      this.rowNum[row] = nk === 0 ? 0 : nk; // as a Map keeps -0: as 0
      this.rowLen[row] = -1;
      this.rowOff[row] = 0;
      return this.added(nk, row);
    }
    const len = nk.length;
    if (len > MAX_KEY_LEN) return false;
    if (this.keyEnd + len > this.keyBytes.length) this.keyBytes = grown(this.keyBytes, this.keyEnd + len);
    const kb = this.keyBytes;
    const off = this.keyEnd;
    for (let j = 0; j < len; j++) {
      const c = nk.charCodeAt(j);
      if (c > 0xff) return false;
      kb[off + j] = c;
    }
    this.keyEnd += len;
    this.rowOff[row] = off;
    this.rowLen[row] = len;
    if (len > this.maxLen) this.maxLen = len;
    return this.added(nk, row);
  }

  /** Counts row `row` of key `nk` in and gives it a slot. */
  private added(nk: string | number, row: number): true {
    this.n++;
    if (this.slots === EMPTY_SLOTS) this.slots = new Int32Array(2 << this.bits);
    else if (this.n * 4 > (3 << this.bits)) this.rehash(this.bits + 1);
    this.placeSlot(this.hashOf(nk) | 0, row);
    this.lastNk = nk;
    this.lastRow = row;
    return true;
  }

  /** Room for row n. */
  private reserveRow(width: number): void {
    const n = this.n;
    if (n >= this.rowOff.length) {
      this.rowOff = grown(this.rowOff, n + 1);
      this.rowLen = grown(this.rowLen, n + 1);
      if (this.rowNum.length > 0) this.rowNum = grown(this.rowNum, this.rowOff.length);
    }
    if ((n + 1) * width > this.cells.length) {
      this.cells = grown(this.cells, Math.max((n + 1) * width, this.rowOff.length * width));
      this.words = new Uint32Array(this.cells.buffer);
    }
  }

  private placeSlot(h: number, row: number): void {
    const mask = (1 << this.bits) - 1;
    let i = this.home(h);
    while (this.slots[i * 2 + 1] !== 0) i = (i + 1) & mask;
    this.slots[i * 2] = h;
    this.slots[i * 2 + 1] = row + 1;
  }

  private rehash(bits: number): void {
    const old = this.slots;
    this.bits = bits;
    this.slots = new Int32Array(2 << bits);
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.placeSlot(old[i], old[i + 1] - 1);
  }

  private rowHash(row: number): number {
    return hashKey(this.keyAt(row)) | 0;
  }

  private slotOf(row: number, h: number): number {
    const mask = (1 << this.bits) - 1;
    let i = this.home(h);
    while (this.slots[i * 2 + 1] !== row + 1) i = (i + 1) & mask;
    return i;
  }

  /** Backward-shift deletion: later slots of the probe run move up, so lookups never need tombstones. */
  private removeSlot(i: number): void {
    const s = this.slots;
    const mask = (1 << this.bits) - 1;
    let hole = i;
    for (let j = (i + 1) & mask; s[j * 2 + 1] !== 0; j = (j + 1) & mask) {
      const home = this.home(s[j * 2]);
      // j's entry may fill the hole if its home is not in (hole, j] (cyclically).
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (between) continue;
      s[hole * 2] = s[j * 2];
      s[hole * 2 + 1] = s[j * 2 + 1];
      hole = j;
    }
    s[hole * 2] = 0;
    s[hole * 2 + 1] = 0;
  }

  private keyAt(row: number): string | number {
    if (this.rowLen[row] < 0) return this.rowNum[row];
    const off = this.rowOff[row];
    return latin1(this.keyBytes, off, off + this.rowLen[row]);
  }

  private compactKeys(): void {
    const next = new Uint8Array(Math.max(MIN_KEY_BYTES, this.keyEnd - this.garbage));
    let end = 0;
    for (let r = 0; r < this.n; r++) {
      const off = this.rowOff[r];
      const len = this.rowLen[r];
      if (len < 0) continue;
      next.set(this.keyBytes.subarray(off, off + len), end);
      this.rowOff[r] = end;
      end += len;
    }
    this.keyBytes = next;
    this.keyEnd = end;
    this.garbage = 0;
    this.inOrder = true;
  }
}

/**
 * A larger copy of `a`: by half again, not double, so a group's arrays are 18% slack on average instead of 28%
 * (issue 13's bytes per key), for about one more copy per row over the table's life.
 */
function grown<T extends Int16Array | Int32Array | Uint8Array | Float64Array>(a: T, atLeast: number): T {
  let size = Math.max(8, Math.ceil(a.length * 1.5));
  while (size < atLeast) size = Math.ceil(size * 1.5);
  const next = new (a.constructor as new (n: number) => T)(size);
  next.set(a);
  return next;
}
