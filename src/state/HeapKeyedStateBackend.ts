import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { FlinkError } from '../core/FlinkError.js';
import type { StateFileHandle } from './StateHandles.js';
import {
  isTypeSerializer, type AggregatingState, type AggregatingStateDescriptor, type ListState, type ListStateDescriptor, type MapState,
  type MapStateDescriptor, type ReducingState, type ReducingStateDescriptor, type StateDescriptor, type TypeInfo, type ValueState,
  type ValueStateDescriptor,
} from '../api/state.js';
import { StateVisibility, UpdateType, type StateTtlConfig } from '../api/StateTtlConfig.js';
import { KeyGroupRange } from './KeyGroupRange.js';
import { hashKey, normalizeKey, type NormalizedKey } from './KeyGroupRangeAssignment.js';
import { decodeKeyedChunk, readKeyGroupChunks, type StateFileWriter } from './StateFile.js';

/**
 * An entry is replaced on write, or mutated in place only when no running snapshot captured it
 * (`ver` newer than the last snapshot): a snapshot can hold on to the old one.
 */
export interface Entry {
  k: unknown;
  v: unknown;
  ver: number;
}

/** One key group of one state: a Map on the heap; the embedded backend puts an on-disk store with a write cache behind it. */
export interface KeyGroupStore {
  get(nk: NormalizedKey): Entry | undefined;
  set(nk: NormalizedKey, e: Entry): unknown;
  delete(nk: NormalizedKey): boolean;
  readonly size: number;
  values(): IterableIterator<Entry>;
}
type Group = KeyGroupStore;

export type StateKind = 'value' | 'list' | 'reducing' | 'aggregating' | 'map';
export const KINDS: readonly string[] = ['value', 'list', 'reducing', 'aggregating', 'map'];

/** The clock of state TTL (Flink's TtlTimeProvider); tests inject a fake one. */
export interface TtlTimeProvider {
  currentTimestamp(): number;
}

export interface HeapKeyedStateBackendOptions {
  ttlTimeProvider?: TtlTimeProvider;
}

/**
 * How a state's values are copied (copy-on-write), written and read back: structured clone by default, the
 * user's serializer when the descriptor has one, structured clone plus the class's prototype for a type hint.
 */
export interface Codec {
  /** Neither serializer nor type hint: snapshots write values as they are. */
  plain: boolean;
  serializer: boolean;
  copy(v: unknown): unknown;
  encode(v: unknown): unknown;
  /** `serialized`: what the snapshot says about the stored value. */
  decode(stored: unknown, serialized: boolean, state: string): unknown;
}

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null;

const PLAIN: Codec = {
  plain: true,
  serializer: false,
  copy: (v) => (isObject(v) ? structuredClone(v) : v),
  encode: (v) => v,
  decode: (stored, serialized, state) => {
    if (serialized) throw noSerializer(state);
    return stored;
  },
};

export function noSerializer(state: string): FlinkError {
  return new FlinkError('restore', `State '${state}' was written with a user serializer; its descriptor must carry a serializer to read it back`);
}

function codecOf(t: TypeInfo<unknown> | undefined): Codec {
  if (t === undefined) return PLAIN;
  if (isTypeSerializer(t)) {
    const ser = t;
    return {
      plain: false,
      serializer: true,
      copy: (v) => (isObject(v) ? ser.deserialize(ser.serialize(v)) : v),
      encode: (v) => ser.serialize(v),
      // Values restored from a snapshot taken without the serializer are values already.
      decode: (stored, serialized) => (serialized ? ser.deserialize(stored as Uint8Array) : stored),
    };
  }
  const proto = (t as { prototype: object }).prototype;
  const adopt = (v: unknown) => (isObject(v) && Object.getPrototypeOf(v) !== proto ? Object.setPrototypeOf(v, proto) : v);
  return {
    plain: false,
    serializer: false,
    copy: (v) => (isObject(v) ? adopt(structuredClone(v)) : v),
    encode: (v) => v,
    decode: (stored, serialized, state) => {
      if (serialized) throw noSerializer(state);
      return adopt(stored);
    },
  };
}

export interface Ttl {
  ttl: number;
  onRead: boolean;
  returnExpired: boolean;
  cleanupFullSnapshot: boolean;
}

