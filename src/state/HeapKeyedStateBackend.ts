import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { FlinkError } from '../core/FlinkError.js';
import { AbstractKeyedStateBackend, type Entry, type KeyedStateBackendOptions, type KeyGroupStore, type StateTable } from './AbstractKeyedStateBackend.js';
import { BinaryKeyGroup, type BinaryTable } from './BinaryKeyGroup.js';
import type { NormalizedKey } from './KeyGroupRangeAssignment.js';
import type { KeyGroupRange } from './KeyGroupRange.js';
import type { KeyedSnapshot, KeyedSnapshotOptions } from './KeyedStateBackend.js';
import { DROP, encoderOf, formatOf, STATE_KINDS, type StateKind, type TaggedFlat } from './StateCodec.js';
import { isColumnar, packColumns, unpackColumnar } from './ColumnarChunk.js';
import { decodeKeyedChunk, decodeKeyedChunkBody, keyedChunkEntries, readKeyGroupChunks, type StateFileOutput } from './StateFile.js';
import type { StateFileHandle } from './StateHandles.js';

const CHUNK = 4096;

/** A key group's contents as a snapshot writes them: keys and values at its barrier, side by side. */
interface GroupView {
  keys: unknown[];
  values: unknown[];
}

/** A snapshot whose asynchronous part has not yet written every key group. */
interface PendingSnapshot {
  /** Groups handed over before their first change after the barrier, not yet written. */
  taken: Map<HeapKeyGroup, GroupView>;
  /** Groups whose view this snapshot holds (handed or taken) and has not finished writing. */
  holding: Set<HeapKeyGroup>;
}

/** `Entry.ver` of a value a snapshot's view may share (older than any barrier) and of one it cannot. */
const SHARED = -1;
const OWN = Number.MAX_SAFE_INTEGER;

/**
 * The Entry the shared accessors see: a cursor over one key of its group (they only ever hold the current
 * key's), so the Map holds values directly and a read allocates nothing. Writing `v` writes the group.
 */
class Cursor implements Entry {
  nk: NormalizedKey = undefined;
  cur: unknown = undefined;

  constructor(private readonly g: HeapKeyGroup) {}

  get k(): unknown {
    return this.g.keyOf(this.nk);
  }

  get v(): unknown {
    return this.cur;
  }

  set v(value: unknown) {
    this.cur = value;
    this.g.write(this.nk, value, true);
  }

  /** Whether a running snapshot may share the value decides copy-on-write (AbstractKeyedStateBackend.captured). */
  get ver(): number {
    return this.g.shares(this.nk) ? SHARED : OWN;
  }

  set ver(_: number) {}
}

/**
 * One key group of one state: normalized key -> value, with no per-entry object (heap bytes per key).
 *
 * Copy-on-write per key group: a running snapshot takes the group's keys and values when its asynchronous
 * part gets there, or earlier, just before the group's first change after the barrier; the synchronous part
 * copies nothing, however large the state. While a snapshot holds a view of the group and has not written
 * it, a value the view may share is not changed in place: `copied` records the keys whose live value was
 * replaced or copied since the view was taken, every other key counts as shared (see Cursor.ver).
 */
class HeapKeyGroup implements KeyGroupStore {
  private readonly m = new Map<NormalizedKey, unknown>();
  /** The user's key where it differs from the normalized one (structured keys). */
  private keys: Map<NormalizedKey, unknown> | undefined = undefined;
  /** Snapshots whose barrier came before this group's last change and that have not taken it yet. */
  waiting: PendingSnapshot[] | undefined = undefined;
  /** Snapshots holding a view of this group they have not finished writing. */
  private holders = 0;
  /** Keys whose live value no view shares (replaced or copied since the last view was taken). */
  private copied: Set<NormalizedKey> | undefined = undefined;
  /** Set while restored values are loaded during a running snapshot: they may be in its restored chunks. */
  loadingShared = false;
  private readonly cursor = new Cursor(this);

