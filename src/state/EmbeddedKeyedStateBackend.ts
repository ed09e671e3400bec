import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import { FlinkError } from '../core/FlinkError.js';
import { randomHex } from '../core/ids.js';
import type { KeyedStateFileHandle, StateFileHandle } from './StateHandles.js';
import {
  AbstractKeyedStateBackend, type Entry, type KeyGroupStore, type KeyedStateBackendOptions, type StateTable,
} from './AbstractKeyedStateBackend.js';
import type { KeyedSnapshot, KeyedSnapshotOptions } from './KeyedStateBackend.js';
import {
  bitsOf, DROP, decodeChunkValue, encoderOf, formatOf, formatOfBits, noSerializer, STATE_KINDS, type StateKind, type TaggedFlat,
} from './StateCodec.js';
import { KeyGroupRange } from './KeyGroupRange.js';
import { normalizeKey, type NormalizedKey } from './KeyGroupRangeAssignment.js';
import { readKeyGroups, StateFileWriter, verifyStateFile, type StateFileOutput } from './StateFile.js';
import { decodeKey, decodeRow, encodeKey, encodeRow, T_JS, T_NUM, T_STR, T_V8, type Row } from './EmbeddedRows.js';
import { copyStore, copyVerified, openStoreFile, storeRows } from './EmbeddedStoreFile.js';

export interface EmbeddedKeyedStateBackendOptions extends KeyedStateBackendOptions {
  /** Working directory of this backend instance (created; removed by dispose()). */
  localDir: string;
  /** Checkpoints write only what changed since the last completed one (state.backend.incremental). */
  incremental?: boolean;
  /**
   * Entries changed or read since the last flush before the cache is written to the store (between records);
   * unset, only the cache's size (and a checkpoint) bounds a flush.
   */
  writeCacheEntries?: number;
  /**
   * Entries the cache holds, changed or clean: a key loaded into a full cache flushes it first, and clean
   * entries are dropped oldest first down to nine tenths of this.
   */
  cacheEntries?: number;
  /** Deltas on top of a full file before a checkpoint writes a full one again (materialization). */
  maxDeltaChain?: number;
  /** The job checkpoints periodically: unless writeCacheEntries says otherwise, a flush comes every 100k changes. */
  periodicCheckpoints?: boolean;
}


const CHUNK = 4096;
/** A change record's row length for a removal. */
const REMOVED = 0xffffffff;

/** Slots in (about) key order: strings and numbers sort cheaply; mixed or other keys stay as they are. */
function sortedSlots(slots: CacheSlot[]): CacheSlot[] {
  const t = typeof slots[0]?.nk;
  if (t === 'string' && slots.every((s) => typeof s.nk === 'string')) return slots.sort((a, b) => ((a.nk as string) < (b.nk as string) ? -1 : (a.nk as string) > (b.nk as string) ? 1 : 0));
  if (t === 'number' && slots.every((s) => typeof s.nk === 'number')) return slots.sort((a, b) => (a.nk as number) - (b.nk as number));
  return slots;
}

/**
 * Entries kept in memory, changed or clean, as RocksDB keeps its memtables and block cache. A flush comes
 * when a new key finds the cache full, or at a checkpoint: a key changed many times between two is written
 * once, and a flush of random keys costs less per entry the larger it is (sorted, in one transaction).
 * Over 1M keys, a cache emptied at every flush made nearly every record a store read, and flushes every 100k
 * changed keys made every record a store write (docs/benchmarks.md, sessions 13 and 14).
 */
const DEFAULT_CACHE_ENTRIES = 2_000_000;
/**
 * Changed entries before a flush while the job checkpoints periodically: a barrier flushes what changed since
 * the last flush on the task thread, so this bounds a checkpoint's synchronous part (~0.1 s here). Over 1M
 * cycling keys, flushing only at barriers made that part 0.7-1.7 s (docs/benchmarks.md, session 14).
 */
const CHECKPOINTED_WRITE_CACHE_ENTRIES = 100_000;
/** After a flush of a full cache, the share of it kept: the rest is room for new keys before the next. */
const KEPT_AFTER_EVICTION = 0.9;

/** Row keys are built in one scratch buffer: every LMDB call copies its key before returning. */
const KEY_SCRATCH = Buffer.allocUnsafe(4096);
/** Views of the scratch buffer by length, made once: a view per call would be garbage per record. */
const KEY_VIEWS: Buffer[] = [];
const keyView = (n: number): Buffer => KEY_VIEWS[n] ?? (KEY_VIEWS[n] = KEY_SCRATCH.subarray(0, n));

/** Rows of the write cache by key group and row key (latin1), null for a removal. */
type Overlay = Map<number, Map<string, Buffer | null>>;

/** A key group's rows (removals as undefined) with an overlay's on top, in key order. */
function withOverlay(rows: Iterable<[Buffer, Buffer | undefined]>, over: Map<string, Buffer | null> | undefined, removals: boolean): Iterable<[Buffer, Buffer | undefined]> {
  if (!over) return rows;
  const m = new Map<string, [Buffer, Buffer | undefined]>();
  for (const r of rows) m.set(r[0].toString('latin1'), r);
  for (const [k, v] of over) m.set(k, [Buffer.from(k, 'latin1'), v ?? undefined]);
  return [...m.values()].filter((r) => removals || r[1] !== undefined).sort((a, b) => Buffer.compare(a[0], b[0]));
}

/** A full or delta file of the last completed checkpoint, by absolute path. */
interface ChainFile {
  abs: string;
  handle: KeyedStateFileHandle;
}

/** A slot's `v0` when the row was not decoded (a write without a read first). */
const NOT_READ = Symbol('not read');

/**
 * A key's entry in the write cache, which is also the live Entry the state accessors get (one object per
 * cached key, not two): `live` false when the key has no value.
 */