function ttlOf(c: StateTtlConfig): Ttl | undefined {
  if (!c.isEnabled()) return undefined;
  return {
    ttl: c.getTtl(),
    onRead: c.getUpdateType() === UpdateType.OnReadAndWrite,
    returnExpired: c.getStateVisibility() === StateVisibility.ReturnExpiredIfNotCleanedUp,
    cleanupFullSnapshot: c.getCleanupStrategies().inFullSnapshot(),
  };
}

/** What a registered descriptor fixes about a state. */
export interface Meta {
  kind: StateKind;
  ttl?: Ttl;
  /** Values, list elements, accumulators, map values. */
  val: Codec;
  /** Map keys. */
  key: Codec;
}

/**
 * Tag on a keyed chunk's array (`flat.format`) when its values are not plain: a named property of the array,
 * which structured clone carries, so the framing `[stateName, [key0, value0, ...]]` stays as it is and chunks
 * of the current code (no tag: plain values) read as before.
 *   ttl    value-like states: [value, ts]; list: [[element, ts], ...]; map: Map(key → [value, ts])
 *   ser    values (elements, accumulators, map values) are serialize(value) of the user's serializer
 *   keySer map keys are serialize(key)
 * Values are the state's value (value, reducing, aggregating: the accumulator), an array (list), or a Map
 * from map key to map value (map).
 */
export interface ChunkFormat {
  /** Embedded backend's delta files only: the keys (normalized) of removed entries, values null. */
  deleted?: true;
  ttl?: true;
  ser?: true;
  keySer?: true;
}
export type TaggedFlat = unknown[] & { format?: ChunkFormat };

export function formatOf(meta: Meta | undefined): ChunkFormat | undefined {
  if (!meta || (!meta.ttl && !meta.val.serializer && !meta.key.serializer)) return undefined;
  const f: ChunkFormat = {};
  if (meta.ttl) f.ttl = true;
  if (meta.val.serializer) f.ser = true;
  if (meta.key.serializer) f.keySer = true;
  return f;
}

export interface StateTable {
  kind: StateKind;
  groups: Group[];
  /** Set when a descriptor registers the state. */
  meta?: Meta;
  /** Restored chunks per key group, decoded when a descriptor registers the state (only it knows the serializer). */
  pending?: TaggedFlat[][];
  /** How the restored snapshot wrote this state (from a sample chunk), checked when a descriptor registers. */
  restoredFormat?: ChunkFormat;
}

export type TtlValue = [value: unknown, ts: number];
export type MapRow = [key: unknown, value: unknown, ts?: number];

const CHUNK = 4096;
export const DROP = Symbol('expired');

/**
 * Keyed state on the JS heap (Flink's HashMapStateBackend), organised by key group.
 *
 * Snapshots are copy-on-write: the synchronous part only collects the entry objects of every key group
 * (pointer copies); the asynchronous part serializes them in chunks between records. While a snapshot
 * runs, an entry it captured is never changed: a write replaces it, and a read or in-place update (list
 * add, map put) of a mutable value first copies it and makes the copy the live entry, so in-place
 * mutation by the user cannot leak into the snapshot. Without a running snapshot nothing is copied.
 *
 * State TTL (processing time) is kept with the value: [value, ts] for value, reducing and aggregating
 * state, per element for lists, per entry for maps, as Flink's TtlValue.
 */
export class HeapKeyedStateBackend {
  protected readonly tables = new Map<string, StateTable>();
  private readonly clock: TtlTimeProvider;
  private nk: NormalizedKey = undefined;
  private key: unknown = undefined;
  private groupIdx = -1;
  private version = 1;
  private snapshotVersion = 0;
  private runningSnapshots = 0;
  /**
   * Lazy restore: the encoded chunks of each restored key group, decoded on the group's first access.
   * Restoring then costs about a read of the files, and a group nobody touches is never decoded.
   */
  private raw: (Buffer[] | undefined)[] = [];
  private rawGroups = 0;

  constructor(readonly keyGroupRange: KeyGroupRange, readonly maxParallelism: number, options: HeapKeyedStateBackendOptions = {}) {
    this.clock = options.ttlTimeProvider ?? { currentTimestamp: () => Date.now() };
  }