  get size(): number {
    return this.m.size;
  }

  get(nk: NormalizedKey): Entry | undefined {
    const v = this.m.get(nk);
    if (v === undefined && !this.m.has(nk)) return undefined;
    const c = this.cursor;
    c.nk = nk;
    c.cur = v;
    return c;
  }

  set(nk: NormalizedKey, e: Entry): this {
    if (e.k !== nk) (this.keys ??= new Map()).set(nk, e.k);
    this.write(nk, e.v, !this.loadingShared);
    return this;
  }

  delete(nk: NormalizedKey): boolean {
    if (this.waiting !== undefined) this.hand();
    this.keys?.delete(nk);
    return this.m.delete(nk);
  }

  keyOf(nk: NormalizedKey): unknown {
    const k = this.keys?.get(nk);
    return k === undefined ? nk : k;
  }

  /** `own`: no snapshot's view holds `value` (a new or copied value). */
  write(nk: NormalizedKey, value: unknown, own: boolean): void {
    if (this.waiting !== undefined) this.hand();
    this.m.set(nk, value);
    if (this.holders > 0) {
      if (own) (this.copied ??= new Set()).add(nk);
      else this.copied?.delete(nk);
    }
  }

  shares(nk: NormalizedKey): boolean {
    // A waiting snapshot's view will take every live value, copied for an earlier view or not.
    if (this.waiting !== undefined) return true;
    return this.holders > 0 && !(this.copied?.has(nk) ?? false);
  }

  /**
   * The keys and values as they were at `s`'s barrier: nothing in the group has changed since (a change
   * hands them over first). `s` holds the view until `done`.
   */
  take(s: PendingSnapshot): GroupView {
    const handed = s.taken.get(this);
    if (handed) {
      s.taken.delete(this);
      return handed;
    }
    this.unwait(s);
    this.hold(s);
    return this.view();
  }

  /** `s` has written this group. */
  done(s: PendingSnapshot): void {
    if (!s.holding.delete(this)) return;
    if (--this.holders === 0 && this.waiting === undefined) this.copied = undefined;
  }

  forget(s: PendingSnapshot): void {
    this.unwait(s);
    s.taken.delete(this);
    this.done(s);
  }

  private unwait(s: PendingSnapshot): void {
    if (this.waiting === undefined) return;
    const rest = this.waiting.filter((w) => w !== s);
    this.waiting = rest.length > 0 ? rest : undefined;
  }

  private hold(s: PendingSnapshot): void {
    s.holding.add(this);
    this.holders++;
  }

  private hand(): void {
    const v = this.view();
    for (const s of this.waiting!) {
      s.taken.set(this, v);
      this.hold(s);
    }
    this.waiting = undefined;
  }

  /** A new view shares every live value. */
  private view(): GroupView {
    const n = this.m.size;
    const keys = new Array<unknown>(n);
    const values = new Array<unknown>(n);
    let i = 0;
    if (this.keys === undefined) {
      for (const [nk, v] of this.m) {
        keys[i] = nk;
        values[i++] = v;
      }
    } else {
      for (const [nk, v] of this.m) {
        keys[i] = this.keyOf(nk);
        values[i++] = v;
      }
    }
    this.copied = undefined;
    return { keys, values };
  }
}

/** A heap key group: JS objects in a Map, or binary rows for value-like states whose values fit them. */
type HeapStore = HeapKeyGroup | BinaryKeyGroup;

/** The state kinds whose values may live as binary rows (one value per key). */
const VALUE_LIKE: readonly StateKind[] = ['value', 'reducing', 'aggregating'];