class CacheSlot implements Entry {
  constructor(
    readonly nk: NormalizedKey,
    public k: unknown,
    public v: unknown,
    public live: boolean,
    /** The key has a row in the store (as of the last flush). */
    public had: boolean,
    /** The value as the store holds it: a slot that still holds this very value may be unchanged. */
    public v0: unknown,
    /** The row's format bits. */
    public fmt: number,
  ) {}

  ver = 0;
  /** Handed out since the last flush: the flush checks it (an untouched slot is as the store holds it). */
  touched = true;
  /**
   * For an object value (which may have been changed in place): the row's bytes, in the cache's raw slab
   * (`raw`, from `rawAt`, `rawLen` bytes), to tell by comparison whether it must be written back.
   */
  raw: Buffer | undefined = undefined;
  rawAt = 0;
  rawLen = 0;
}

/** Row copies of the cache's object values, appended to slabs that live as long as a slot refers to them. */
class RawSlab {
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  /** Copies `len` bytes of `b` into the slab; the slab buffer and offset are the slot's. */
  add(slot: CacheSlot, b: Buffer, len: number): void {
    if (this.used + len > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(this.buf.length, len));
      this.used = 0;
    }
    const to = this.buf;
    const at = this.used;
    if (len <= 128) for (let i = 0; i < len; i++) to[at + i] = b[i]; // no view object for a short row
    else to.set(b.subarray(0, len), at); // lmdb-js's buffer is longer than its length says: never copy it whole
    slot.raw = this.buf;
    slot.rawAt = this.used;
    slot.rawLen = len;
    this.used += len;
  }
}

/**
 * One key group of one state: a write cache in front of the store. Every entry handed out stays in the
 * cache until the next flush, so in-place updates (list add, map put) are written back like updates.
 */
class CachedKeyGroup implements KeyGroupStore {
  /** Oldest first (a Map iterates in insertion order): eviction drops from the front. */
  readonly cache = new Map<NormalizedKey, CacheSlot>();
  /** Slots handed out since the last flush. */
  touched: CacheSlot[] = [];

  constructor(private readonly backend: EmbeddedKeyedStateBackend, readonly state: string, readonly sid: number, readonly kg: number) {}

  get(nk: NormalizedKey): Entry | undefined {
    const slot = this.slot(nk, true);
    return slot.live ? slot : undefined;
  }

  /** The key's slot, touched; `revive`: a row not yet in the cache is decoded into a live entry. */
  private slot(nk: NormalizedKey, revive: boolean): CacheSlot {
    const slot = this.cache.get(nk);
    if (slot === undefined) return this.load(nk, revive);
    this.backend.hits++;
    if (!slot.touched) {
      slot.touched = true;
      this.backend.touch(this, slot, 0);
    }
    return slot;
  }

  set(nk: NormalizedKey, e: Entry): this {
    const slot = this.slot(nk, false);
    // The slot is the live entry: callers go on with what get() returns (see AbstractKeyedStateBackend.owned).
    slot.k = e.k;
    slot.v = e.v;
    slot.ver = e.ver;
    slot.live = true;
    return this;
  }

  delete(nk: NormalizedKey): boolean {
    if (!this.cache.has(nk)) return this.load(nk, false).had;
    const slot = this.slot(nk, false);
    const had = slot.live;
    slot.live = false;
    slot.v = undefined;
    return had;
  }

  /** Brings the key's row (if any) into the cache; `revive`: also decode it into a live entry. */
  private load(nk: NormalizedKey, revive: boolean): CacheSlot {
    const backend = this.backend;
    const b = backend.cacheHoldsAll ? undefined : backend.readRow(this, nk); // valid until the next read
    let slot: CacheSlot;
    if (!b) slot = new CacheSlot(nk, nk, undefined, false, false, NOT_READ, 0);
    else if (!revive) slot = new CacheSlot(nk, nk, undefined, false, true, NOT_READ, b[0]);
    else {
      const len = backend.rowSize;
      const t = b[1] === 0 ? b[2] : -1;
      // Numbers and compact values decode from lmdb-js's buffer as it is; V8's deserializer makes typed
      // arrays views of its input, so its rows decode from a copy of their own (a typed array changed in
      // place must not change the bytes it is compared with, nor the next read).
      const row = t === T_NUM || t === T_JS ? b : t === T_V8 || t === -1 ? Buffer.from(b.buffer.slice(b.byteOffset, b.byteOffset + len)) : b.subarray(0, len);
      const [fmt, k, stored] = decodeRow(row, nk);
      const v = backend.revive(this.state, fmt, stored);
      slot = new CacheSlot(nk, k, v, true, true, v, fmt);
      if (typeof v === 'object' && v !== null) backend.slab.add(slot, b, len);
    }
    this.cache.set(nk, slot);
    backend.touch(this, slot, 1);
    return slot;
  }
}

/**
 * Keyed state on local disk (Flink's EmbeddedRocksDBStateBackend; the engine is LMDB, chosen by measurement,
 * see docs/benchmarks.md). The state semantics (kinds, TTL, serializers, timers) are the shared base's, as on
 * the heap: only the key-group stores, snapshots and restore differ. Rows are keyed
 * `u16 keyGroup | u16 stateId | v8(normalized key)`, so a key group is one contiguous range; values are stored
 * as snapshot chunks hold them.
 *
 * Snapshots: the synchronous part flushes the write cache. A full file of rows reads the state at the barrier
 * in an LMDB read transaction (MVCC) opened then, while processing goes on and writes new rows.
 * Incremental checkpoints: every flushed row (key and bytes, or its removal) is also recorded in a `changed`
 * table with the epoch (barrier count) of the write; a checkpoint writes the rows changed since the last
 * completed checkpoint, as its epoch's records give them, into an immutable, uniquely named delta file in
 * `shared/`, and refers to the files of that checkpoint before it. The delta reads no rows, so it holds no read
 * transaction: one held across the asynchronous part cost a store read per changed row and kept LMDB from
 * reusing the pages freed meanwhile. Entries of the changed table are
 * dropped when a checkpoint that covered them completes, so a checkpoint after a failed one still carries the
 * failed one's changes; never while a delta is being written, which may need them.
 */