  setCurrentKey(key: unknown): void {
    const nk = normalizeKey(key);
    const kg = hashKey(nk) % this.maxParallelism;
    if (!this.keyGroupRange.contains(kg)) {
      throw new FlinkError('internal', `Key group ${kg} of key ${String(key)} is not in this subtask's range ${this.keyGroupRange.start}-${this.keyGroupRange.end}`);
    }
    this.nk = nk;
    this.key = key;
    this.groupIdx = kg - this.keyGroupRange.start;
    if (this.rawGroups > 0 && this.raw[this.groupIdx]) this.loadGroup(this.groupIdx);
  }

  getCurrentKey(): unknown {
    return this.key;
  }

  // ---------------------------------------------------------------- value state

  getState<T>(desc: StateDescriptor<T>): ValueState<T> {
    if (desc.kind !== 'value') {
      throw new FlinkError('invalid-argument', `State '${desc.name}' has kind '${desc.kind}': getState is for value state (use get${desc.kind[0]?.toUpperCase()}${desc.kind.slice(1)}State)`);
    }
    const d = desc as ValueStateDescriptor<T>;
    const t = this.register(d, 'value', d.typeInfo);
    const meta = t.meta!;
    const groups = t.groups;
    const name = d.name;
    const backend = this;
    if (meta.ttl) {
      return {
        value(): T | undefined {
          const g = backend.group(groups, name);
          const e = g.get(backend.nk);
          const v = e && backend.ttlRead(g, e, meta);
          return v === undefined ? d.defaultValue : (v as T);
        },
        update(value: T | null | undefined): void {
          const g = backend.group(groups, name);
          if (value === undefined || value === null) g.delete(backend.nk);
          else backend.put(g, [value, backend.now()] satisfies TtlValue);
        },
        clear(): void {
          backend.group(groups, name).delete(backend.nk);
        },
      };
    }
    // The hot path of most jobs: no TTL, no copies unless a snapshot runs.
    return {
      value(): T | undefined {
        backend.checkKey(name);
        const g = groups[backend.groupIdx];
        const e = g.get(backend.nk);
        if (!e) return d.defaultValue;
        return backend.readable(g, e, meta) as T;
      },
      update(value: T | null | undefined): void {
        backend.checkKey(name);
        const g = groups[backend.groupIdx];
        if (value === undefined || value === null) {
          g.delete(backend.nk);
          return;
        }
        // Rewriting the live entry, unless a snapshot holds it, spares an allocation that would outlive the
        // young generation: long-lived garbage is what makes large keyed state slow.
        const e = g.get(backend.nk);
        if (e !== undefined && !backend.captured(e)) {
          e.v = value;
          e.ver = backend.version;
        } else {
          g.set(backend.nk, { k: backend.key, v: value, ver: backend.version });
        }
      },
      clear(): void {
        backend.checkKey(name);
        groups[backend.groupIdx].delete(backend.nk);
      },
    };
  }

  // ---------------------------------------------------------------- reducing and aggregating state

  getReducingState<T>(desc: ReducingStateDescriptor<T>): ReducingState<T> {
    this.checkKind(desc, 'reducing');
    const reduce = desc.reduceFunction;
    const s = this.appending<T, T>(desc, desc.typeInfo, (acc, v) => (acc === undefined ? v : reduce.reduce(acc, v)), (acc) => acc);
    return s;
  }

  getAggregatingState<IN, ACC, OUT>(desc: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    this.checkKind(desc, 'aggregating');
    const f = desc.aggregateFunction;
    return this.appending<IN, OUT>(desc, desc.accumulatorTypeInfo, (acc, v) => f.add(v, acc === undefined ? f.createAccumulator() : (acc as ACC)), (acc) => f.getResult(acc as ACC));
  }