/**
 * Keyed state on the heap (Flink's HashMapStateBackend), organised by key group: per key group and state, binary
 * rows (BinaryKeyGroup.ts) for value-like states of numbers and flat records with string keys, else a Map of JS
 * objects.
 *
 * Snapshots are copy-on-write: the synchronous part only marks every key group as wanted; a group's keys
 * and values are collected (pointer copies) when the asynchronous part gets to it, or just before its first
 * change after the barrier (HeapKeyGroup); the asynchronous part serializes them in chunks between
 * records. Until a snapshot has written a group, a value it may share is never changed in place: a write
 * replaces it, and a read or in-place update (list add, map put) of a mutable value first copies it and
 * makes the copy the live value, so in-place mutation by the user cannot leak into the snapshot. Without a
 * running snapshot nothing is copied.
 */
export interface HeapKeyedStateBackendOptions extends KeyedStateBackendOptions {
  /** A state moved from binary rows to JS objects for good (`why`: what the rows could not hold); once per state. */
  onDemote?: (state: string, why: string) => void;
}

export class HeapKeyedStateBackend extends AbstractKeyedStateBackend<HeapStore> {
  /**
   * Lazy restore: the encoded chunks of each restored key group, decoded on the group's first access.
   * Restoring then costs about a read of the files, and a group nobody touches is never decoded.
   */
  private raw: (Buffer[] | undefined)[] = [];
  private rawGroups = 0;
  /** Snapshots taken and not yet written or released. */
  private readonly releases = new Set<() => void>();
  /** The value-like states still kept as binary rows. */
  private readonly binaryTables = new Map<string, BinaryTable>();
  private readonly onDemote: HeapKeyedStateBackendOptions['onDemote'];

  constructor(keyGroupRange: KeyGroupRange, maxParallelism: number, options: HeapKeyedStateBackendOptions = {}) {
    super(keyGroupRange, maxParallelism, options);
    this.onDemote = options.onDemote;
  }

  override setCurrentKey(key: unknown, keyHash?: number): void {
    super.setCurrentKey(key, keyHash);
    if (this.rawGroups > 0 && this.raw[this.currentGroupIndex]) this.loadGroup(this.currentGroupIndex);
  }

  /** Number of (key, state) entries, restored ones not yet registered included. */
  numEntries(): number {
    this.loadAllGroups();
    let n = 0;
    for (const t of this.tables.values()) {
      for (const g of t.groups) n += g.size;
      for (const chunks of t.pending ?? []) for (const flat of chunks) n += flat.length / 2;
    }
    return n;
  }

  /**
   * Every snapshot is a full one into the state file. A checkpoint (NATIVE) writes uniform chunks in the
   * columnar form, several times faster to write than rows; a canonical savepoint keeps the row form, the
   * interchange format other tools read.
   */
  snapshotKeyed(o: KeyedSnapshotOptions): KeyedSnapshot {
    return this.fullSnapshot(o.format === 'NATIVE');
  }