export class EmbeddedKeyedStateBackend extends AbstractKeyedStateBackend<CachedKeyGroup> {
  private root!: RootDatabase<Buffer, Buffer>;
  private rows!: Database<Buffer, Buffer>;
  private changed!: Database<Buffer, Buffer>;
  /** Store folders opened so far (a restore installs a shipped store in a new one). */
  private stores = 0;
  /** Format bits written per state, for the handle of a store file. */
  private readonly writtenFormats = new Map<string, number>();
  private readonly stateIds = new Map<string, number>();
  /** Groups with touched slots. */
  private readonly dirty = new Set<CachedKeyGroup>();
  /** Slots touched since the last flush. */
  private touchedEntries = 0;
  /** Slots the cache held after the last flush, and slots loaded into it since. */
  private cachedAtFlush = 0;
  private loaded = 0;
  private epoch = 1;
  private lastCompleted?: { id: number; files: ChainFile[] };
  private readonly pendingChains = new Map<number, { epoch: number; files: ChainFile[] }>();
  private readonly openTxns = new Set<Transaction>();
  private disposed = false;
  private closed = false;
  /** Format bits seen per state in restored files. */
  private readonly restoredFormats = new Map<string, number>();
  private sinceYield = 0;
  private flushSeq = 0;
  /** The epoch up to which change records may go (a checkpoint covering them completed). */
  private pendingCleanup?: number;
  /** Store copies (native snapshots) running: they read the state at the barrier, so nothing commits meanwhile. */
  private copying = 0;
  /** Deltas being written: they read change records, so none is dropped meanwhile (see flush), nor the store closed. */
  private writingDeltas = 0;
  readonly incremental: boolean;
  private readonly writeCacheEntries: number;
  private readonly cacheEntries: number;
  private readonly maxDeltaChain: number;

  constructor(keyGroupRange: KeyGroupRange, maxParallelism: number, readonly options: EmbeddedKeyedStateBackendOptions) {
    super(keyGroupRange, maxParallelism, options);
    this.incremental = options.incremental ?? false;
    this.writeCacheEntries = options.writeCacheEntries ?? (options.periodicCheckpoints ? CHECKPOINTED_WRITE_CACHE_ENTRIES : Infinity);
    this.cacheEntries = options.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
    this.maxDeltaChain = options.maxDeltaChain ?? 10;
    try {
      mkdirSync(options.localDir, { recursive: true });
    } catch (e) {
      throw new FlinkError('io', `Cannot open the embedded state backend in ${options.localDir}: ${(e as Error).message}`);
    }
    this.openStore(join(options.localDir, 'db'));
  }

  /** Opens the store in `path` (a folder; LMDB's data.mdb in it may be a shipped store file). */
  private openStore(path: string): void {
    try {
      // useWritemap: commits write pages in place in the map (no copy into malloc'd pages, no write()
      // calls): random puts cost about half (docs/benchmarks.md). compression off: values are a few bytes.
      // noSync: local state is rebuilt from a checkpoint after a crash, so commits need not reach the disk.
      this.root = open<Buffer, Buffer>({ path, encoding: 'binary', keyEncoding: 'binary', noSync: true, useWritemap: true, maxDbs: 4, compression: false });
    } catch (e) {
      throw new FlinkError('io', `Cannot open the embedded state backend in ${this.options.localDir}: ${(e as Error).message}`);
    }
    this.rows = this.root.openDB<Buffer, Buffer>('rows', { encoding: 'binary', keyEncoding: 'binary' });
    this.changed = this.root.openDB<Buffer, Buffer>('changed', { encoding: 'binary', keyEncoding: 'binary' });
    this.stores++;
  }

  /** Restored rows are decoded when read; a serializer they need is checked when the state registers, as on the heap. */
  protected override registered(state: string, t: StateTable<CachedKeyGroup>): void {
    const f = formatOfBits(this.restoredFormats.get(state) ?? 0);
    if ((f?.ser && !t.meta!.val.serializer) || (f?.keySer && !t.meta!.key.serializer)) throw noSerializer(state);
  }

  protected newKeyGroupStore(state: string, groupIndex: number): CachedKeyGroup {
    return new CachedKeyGroup(this, state, this.stateId(state), this.keyGroupRange.start + groupIndex);
  }

  override setCurrentKey(key: unknown, keyHash?: number): void {
    // Between records is the one safe moment: no entry handed out is still being updated in place.
    if (this.touchedEntries >= this.writeCacheEntries || this.cachedAtFlush + this.loaded > this.cacheEntries) this.flush();
    super.setCurrentKey(key, keyHash);
  }

  /** Rows the store holds now, without writing the cache first. */
  storedEntries(): number {
    return this.rows.getCount();
  }

  /** Number of stored entries (after writing the cache). */
  numEntries(): number {
    this.flush();
    return this.rows.getCount();
  }

  // ---------------------------------------------------------------- store access (for CachedKeyGroup)

  /** @internal */
  /**
   * @internal The key's row in lmdb-js's reused read buffer, valid until the next read; its length is
   * `rowSize` (the buffer's own length is not).
   */
  readRow(g: CachedKeyGroup, nk: NormalizedKey): Buffer | undefined {
    const b = this.rows.getBinaryFast(this.rowKey(g.sid, g.kg, nk));
    if (!b) return undefined;
    this.rowSize = (this.rows as unknown as { lastSize: number }).lastSize;
    return b;
  }