  /** Reducing and aggregating state: one accumulator per key, `add(acc | undefined, value)` makes the next. */
  private appending<IN, OUT>(
    desc: StateDescriptor<unknown>,
    typeInfo: TypeInfo<unknown> | undefined,
    add: (acc: any, value: IN) => unknown,
    result: (acc: any) => OUT,
  ): AggregatingState<IN, OUT> {
    const t = this.register(desc, desc.kind as StateKind, typeInfo);
    const meta = t.meta!;
    const groups = t.groups;
    const name = desc.name;
    const backend = this;
    const ttl = meta.ttl;
    return {
      get(): OUT | undefined {
        const g = backend.group(groups, name);
        const e = g.get(backend.nk);
        if (!e) return undefined;
        const acc = ttl ? backend.ttlRead(g, e, meta) : backend.readable(g, e, meta);
        return acc === undefined ? undefined : result(acc);
      },
      add(value: IN | null | undefined): void {
        const g = backend.group(groups, name);
        if (value === undefined || value === null) {
          g.delete(backend.nk);
          return;
        }
        const e = g.get(backend.nk);
        if (!ttl) {
          // readable: the function may update the accumulator in place and return it.
          backend.put(g, add(e ? backend.readable(g, e, meta) : undefined, value));
          return;
        }
        let acc: unknown;
        if (e) {
          const [v, ts] = e.v as TtlValue;
          // As Flink's TtlReduceFunction/TtlAggregateFunction: an expired accumulator counts as absent unless it may be returned.
          if (!backend.expired(ts, ttl) || ttl.returnExpired) acc = backend.captured(e) ? meta.val.copy(v) : v;
        }
        backend.put(g, [add(acc, value), backend.now()] satisfies TtlValue);
      },
      clear(): void {
        backend.group(groups, name).delete(backend.nk);
      },
    };
  }

  // ---------------------------------------------------------------- list state

  getListState<T>(desc: ListStateDescriptor<T>): ListState<T> {
    this.checkKind(desc, 'list');
    const t = this.register(desc, 'list', desc.elementTypeInfo);
    const meta = t.meta!;
    const groups = t.groups;
    const name = desc.name;
    const backend = this;
    const ttl = meta.ttl;
    const checked = (values: T[]): T[] => {
      if (!Array.isArray(values)) throw new FlinkError('invalid-argument', `List state '${name}': expected an array of values, got ${String(values)}`);
      for (const v of values) checkElement(name, v);
      return values;
    };
    /** Appends to the current key's list (creating it), copying it first if a running snapshot holds it. */
    const append = (values: T[]): void => {
      if (values.length === 0) return;
      const g = backend.group(groups, name);
      const e = g.get(backend.nk);
      const now = ttl ? backend.now() : 0;
      const items = ttl ? values.map((v) => [v, now] as TtlValue) : values.slice();
      if (!e) {
        backend.put(g, items);
        return;
      }
      const list = backend.owned(g, e, meta).v as unknown[];
      for (const x of items) list.push(x);
    };
    return {
      get(): T[] {
        const g = backend.group(groups, name);
        let e = g.get(backend.nk);
        if (!e) return [];
        e = backend.owned(g, e, meta);
        if (!ttl) return e.v as T[];
        const all = e.v as TtlValue[];
        const now = backend.now();
        const live = all.filter(([, ts]) => !backend.expired(ts, ttl, now));
        const out = (ttl.returnExpired ? all : live).map(([v]) => v as T);
        if (live.length === 0) g.delete(backend.nk);
        else if (ttl.onRead) e.v = live.map(([v]) => [v, now]);
        else if (live.length !== all.length) e.v = live;
        return out;
      },
      add(value: T): void {
        checkElement(name, value);
        append([value]);
      },
      addAll(values: T[]): void {
        append(checked(values));
      },
      update(values: T[]): void {
        checked(values);
        const g = backend.group(groups, name);
        if (values.length === 0) {
          g.delete(backend.nk);
          return;
        }
        const now = ttl ? backend.now() : 0;
        backend.put(g, ttl ? values.map((v) => [v, now] as TtlValue) : values.slice());
      },
      clear(): void {
        backend.group(groups, name).delete(backend.nk);
      },
    };
  }

  // ---------------------------------------------------------------- map state