  /**
   * Synchronous part of a snapshot. Returns the asynchronous part, which writes every key group of
   * this backend's range into `writer`, yielding to the event loop between chunks.
   */
  private fullSnapshot(columnar: boolean): { write: (writer: StateFileOutput) => Promise<void>; release: () => void } {
    const now = this.now(); // TTL cleanup judges expiry as of the barrier
    // Untouched restored groups go forward as they came, unless TTL cleanup must filter them.
    if ([...this.tables.values()].some((t) => t.meta?.ttl)) this.loadAllGroups();
    const raw = this.rawGroups > 0 ? this.raw.slice() : [];
    const snap: PendingSnapshot = { taken: new Map(), holding: new Set() };
    const captured = [...this.tables].map(([name, t]) => ({
      name,
      groups: t.groups.slice(),
      pending: t.pending,
      encode: encoderOf(t.kind, t.meta, now),
      format: formatOf(t.meta),
    }));
    for (const { groups } of captured) {
      for (const g of groups) {
        if (g instanceof BinaryKeyGroup) g.writeBack();
        (g.waiting ??= []).push(snap);
      }
    }
    this.beginCopyOnWrite();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.releases.delete(release);
      for (const { groups } of captured) for (const g of groups) g.forget(snap);
      this.endCopyOnWrite();
    };
    this.releases.add(release);
    const write = async (writer: StateFileOutput) => {
      try {
        let sinceYield = 0;
        for (let gi = 0; gi < this.keyGroupRange.size; gi++) {
          writer.beginKeyGroup();
          for (const chunk of raw[gi] ?? []) {
            writer.writeEncodedKeyedChunk(chunk, keyedChunkEntries(chunk));
            await yieldToLoop();
          }
          for (const { name, groups, pending, encode, format } of captured) {
            // Restored state no descriptor has claimed yet goes forward as it came.
            for (const flat of pending?.[gi] ?? []) {
              writer.writeKeyedChunk(name, flat);
              sinceYield += flat.length / 2;
              if (sinceYield >= CHUNK) {
                sinceYield = 0;
                await yieldToLoop();
              }
            }
            const group = groups[gi];
            if (group instanceof BinaryKeyGroup) {
              // A checkpoint hands the rows over as copies (packed on the writer's thread); a savepoint writes rows.
              if (columnar) {
                const taken = group.takeRows(snap);
                if (taken) writer.writeBinaryRows(name, taken.rows, taken.fields);
              } else {
                const chunk = group.take(snap);
                if (chunk) writer.writeKeyedChunk(name, unpackColumnar(chunk));
              }
              sinceYield += group.size >> 2; // a row costs a fraction of an object here: yield every ~16k rows
              if (sinceYield >= CHUNK) {
                sinceYield = 0;
                await yieldToLoop();
              }
              continue;
            }
            const { keys, values } = group.take(snap);
            for (let i = 0; i < keys.length; i += CHUNK) {
              const end = Math.min(keys.length, i + CHUNK);
              const packed = columnar && !encode ? packColumns(keys, values, i, end) : undefined;
              let flat: TaggedFlat;
              if (packed) {
                if (format) packed.format = format;
                writer.writeColumnarChunk(name, packed);
                flat = [];
              } else if (!encode) {
                flat = new Array((end - i) * 2);
                for (let j = i; j < end; j++) {
                  flat[(j - i) * 2] = keys[j];
                  flat[(j - i) * 2 + 1] = values[j];
                }
              } else {
                flat = [];
                for (let j = i; j < end; j++) {
                  const s = encode(values[j]);
                  if (s !== DROP) flat.push(keys[j], s);
                }
              }
              if (format) flat.format = format;
              if (flat.length > 0) writer.writeKeyedChunk(name, flat);
              sinceYield += end - i;
              if (sinceYield >= CHUNK) {
                sinceYield = 0;
                await yieldToLoop();
              }
            }
            group.done(snap);
          }
          writer.endSection();
        }
      } finally {
        release();
      }
    };
    return { write, release };
  }

  /**
   * Takes the key groups of this backend's range from the given snapshot files. They stay encoded until
   * first accessed (see `raw`); the files' checksums have been verified by then.
   */
  restore(files: { bytes: Buffer; handle: StateFileHandle }[]): void {
    for (const { bytes, handle } of files) {
      if (handle.keyedStateFiles) {
        throw new FlinkError('restore', `State file ${handle.file} holds keyed state in the embedded backend's native format; restore it with state.backend.type: embedded, or take a canonical savepoint to change backends`);
      }
      for (const [name, kind] of Object.entries(handle.keyedStates)) {
        if (!STATE_KINDS.includes(kind)) throw new FlinkError('restore', `State '${name}' has kind '${kind}', which this version does not know`);
        this.tableOf(name, kind as StateKind);
      }
      // One decoded chunk per state tells how it was written, so a descriptor that cannot read it fails at registration.
      const unsampled = new Set(Object.keys(handle.keyedStates));
      readKeyGroupChunks(bytes, handle, this.keyGroupRange, (kg, chunk) => {
        if (unsampled.size > 0) {
          const [name, flat] = decodeKeyedChunk(chunk);
          const t = this.tables.get(name);
          if (unsampled.delete(name) && t) t.restoredFormat = { ...t.restoredFormat, ...(flat as TaggedFlat).format };
        }
        const gi = kg - this.keyGroupRange.start;
        if (!this.raw[gi]) {
          this.raw[gi] = [];
          this.rawGroups++;
        }
        this.raw[gi]!.push(chunk);
      });
    }
  }

  private loadGroup(gi: number): void {
    const chunks = this.raw[gi]!;
    this.raw[gi] = undefined;
    this.rawGroups--;
    for (const chunk of chunks) {
      const [name, body] = decodeKeyedChunkBody(chunk);
      const t = this.tables.get(name);
      if (!t) throw new FlinkError('restore', `Restored key group holds state '${name}', which its file's metadata does not list`);
      const g = t.groups[gi];
      // A binary key group's chunk goes back into a binary key group as arrays.
      if (t.meta && isColumnar(body) && g instanceof BinaryKeyGroup && g.loadPacked(body)) continue;
      const flat = isColumnar(body) ? unpackColumnar(body) : body;
      if (t.meta) this.load(name, t, gi, flat as TaggedFlat);
      else (t.pending ??= t.groups.map(() => []))[gi].push(flat as TaggedFlat);
    }
  }

  private loadAllGroups(): void {
    for (let gi = 0; this.rawGroups > 0 && gi < this.raw.length; gi++) if (this.raw[gi]) this.loadGroup(gi);
  }

  /** Restored values loaded while a snapshot runs may be in that snapshot's restored chunks: they count as shared. */
  protected override load(name: string, t: StateTable<HeapStore>, gi: number, flat: TaggedFlat): void {
    const g = t.groups[gi];
    if (g instanceof BinaryKeyGroup) return super.load(name, t, gi, flat); // rows are copies: nothing is shared
    g.loadingShared = this.releases.size > 0;
    try {
      super.load(name, t, gi, flat);
    } finally {
      g.loadingShared = false;
    }
  }

  protected newKeyGroupStore(state: string, groupIndex: number, kind: StateKind): HeapStore {
    if (!VALUE_LIKE.includes(kind)) return new HeapKeyGroup();
    let table = this.binaryTables.get(state);
    if (!table) {
      table = { shape: undefined, demote: (why) => this.demote(state, why) };
      this.binaryTables.set(state, table);
    }
    return new BinaryKeyGroup(table, groupIndex, this.current);
  }

  /** TTL and custom serializers keep their values as JS objects (the rows hold plain values only). */
  protected override registered(state: string, t: StateTable<HeapStore>): void {
    if (t.meta && (t.meta.ttl || !t.meta.val.plain || !t.meta.key.plain)) this.demote(state);
  }

  /**
   * Moves a state from binary rows to JS objects, in place in its groups array (the accessors index it on every
   * access). A move for the data (`why`: what did not fit) is said once through `onDemote`: more bytes per key from
   * now on. One for the descriptor (TTL, a serializer) is not: such a state never keeps rows.
   */
  private demote(state: string, why?: string): KeyGroupStore[] {
    const t = this.tables.get(state)!;
    if (why !== undefined && this.binaryTables.has(state)) this.onDemote?.(state, why);
    for (let gi = 0; gi < t.groups.length; gi++) {
      const bg = t.groups[gi];
      if (!(bg instanceof BinaryKeyGroup)) continue;
      const hg = new HeapKeyGroup();
      bg.forEach((nk, v) => hg.set(nk, { k: nk, v, ver: 0 }));
      bg.retire(hg); // a running snapshot that still waits for the group gets it as it was
      t.groups[gi] = hg;
    }
    this.binaryTables.delete(state);
    return t.groups;
  }

  override dispose(): void {
    for (const release of [...this.releases]) release();
  }
}