  /** @internal Size of the row readRow returned last. */
  rowSize = 0;

  /**
   * @internal Every row of the store has a slot in the cache: rows reach the store only from slots, until a
   * restore writes some behind it or a clean slot is dropped. A key not in the cache then has no row, and its
   * store read is spared (over 1M new keys with checkpoints, 2.6 s of misses in a growing B-tree).
   */
  cacheHoldsAll = true;

  /** @internal Row copies of the cache's object values (see CacheSlot). */
  readonly slab = new RawSlab();

  /** @internal A stored value as the live value of its (registered) state. */
  revive(state: string, fmt: number, stored: unknown): unknown {
    const t = this.tables.get(state)!;
    const meta = t.meta!;
    // The hot case (a value without TTL or serializer, stored as it is) without the general decoder's closures.
    if (fmt === 0 && !meta.ttl && t.kind !== 'list' && t.kind !== 'map') return meta.val.plain ? stored : meta.val.decode(stored, false, state);
    return decodeChunkValue(t.kind, meta, formatOfBits(fmt) ?? {}, stored, this.now(), state);
  }

  /**
   * @internal Accesses since the last flush that found their key in the cache (each spared a store read).
   * Counted per access, not per slot: a flush of a full cache comes after a refill, whose slots are all new.
   */
  hits = 0;

  /** @internal `slot` of `g` was touched (`added` 1: it is new in the cache, else it was there). */
  touch(g: CachedKeyGroup, slot: CacheSlot, added: number): void {
    if (g.touched.push(slot) === 1) this.dirty.add(g);
    this.touchedEntries++;
    this.loaded += added;
  }

  /**
   * Writes the write cache into the store in one transaction, in key order (groups by key group and state,
   * keys sorted within a group: neighbouring puts share B-tree pages), and, for incremental checkpoints, one
   * change-log record per key group listing the rows it changed (keys and bytes, or removals).
   */
  flush(): void {
    if (this.copying > 0) return; // a store copy is reading the state at the barrier: no commits until it has
    const cleanup = this.writingDeltas === 0 ? this.pendingCleanup : undefined; // held while a delta reads the records
    if (this.dirty.size === 0 && cleanup === undefined) return;
    const groups = this.sortedDirty();
    this.root.transactionSync(() => {
      if (cleanup !== undefined) {
        this.dropChangeLog(cleanup);
        this.pendingCleanup = undefined;
      }
      let logKg = -1;
      let log = Buffer.allocUnsafe(4096);
      let logLen = 0;
      const writeLog = () => {
        if (logLen > 0) this.changed.putSync(this.changeLogKey(logKg), log.subarray(0, logLen));
        logLen = 0;
      };
      this.changedRows(groups, (kg, key, bytes, slot) => {
        if (kg !== logKg) {
          writeLog();
          logKg = kg;
        }
        if (bytes === undefined) {
          this.rows.removeSync(key);
          slot.live = false; // also a value TTL dropped: gone from the cache below
        } else {
          this.rows.putSync(key, bytes);
          // The slot stays cached as the store now holds it.
          slot.had = true;
          slot.v0 = slot.v;
          slot.fmt = bytes[0];
          if (typeof slot.v === 'object' && slot.v !== null) this.slab.add(slot, bytes, bytes.length);
          else slot.raw = undefined;
        }
        if (this.incremental) {
          // `u16 length | stateId | key | u32 row length (REMOVED: none) | row`: the row key without its key group.
          const n = key.length;
          const rowLen = bytes === undefined ? 0 : bytes.length;
          if (logLen + n + 4 + rowLen > log.length) {
            const bigger = Buffer.allocUnsafe(Math.max(2 * log.length, logLen + n + 4 + rowLen));
            log.copy(bigger, 0, 0, logLen);
            log = bigger;
          }
          log[logLen] = (n - 2) >>> 8;
          log[logLen + 1] = (n - 2) & 0xff;
          for (let i = 2; i < n; i++) log[logLen + i] = key[i]; // a short key: no view object
          logLen += n;
          log.writeUInt32BE(bytes === undefined ? REMOVED : rowLen, logLen);
          logLen += 4;
          if (bytes !== undefined) logLen += bytes.copy(log, logLen);
        }
      }, (slot) => {
        slot.live = false; // a value TTL dropped, never stored
      });
      writeLog();
    });
    for (const g of groups) {
      for (const slot of g.touched) {
        slot.touched = false;
        if (!slot.live) g.cache.delete(slot.nk);
      }
      g.touched = [];
    }
    this.dirty.clear();
    // When under 5% of the accesses since the last flush hit the cache (state much larger than the cache, or
    // keys cycling through more than it holds), keeping entries costs more than it saves: it is emptied instead.
    let size = this.cachedEntries();
    const keep = Math.floor(this.cacheEntries * KEPT_AFTER_EVICTION);
    if (size > keep) {
      if (this.hits * 20 < this.hits + this.loaded) this.dropClean();
      else this.cachedAtFlush = size - this.evict(size - keep, size);
    } else this.cachedAtFlush = size;
    this.touchedEntries = 0;
    this.hits = 0;
    this.loaded = 0;
  }

  /** Slots in all groups' caches, changed or clean: counted (at a flush), not a counter kept in step with every load and drop. */
  cachedEntries(): number {
    let n = 0;
    for (const t of this.tables.values()) for (const g of t.groups) n += g.cache.size;
    return n;
  }