  getMapState<UK, UV>(desc: MapStateDescriptor<UK, UV>): MapState<UK, UV> {
    this.checkKind(desc, 'map');
    const t = this.register(desc, 'map', desc.valueTypeInfo, desc.keyTypeInfo);
    const meta = t.meta!;
    const groups = t.groups;
    const name = desc.name;
    const backend = this;
    const ttl = meta.ttl;
    /** The current key's map, owned (copied first if a running snapshot holds it), or undefined. */
    const ownedMap = (g: Group): Map<NormalizedKey, MapRow> | undefined => {
      const e = g.get(backend.nk);
      return e && (backend.owned(g, e, meta).v as Map<NormalizedKey, MapRow>);
    };
    const dropIfEmpty = (g: Group, m: Map<NormalizedKey, MapRow>) => {
      if (m.size === 0) g.delete(backend.nk);
    };
    /** Rows visible to reads; expired ones are removed (and returned only with ReturnExpiredIfNotCleanedUp). */
    const rows = (): MapRow[] => {
      const g = backend.group(groups, name);
      const m = ownedMap(g);
      if (!m) return [];
      if (!ttl) return [...m.values()];
      const now = backend.now();
      const out: MapRow[] = [];
      for (const [uk, row] of m) {
        if (backend.expired(row[2]!, ttl, now)) {
          m.delete(uk);
          if (!ttl.returnExpired) continue;
        } else if (ttl.onRead) {
          m.set(uk, [row[0], row[1], now]);
        }
        out.push(row);
      }
      dropIfEmpty(g, m);
      return out;
    };
    const putRows = (entries: Iterable<readonly [UK, UV]>): void => {
      const g = backend.group(groups, name);
      let m = ownedMap(g);
      if (!m) {
        m = new Map();
        backend.put(g, m);
      }
      const now = ttl ? backend.now() : 0;
      for (const [k, v] of entries) m.set(normalizeKey(k), ttl ? [k, v, now] : [k, v]);
      dropIfEmpty(g, m);
    };
    /** The row of a map key after the TTL check, or undefined. */
    const row = (key: UK): MapRow | undefined => {
      const g = backend.group(groups, name);
      const e = g.get(backend.nk);
      const uk = normalizeKey(key);
      const r = e && (e.v as Map<NormalizedKey, MapRow>).get(uk);
      if (!r) return undefined;
      const copyNeeded = backend.captured(e) && (isObject(r[1]) || isObject(r[0]));
      if (!ttl) return copyNeeded ? ownedMap(g)!.get(uk) : r;
      const now = backend.now();
      if (backend.expired(r[2]!, ttl, now)) {
        const m = ownedMap(g)!;
        const own = m.get(uk)!;
        m.delete(uk);
        dropIfEmpty(g, m);
        return ttl.returnExpired ? own : undefined;
      }
      if (ttl.onRead || copyNeeded) {
        const m = ownedMap(g)!;
        const own = m.get(uk)!;
        if (ttl.onRead) m.set(uk, [own[0], own[1], now]);
        return own;
      }
      return r;
    };
    return {
      get: (key: UK): UV | undefined => row(key)?.[1] as UV | undefined,
      contains: (key: UK): boolean => row(key) !== undefined,
      put(key: UK, value: UV): void {
        putRows([[key, value]]);
      },
      putAll(entries: Map<UK, UV> | Iterable<readonly [UK, UV]>): void {
        putRows(entries);
      },
      remove(key: UK): void {
        const g = backend.group(groups, name);
        const e = g.get(backend.nk);
        const uk = normalizeKey(key);
        if (!e || !(e.v as Map<NormalizedKey, MapRow>).has(uk)) return;
        const m = ownedMap(g)!;
        m.delete(uk);
        dropIfEmpty(g, m);
      },
      entries: (): [UK, UV][] => rows().map((r) => [r[0] as UK, r[1] as UV]),
      keys: (): UK[] => rows().map((r) => r[0] as UK),
      values: (): UV[] => rows().map((r) => r[1] as UV),
      isEmpty(): boolean {
        const g = backend.group(groups, name);
        const e = g.get(backend.nk);
        if (!e) return true;
        if (!ttl || ttl.returnExpired) return false; // an entry is never an empty map
        const now = backend.now();
        for (const r of (e.v as Map<NormalizedKey, MapRow>).values()) if (!backend.expired(r[2]!, ttl, now)) return false;
        return true;
      },
      clear(): void {
        backend.group(groups, name).delete(backend.nk);
      },
    };
  }

  // ---------------------------------------------------------------- inspection

  get isEmpty(): boolean {
    return this.numEntries() === 0;
  }