  /** Drops about `n` of the `size` clean slots, oldest first, from every group in proportion to its size; returns how many. */
  private evict(n: number, size: number): number {
    const share = n / size;
    this.cacheHoldsAll = false;
    let dropped = 0;
    for (const t of this.tables.values()) {
      for (const g of t.groups) {
        let drop = Math.ceil(g.cache.size * share);
        for (const nk of g.cache.keys()) {
          if (drop-- <= 0) break;
          g.cache.delete(nk);
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** Empties the cache (after a flush): a restore writes rows behind it. */
  private dropCache(): void {
    this.flush();
    if (this.dirty.size > 0) throw new FlinkError('internal', 'The embedded state cache cannot be dropped while a store copy runs');
    this.dropClean();
  }

  /** Drops every slot (all clean: called right after a flush). */
  private dropClean(): void {
    for (const t of this.tables.values()) for (const g of t.groups) g.cache.clear();
    this.cachedAtFlush = 0;
    this.cacheHoldsAll = false;
  }

  /**
   * The rows the write cache changes, in key order: `key` (valid during the call) and the new row bytes,
   * or undefined for a removal. Unchanged entries are left out.
   */
  private changedRows(
    groups: CachedKeyGroup[],
    visit: (kg: number, key: Buffer, bytes: Buffer | undefined, slot: CacheSlot) => void,
    dropped?: (slot: CacheSlot) => void,
  ): void {
    for (const g of groups) {
      const t = this.tables.get(g.state)!;
      const meta = t.meta!;
      const enc = encoderOf(t.kind, meta, -Infinity) ?? ((v: unknown) => v); // -Infinity: TTL drops nothing here
      const fmt = bitsOf(formatOf(meta));
      const sid = this.stateId(g.state);
      if (fmt !== 0) this.writtenFormats.set(g.state, (this.writtenFormats.get(g.state) ?? 0) | fmt);
      for (const slot of sortedSlots(g.touched)) {
        const e = slot;
        const nk = slot.nk;
        if (!e.live) {
          if (slot.had) visit(g.kg, this.rowKey(sid, g.kg, nk), undefined, slot);
          continue;
        }
        // The value it was read with, unchanged: a primitive is the same row; an object may have changed in place.
        const same = e.v === slot.v0 && slot.fmt === fmt;
        if (same && slot.raw === undefined) continue;
        const stored = enc(e.v);
        if (stored === DROP) {
          if (slot.had) visit(g.kg, this.rowKey(sid, g.kg, nk), undefined, slot);
          else dropped?.(slot);
          continue;
        }
        const bytes = encodeRow(fmt, e.k, nk, stored); // reused buffer: visit copies what it keeps
        if (same && bytes.compare(slot.raw!, slot.rawAt, slot.rawAt + slot.rawLen) === 0) continue;
        visit(g.kg, this.rowKey(sid, g.kg, nk), bytes, slot);
      }
    }
  }

  private sortedDirty(): CachedKeyGroup[] {
    return [...this.dirty].sort((a, b) => a.kg - b.kg || this.stateId(a.state) - this.stateId(b.state));
  }

  /**
   * The write cache as rows by key group (null: removed), for a snapshot taken while a store copy holds
   * commits back: the state at the barrier is then the committed rows with these on top.
   */
  private cacheOverlay(): Overlay {
    const out: Overlay = new Map();
    this.changedRows(this.sortedDirty(), (kg, key, bytes) => {
      let m = out.get(kg);
      if (!m) out.set(kg, (m = new Map()));
      m.set(key.toString('latin1'), bytes ? Buffer.from(bytes) : null);
    });
    return out;
  }

  /** `u16 keyGroup | u32 epoch | u32 flush sequence`: a key group's change records in the order they were written. */
  private changeLogKey(kg: number): Buffer {
    const k = Buffer.allocUnsafe(10);
    k.writeUInt16BE(kg, 0);
    k.writeUInt32BE(this.epoch, 2);
    k.writeUInt32BE(this.flushSeq++, 6);
    return k;
  }

  /** Removes the change records up to `epoch` (inside a write transaction). */
  private dropChangeLog(epoch: number): void {
    const done: Buffer[] = [];
    for (const key of this.changed.getKeys({}) as Iterable<Buffer>) if (key.readUInt32BE(2) <= epoch) done.push(Buffer.from(key));
    for (const key of done) this.changed.removeSync(key);
  }

  /**
   * The rows of a key group changed up to `epoch`, in key order: each key with its last recorded row, or
   * undefined if that was a removal. Records of an epoch are never rewritten, and none is dropped while a delta
   * is written, so this reads no snapshot transaction; the records of later epochs are left out.
   */
  private changedRowsUpTo(epoch: number, kg: number): [Buffer, Buffer | undefined][] {
    const last = new Map<string, [Buffer, Buffer | undefined]>();
    for (const [k, rec] of this.scan(this.changed, undefined, kg)) {
      if (k.readUInt32BE(2) > epoch) continue;
      for (let at = 0; at < rec.length;) {
        const len = rec.readUInt16BE(at);
        const key = Buffer.allocUnsafe(2 + len);
        key.writeUInt16BE(kg, 0);
        rec.copy(key, 2, at + 2, at + 2 + len);
        at += 2 + len;
        const rowLen = rec.readUInt32BE(at);
        at += 4;
        const row = rowLen === REMOVED ? undefined : rec.subarray(at, at + rowLen);
        if (row !== undefined) at += rowLen;
        last.set(key.toString('latin1'), [key, row]); // records come in the order they were written: the last wins
      }
    }
    return [...last.values()].sort((a, b) => Buffer.compare(a[0], b[0]));
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Synchronous part of a snapshot: flushes the cache, starts a read transaction and decides what to
   * write. CANONICAL: a full file in the heap format (savepoints, and checkpoints when not incremental).
   * NATIVE: this backend's files; for an incremental checkpoint the files of the last completed one plus a
   * delta in `shared/`, else a full file; a native savepoint copies the chain into its own folder.
   */
  snapshotKeyed(o: KeyedSnapshotOptions): KeyedSnapshot {
    // While an earlier snapshot's store copy runs nothing commits: this one reads the committed rows with
    // the write cache (encoded now) on top, and writes a file of rows instead of a store copy.
    const overlay = this.copying > 0 ? this.cacheOverlay() : undefined;
    this.flush();
    const epoch = this.epoch++;
    const tableKinds = this.stateKinds;
    const ttlNow = this.now();
    const canonical = o.format === 'CANONICAL' || (o.sharedDir && !this.incremental);
    const base = this.lastCompleted?.files ?? [];
    const baseDeltaBytes = base.slice(1).reduce((n, f) => n + f.handle.size, 0);
    const delta = !canonical && this.incremental && !o.full && base.length > 0 && base.length <= this.maxDeltaChain && baseDeltaBytes < base[0].handle.size;
    // A file of every row reads them in a transaction opened at the barrier; a delta reads change records, and a
    // store copy a transaction of its own (until it has, nothing commits: see flush).
    const txn = canonical || (!delta && overlay) ? this.root.useReadTransaction() : undefined;
    if (txn) this.openTxns.add(txn);
    const done = () => {
      if (txn && this.openTxns.delete(txn)) txn.done();
      this.maybeClose();
    };
    if (delta) this.writingDeltas++; // from the barrier: a checkpoint completing before the write starts drops nothing it needs
    let deltaWritten = false;
    const deltaDone = () => {
      if (!delta || deltaWritten) return;
      deltaWritten = true;
      this.writingDeltas--;
      this.maybeClose();
    };
    // Checkpoints of a non-incremental backend are canonical too: any backend restores them.
    if (canonical) {
      return {
        write: async (w) => {
          try {
            await this.writeAll(w, txn!, tableKinds, ttlNow, overlay);
          } finally {
            done();
          }
        },
      };
    }
    const dir = o.sharedDir ?? o.location;
    if (!delta && !overlay) {
      // A full native snapshot is a copy of the store itself, which a restore installs instead of replaying rows.
      const abs = join(dir, `${o.filePrefix}-full-${randomHex(8)}`);
      const entries = (this.rows.getStats() as { entryCount: number }).entryCount;
      const stateIds = Object.fromEntries(this.stateIds);
      const formats: Record<string, number> = {};
      for (const m of [this.restoredFormats, this.writtenFormats]) for (const [n, b] of m) formats[n] = (formats[n] ?? 0) | b;
      this.copying++;
      const copied = copyStore(this.root, abs).finally(() => {
        this.copying--;
        this.maybeClose();
      });
      copied.catch(() => {}); // awaited by files(); a snapshot given up on must not fail the process
      return {
        files: async () => {
          const { size, crc32 } = await copied;
          const out: ChainFile[] = [{
            abs,
            handle: {
              file: '', size, crc32, keyGroupRange: this.keyGroupRange.toJSON(), keyedStates: tableKinds, keyedEntries: entries,
              store: 'lmdb', stateIds, formats,
            },
          }];
          if (o.sharedDir && this.incremental) this.pendingChains.set(o.checkpointId, { epoch, files: out });
          return out.map((f) => ({ ...f.handle, file: relative(o.location, f.abs) }));
        },
      };
    }
    return {
      files: async () => {
        try {
          const out: ChainFile[] = [];
          if (delta) {
            for (const f of base) {
              if (o.sharedDir) out.push(f);
              else {
                // A native savepoint is self-contained: copies, never references, the checkpoint's files.
                const abs = join(o.location, `${o.filePrefix}-${randomHex(8)}`);
                copyFileSync(f.abs, abs);
                out.push({ abs, handle: { ...f.handle } });
              }
            }
          }
          const w = new StateFileWriter();
          if (delta) await this.writeDelta(w, epoch, tableKinds, overlay);
          else await this.writeAll(w, txn!, tableKinds, undefined, overlay);
          deltaDone();
          done(); // the rows are read: the file's checksum and I/O hold no transaction
          const abs = join(dir, `${o.filePrefix}-${delta ? 'delta' : 'full'}-${randomHex(8)}`);
          const { size, crc32 } = await w.finish(abs);
          out.push({
            abs,
            handle: {
              file: '', size, crc32, keyGroupRange: this.keyGroupRange.toJSON(), keyGroupOffsets: w.keyGroupOffsets,
              keyedStates: tableKinds, keyedEntries: w.keyedEntries, ...(delta ? { delta: true } : {}),
            },
          });
          if (o.sharedDir && this.incremental) this.pendingChains.set(o.checkpointId, { epoch, files: out });
          return out.map((f) => ({ ...f.handle, file: relative(o.location, f.abs) }));
        } finally {
          deltaDone();
          done();
        }
      },
      release: () => {
        deltaDone();
        done();
      },
    };
  }

  override notifyCheckpointComplete(id: number): void {
    const c = this.pendingChains.get(id);
    if (!c) return; // a savepoint, or a checkpoint that wrote no files here
    for (const k of [...this.pendingChains.keys()]) if (k <= id) this.pendingChains.delete(k);
    this.lastCompleted = { id, files: c.files };
    // Changes up to this checkpoint's barrier are in its files now: dropped with the next commit.
    this.pendingCleanup = Math.max(this.pendingCleanup ?? 0, c.epoch);
  }

  override notifyCheckpointAborted(id: number): void {
    this.pendingChains.delete(id);
  }

  /** Closes the store and removes the working directory, once running snapshots have read what they need. */
  override dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.disposed && this.openTxns.size === 0 && this.copying === 0 && this.writingDeltas === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.root.close();
    // At once, not after close() settles: the worker may be terminated first. The open mapping stays valid.
    rmSync(this.options.localDir, { recursive: true, force: true });
  }

  /** Every row of the range, by key group. `ttlNow` set: canonical (decoded and re-encoded, TTL cleanup applied). */
  private async writeAll(w: StateFileOutput, txn: Transaction, kinds: Record<string, string>, ttlNow: number | undefined, overlay?: Overlay): Promise<void> {
    await this.writeRanges(w, (kg) => withOverlay(this.scan(this.rows, txn, kg), overlay?.get(kg), false), (name, rows, out) => {
      if (ttlNow === undefined) return this.rawChunks(name, rows, out);
      const t = this.tables.get(name);
      if (!t?.meta) return this.rawChunks(name, rows, out); // restored, not yet registered: forward as it came
      const enc = encoderOf(t.kind, t.meta, ttlNow);
      const flat: TaggedFlat = [];
      for (const [key, row] of rows) {
        const [fmt, k, stored] = decodeRow(row!, decodeKey(key.subarray(4)));
        const v = this.revive(name, fmt, stored);
        const s = enc ? enc(v) : v;
        if (s !== DROP) flat.push(k, s);
      }
      const f = formatOf(t.meta);
      if (f) flat.format = f;
      if (flat.length > 0) out(flat);
    }, kinds);
  }

  /** Rows changed since the last completed checkpoint up to `epoch` (its barrier), and removals (chunks tagged `deleted`). */
  private async writeDelta(w: StateFileOutput, epoch: number, kinds: Record<string, string>, overlay?: Overlay): Promise<void> {
    await this.writeRanges(w, (kg) => withOverlay(this.changedRowsUpTo(epoch, kg), overlay?.get(kg), true), (name, rows, out) => {
      const gone = rows.filter(([, r]) => r === undefined);
      this.rawChunks(name, rows.filter(([, r]) => r !== undefined) as [Buffer, Buffer][], out);
      if (gone.length === 0) return;
      const flat: TaggedFlat = [];
      // Removals carry the normalized key (the original one is gone with the row).
      for (const [key] of gone) flat.push(decodeKey(key.subarray(4)), null);
      flat.format = { deleted: true };
      out(flat);
    }, kinds);
  }

  /**
   * Key group by key group: the rows of a group (from `rowsOf`, in key order, so by state), handed to
   * `emit` per state, which writes chunks. Yields to the event loop between chunks.
   */
  private async writeRanges(
    w: StateFileOutput,
    rowsOf: (kg: number) => Iterable<[Buffer, Buffer | undefined]>,
    emit: (name: string, rows: [Buffer, Buffer | undefined][], out: (flat: TaggedFlat) => void) => void,
    kinds: Record<string, string>,
  ): Promise<void> {
    const names = new Map([...this.stateIds].map(([n, id]) => [id, n]));
    for (let kg = this.keyGroupRange.start; kg <= this.keyGroupRange.end; kg++) {
      w.beginKeyGroup();
      let sid = -1;
      let batch: [Buffer, Buffer | undefined][] = [];
      const out = (flat: TaggedFlat) => w.writeKeyedChunk(names.get(sid)!, flat);
      const emitBatch = () => {
        if (batch.length > 0 && kinds[names.get(sid)!] !== undefined) emit(names.get(sid)!, batch, out);
        batch = [];
      };
      // Read the group at once: no cursor stays open across event-loop turns (the transaction does).
      for (const r of [...rowsOf(kg)]) {
        const s = r[0].readUInt16BE(2);
        if (s !== sid || batch.length >= CHUNK) {
          emitBatch();
          sid = s;
          if (++this.sinceYield >= 8) {
            this.sinceYield = 0;
            await yieldToLoop();
          }
        }
        batch.push(r);
      }
      emitBatch();
      w.endSection();
    }
  }

  /** Rows as stored, one chunk per run of equal format. */
  private rawChunks(_name: string, rows: [Buffer, Buffer | undefined][], out: (flat: TaggedFlat) => void): void {
    let flat: TaggedFlat = [];
    let fmt = -1;
    const push = () => {
      const f = formatOfBits(fmt);
      if (f) flat.format = f;
      if (flat.length > 0) out(flat);
      flat = [];
    };
    for (const [key, r] of rows) {
      const [b, k, stored] = decodeRow(r!, decodeKey(key.subarray(4)));
      if (b !== fmt) {
        push();
        fmt = b;
      }
      flat.push(k, stored);
    }
    push();
  }

  /** A key group's rows of a table, in key order, read in the snapshot's transaction. */
  private *scan(db: Database<Buffer, Buffer>, txn: Transaction | undefined, kg: number): Generator<[Buffer, Buffer]> {
    const start = Buffer.alloc(2);
    start.writeUInt16BE(kg);
    const end = Buffer.alloc(2);
    end.writeUInt16BE(kg + 1);
    for (const { key, value } of db.getRange({ start, end: kg + 1 > 0xffff ? undefined : end, transaction: txn } as never) as Iterable<{ key: Buffer; value: Buffer }>) {
      if (key.readUInt16BE(0) !== kg) break;
      yield [Buffer.from(key), Buffer.from(value)];
    }
  }

  /**
   * Every stored entry of a state as snapshot chunks hold it (key, stored value): what a restore brought
   * back, for rebuilding derived structures such as the timer heaps (also from native chains).
   */
  override forEachStoredEntry(state: string, visit: (key: unknown, stored: unknown) => void): boolean {
    const sid = this.stateIds.get(state);
    if (sid === undefined) return true;
    this.flush();
    for (let kg = this.keyGroupRange.start; kg <= this.keyGroupRange.end; kg++) {
      for (const [key, row] of this.scan(this.rows, undefined, kg)) {
        if (key.readUInt16BE(2) !== sid) continue;
        const [, k, stored] = decodeRow(row, decodeKey(key.subarray(4)));
        visit(k, stored);
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- restore

  /**
   * Loads the key groups of this backend's range: from canonical state files (as the heap backend), or
   * from a native chain (a full file, then deltas in order) that `dir` (the snapshot's folder) resolves.
   */
  restore(files: { bytes: Buffer; handle: StateFileHandle; dir?: string }[]): void {
    for (const { bytes, handle, dir } of files) {
      if (handle.keyedStateFiles) {
        // Size and checksum are checked before anything is used: a damaged file is refused.
        for (const kf of handle.keyedStateFiles) {
          if (kf.store === 'lmdb') this.restoreStore(dir ?? '.', kf);
          else this.ingest(verifyStateFile(dir ?? '.', kf), kf);
        }
      } else {
        this.ingest(bytes, handle);
      }
    }
  }

  /**
   * A shipped store file. Same key-group range and nothing here yet: the file becomes this backend's store
   * (written into a new store folder and opened; no row is decoded). Otherwise (rescaling, or a second
   * file): the rows of this range's key groups are copied as stored, their state ids mapped to this store's.
   */
  private restoreStore(dir: string, kf: KeyedStateFileHandle): void {
    const kinds = kf.keyedStates;
    for (const [name, kind] of Object.entries(kinds)) {
      if (!STATE_KINDS.includes(kind)) throw new FlinkError('restore', `State '${name}' has kind '${kind}', which this version does not know`);
    }
    if (!kf.keyGroupRange || !kf.stateIds) throw new FlinkError('restore', `State file ${kf.file} is a store file without its key-group range or state ids`);
    for (const [name, b] of Object.entries(kf.formats ?? {})) this.restoredFormats.set(name, (this.restoredFormats.get(name) ?? 0) | b);
    const range = KeyGroupRange.of(kf.keyGroupRange);
    this.dropCache();
    const fresh = this.stateIds.size === 0 && this.dirty.size === 0 && (this.rows.getStats() as { entryCount: number }).entryCount === 0;
    if (fresh && range.start === this.keyGroupRange.start && range.end === this.keyGroupRange.end) {
      const path = join(this.options.localDir, `db-${this.stores}`);
      mkdirSync(path, { recursive: true });
      try {
        copyVerified(dir, kf, join(path, 'data.mdb'));
      } catch (e) {
        rmSync(path, { recursive: true, force: true });
        throw e;
      }
      const empty = this.root;
      this.openStore(path);
      void empty.close();
      this.changed.clearSync(); // change records of the job that wrote the file
      for (const [name, id] of Object.entries(kf.stateIds)) this.stateIds.set(name, id);
      for (const [name, kind] of Object.entries(kinds)) this.tableOf(name, kind as StateKind);
      return;
    }
    for (const [name, kind] of Object.entries(kinds)) this.tableOf(name, kind as StateKind);
    const names = new Map(Object.entries(kf.stateIds).map(([n, id]) => [id, n]));
    const src = openStoreFile(dir, kf, this.options.localDir);
    try {
      this.root.transactionSync(() => {
        for (const [key, value] of storeRows(src.rows, range.intersection(this.keyGroupRange))) {
          const name = names.get(key.readUInt16BE(2));
          if (name === undefined || kinds[name] === undefined) continue;
          key.writeUInt16BE(this.stateId(name), 2);
          this.rows.putSync(key, value);
        }
      });
    } finally {
      src.close();
    }
  }

  private ingest(bytes: Buffer, handle: Pick<StateFileHandle, 'keyedStates' | 'keyGroupRange' | 'keyGroupOffsets'>): void {
    for (const [name, kind] of Object.entries(handle.keyedStates)) {
      if (!STATE_KINDS.includes(kind)) throw new FlinkError('restore', `State '${name}' has kind '${kind}', which this version does not know`);
      this.tableOf(name, kind as StateKind);
    }
    this.dropCache();
    this.root.transactionSync(() => {
      readKeyGroups(bytes, handle as StateFileHandle, this.keyGroupRange, (name, kg, flat) => {
        const sid = this.stateId(name);
        const f = (flat as TaggedFlat).format;
        const fmt = bitsOf(f);
        this.restoredFormats.set(name, (this.restoredFormats.get(name) ?? 0) | fmt);
        for (let i = 0; i < flat.length; i += 2) {
          const nk = f?.deleted ? (flat[i] as NormalizedKey) : normalizeKey(flat[i]);
          const key = this.rowKey(sid, kg, nk);
          if (f?.deleted) this.rows.removeSync(key);
          else this.rows.putSync(key, encodeRow(fmt, flat[i], nk, flat[i + 1]));
        }
      });
    });
  }

  // ---------------------------------------------------------------- internals

  private stateId(name: string): number {
    let id = this.stateIds.get(name);
    if (id === undefined) {
      id = this.stateIds.size;
      this.stateIds.set(name, id);
    }
    return id;
  }

  /** `u16 keyGroup | u16 stateId | key`, in the shared scratch buffer: valid until the next call. */
  private rowKey(sid: number, kg: number, nk: NormalizedKey): Buffer {
    const out = KEY_SCRATCH;
    out[0] = kg >>> 8;
    out[1] = kg & 0xff;
    out[2] = sid >>> 8;
    out[3] = sid & 0xff;
    if (typeof nk === 'string' && nk.length * 3 < out.length - 5) {
      out[4] = T_STR;
      const n = nk.length;
      let i = 0;
      // ASCII (most keys) without a native call: the same bytes as UTF-8.
      for (; i < n; i++) {
        const c = nk.charCodeAt(i);
        if (c >= 0x80) break;
        out[5 + i] = c;
      }
      return keyView(5 + (i === n ? n : out.write(nk, 5)));
    }
    if (typeof nk === 'number') {
      out[4] = T_NUM;
      out.writeDoubleBE(nk === 0 ? 0 : nk, 5);
      return keyView(13);
    }
    const k = encodeKey(nk);
    if (4 + k.length > out.length) return Buffer.concat([out.subarray(0, 4), k]);
    k.copy(out, 4);
    return out.subarray(0, 4 + k.length);
  }
}