  get stateKinds(): Record<string, string> {
    return Object.fromEntries([...this.tables].map(([n, t]) => [n, t.kind]));
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

  // ---------------------------------------------------------------- snapshot and restore

  /**
   * Synchronous part of a snapshot. Returns the asynchronous part, which writes every key group of
   * this backend's range into `writer`, yielding to the event loop between chunks.
   */
  snapshot(): (writer: StateFileWriter) => Promise<void> {
    const now = this.now(); // TTL cleanup judges expiry as of the barrier
    // Untouched restored groups go forward as they came, unless TTL cleanup must filter them.
    if ([...this.tables.values()].some((t) => t.meta?.ttl)) this.loadAllGroups();
    const raw = this.rawGroups > 0 ? this.raw.slice() : [];
    const captured = [...this.tables].map(([name, t]) => ({
      name,
      groups: t.groups.map((g) => [...g.values()]),
      pending: t.pending,
      encode: encoderOf(t.kind, t.meta, now),
      format: formatOf(t.meta),
    }));
    this.snapshotVersion = this.version;
    this.version++;
    this.runningSnapshots++;
    return async (writer) => {
      try {
        let sinceYield = 0;
        for (let gi = 0; gi < this.keyGroupRange.size; gi++) {
          writer.beginKeyGroup();
          for (const chunk of raw[gi] ?? []) {
            const [, flat] = decodeKeyedChunk(chunk); // only to count the entries
            writer.writeEncodedKeyedChunk(chunk, flat.length / 2);
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
            const entries = groups[gi];
            for (let i = 0; i < entries.length; i += CHUNK) {
              const end = Math.min(entries.length, i + CHUNK);
              let flat: TaggedFlat;
              if (!encode) {
                flat = new Array((end - i) * 2);
                for (let j = i; j < end; j++) {
                  flat[(j - i) * 2] = entries[j].k;
                  flat[(j - i) * 2 + 1] = entries[j].v;
                }
              } else {
                flat = [];
                for (let j = i; j < end; j++) {
                  const s = encode(entries[j].v);
                  if (s !== DROP) flat.push(entries[j].k, s);
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
          }
          writer.endSection();
        }
      } finally {
        this.runningSnapshots--;
      }
    };
  }

  /** A checkpoint completed: what the backend wrote for it is now the base of the next one (embedded backend). */
  notifyCheckpointComplete(_checkpointId: number): void {}

  notifyCheckpointAborted(_checkpointId: number): void {}

  /** The task is done with this backend (the embedded one removes its working directory). */
  dispose(): void {}

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
        if (!KINDS.includes(kind)) throw new FlinkError('restore', `State '${name}' has kind '${kind}', which this version does not know`);
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
      const [name, flat] = decodeKeyedChunk(chunk);
      const t = this.tables.get(name);
      if (!t) throw new FlinkError('restore', `Restored key group holds state '${name}', which its file's metadata does not list`);
      if (t.meta) this.load(name, t, gi, flat as TaggedFlat);
      else (t.pending ??= t.groups.map(() => []))[gi].push(flat as TaggedFlat);
    }
  }

  private loadAllGroups(): void {
    for (let gi = 0; this.rawGroups > 0 && gi < this.raw.length; gi++) if (this.raw[gi]) this.loadGroup(gi);
  }

  // ---------------------------------------------------------------- internals

  protected tableOf(name: string, kind: StateKind): StateTable {
    let t = this.tables.get(name);
    if (!t) {
      t = { kind, groups: Array.from({ length: this.keyGroupRange.size }, (_, gi) => this.newKeyGroupStore(name, gi)) };
      this.tables.set(name, t);
    } else if (t.kind !== kind) {
      throw new FlinkError('invalid-argument', `State '${name}' was registered as ${t.kind} state and cannot be used as ${kind} state`);
    }
    return t;
  }

  /** The store of one key group (index within this backend's range) of a state. */
  protected newKeyGroupStore(_state: string, _groupIndex: number): KeyGroupStore {
    return new Map<NormalizedKey, Entry>();
  }

  /** A state's descriptor registered it (its meta is set now). */
  protected registered(_state: string, _table: StateTable): void {}

  private checkKind(desc: StateDescriptor<unknown>, kind: StateKind): void {
    if (desc.kind !== kind) throw new FlinkError('invalid-argument', `State '${desc.name}' has kind '${desc.kind}', not '${kind}'`);
  }

  /** The table of a descriptor's state; the first registration fixes TTL and codecs and decodes restored chunks. */
  private register(desc: StateDescriptor<unknown>, kind: StateKind, val?: TypeInfo<unknown>, key?: TypeInfo<unknown>): StateTable {
    const t = this.tableOf(desc.name, kind);
    const ttl = ttlOf(desc.getTtlConfig());
    if (t.meta) {
      if (JSON.stringify(t.meta.ttl) !== JSON.stringify(ttl)) {
        throw new FlinkError('invalid-argument', `State '${desc.name}' is already registered with another TTL configuration`);
      }
      return t;
    }
    t.meta = { kind, ttl, val: codecOf(val), key: codecOf(key) };
    if ((t.restoredFormat?.ser && !t.meta.val.serializer) || (t.restoredFormat?.keySer && !t.meta.key.serializer)) {
      t.meta = undefined;
      throw noSerializer(desc.name);
    }
    this.registered(desc.name, t);
    const pending = t.pending;
    t.pending = undefined; // a running snapshot keeps its own reference to the chunks
    pending?.forEach((chunks, gi) => chunks.forEach((flat) => this.load(desc.name, t, gi, flat)));
    return t;
  }

  /** Decodes a snapshot chunk of a registered state into its key group (TTL added or dropped to match the descriptor). */
  private load(name: string, t: StateTable, gi: number, flat: TaggedFlat): void {
    const g = t.groups[gi];
    const meta = t.meta!;
    const f = flat.format ?? {};
    // A running snapshot may be writing this very chunk (restored, claimed only now): its values count as captured.
    const ver = this.runningSnapshots > 0 ? this.snapshotVersion : this.version;
    if (!f.ttl && !f.ser && !f.keySer && !meta.ttl && meta.val.plain && meta.key.plain && t.kind !== 'map') {
      for (let i = 0; i < flat.length; i += 2) g.set(normalizeKey(flat[i]), { k: flat[i], v: flat[i + 1], ver });
      return;
    }
    const now = this.now(); // state restored without TTL into a TTL descriptor starts its life now
    for (let i = 0; i < flat.length; i += 2) {
      const v = decodeChunkValue(t.kind, meta, f, flat[i + 1], now, name);
      g.set(normalizeKey(flat[i]), { k: flat[i], v, ver });
    }
  }

  protected now(): number {
    return this.clock.currentTimestamp();
  }

  private expired(ts: number, ttl: Ttl, now = this.now()): boolean {
    return ts + ttl.ttl <= now;
  }

  private checkKey(name: string): void {
    if (this.groupIdx < 0) throw new FlinkError('invalid-argument', `No key set: keyed state '${name}' is only accessible on a keyed stream`);
  }

  private group(groups: Group[], name: string): Group {
    this.checkKey(name);
    return groups[this.groupIdx];
  }

  private put(g: Group, v: unknown): void {
    g.set(this.nk, { k: this.key, v, ver: this.version });
  }

  /** Whether a running snapshot holds this entry (it was there at the last barrier). */
  private captured(e: Entry): boolean {
    return this.runningSnapshots > 0 && e.ver <= this.snapshotVersion;
  }

  /** The current key's entry, safe to mutate in place or hand out: copied first (and the copy made live) if a snapshot holds it. */
  private owned(g: Group, e: Entry, meta: Meta): Entry {
    if (!this.captured(e)) return e;
    const c = { k: e.k, v: copyInternal(meta, e.v), ver: this.version };
    g.set(this.nk, c);
    return c;
  }

  /** A value-like state's value the caller may mutate: a pre-barrier object is copied, and the copy becomes the live value. */
  private readable(g: Group, e: Entry, meta: Meta): unknown {
    if (this.runningSnapshots > 0 && e.ver <= this.snapshotVersion && typeof e.v === 'object' && e.v !== null) {
      return this.owned(g, e, meta).v;
    }
    return e.v;
  }

  /** A TTL value-like state's value: expired ones are cleared (and returned once with ReturnExpiredIfNotCleanedUp). */
  private ttlRead(g: Group, e: Entry, meta: Meta): unknown {
    const ttl = meta.ttl!;
    const [v, ts] = e.v as TtlValue;
    const now = this.now();
    if (this.expired(ts, ttl, now)) {
      g.delete(this.nk);
      return ttl.returnExpired ? (this.captured(e) ? meta.val.copy(v) : v) : undefined;
    }
    if (ttl.onRead) {
      const own = this.captured(e) ? meta.val.copy(v) : v;
      this.put(g, [own, now] satisfies TtlValue);
      return own;
    }
    return this.captured(e) && isObject(v) ? (this.owned(g, e, meta).v as TtlValue)[0] : v;
  }
}

function checkElement(name: string, v: unknown): void {
  if (v === undefined || v === null) throw new FlinkError('invalid-argument', `List state '${name}' cannot hold null or undefined`);
}

/** A deep copy of an entry's internal value (what copy-on-write hands to the live state). */
function copyInternal(meta: Meta, v: unknown): unknown {
  const { val, key, ttl } = meta;
  switch (meta.kind) {
    case 'list':
      if (ttl) return (v as TtlValue[]).map(([x, ts]) => [val.copy(x), ts]);
      return val.plain ? structuredClone(v) : (v as unknown[]).map(val.copy);
    case 'map': {
      const m = new Map<NormalizedKey, MapRow>();
      for (const [nk, r] of v as Map<NormalizedKey, MapRow>) m.set(nk, ttl ? [key.copy(r[0]), val.copy(r[1]), r[2]] : [key.copy(r[0]), val.copy(r[1])]);
      return m;
    }
    default:
      return ttl ? [val.copy((v as TtlValue)[0]), (v as TtlValue)[1]] : val.copy(v);
  }
}

/**
 * The snapshot form of an entry's value (see ChunkFormat), or DROP for one that cleanupFullSnapshot leaves
 * out; undefined when values are written as they are (no TTL, no serializer, not a map).
 */
export function encoderOf(kind: StateKind, meta: Meta | undefined, now: number): ((v: unknown) => unknown) | undefined {
  if (!meta) return undefined;
  const { val, key, ttl } = meta;
  const drop = ttl?.cleanupFullSnapshot ? (ts: number) => ts + ttl.ttl <= now : () => false;
  switch (kind) {
    case 'list':
      if (ttl) {
        return (v) => {
          const out: TtlValue[] = [];
          for (const [x, ts] of v as TtlValue[]) if (!drop(ts)) out.push([val.encode(x), ts]);
          return out.length > 0 ? out : DROP;
        };
      }
      return val.plain ? undefined : (v) => (v as unknown[]).map(val.encode);
    case 'map':
      return (v) => {
        const out = new Map<unknown, unknown>();
        for (const [k, x, ts] of (v as Map<NormalizedKey, MapRow>).values()) {
          if (ttl && drop(ts!)) continue;
          out.set(key.encode(k), ttl ? [val.encode(x), ts] : val.encode(x));
        }
        return out.size > 0 ? out : DROP;
      };
    default:
      if (ttl) {
        return (v) => {
          const [x, ts] = v as TtlValue;
          return drop(ts) ? DROP : val.plain ? v : [val.encode(x), ts];
        };
      }
      return val.plain ? undefined : val.encode;
  }
}

/**
 * A value as a snapshot chunk of format `f` holds it, turned into the live form of a state registered with
 * `meta` (TTL added, starting at `now`, or dropped to match the descriptor; serialized values decoded).
 */
export function decodeChunkValue(kind: StateKind, meta: Meta, f: ChunkFormat, stored: unknown, now: number, name: string): unknown {
  const value = (x: unknown): [unknown, number] => {
    const [v, ts] = f.ttl ? (x as TtlValue) : [x, now];
    return [meta.val.decode(v, !!f.ser, name), ts];
  };
  const wrap = (v: unknown, ts: number): unknown => (meta.ttl ? [v, ts] : v);
  switch (kind) {
    case 'list':
      return (stored as unknown[]).map((x) => wrap(...value(x)));
    case 'map': {
      const m = new Map<NormalizedKey, MapRow>();
      for (const [sk, sv] of stored as Map<unknown, unknown>) {
        const k = meta.key.decode(sk, !!f.keySer, name);
        const [uv, ts] = value(sv);
        m.set(normalizeKey(k), meta.ttl ? [k, uv, ts] : [k, uv]);
      }
      return m;
    }
    default:
      return wrap(...value(stored));
  }
}
