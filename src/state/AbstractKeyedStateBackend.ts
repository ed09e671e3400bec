import { FlinkError } from '../core/FlinkError.js';
import type {
  AggregatingState, AggregatingStateDescriptor, ListState, ListStateDescriptor, MapState, MapStateDescriptor, ReducingState,
  ReducingStateDescriptor, StateDescriptor, TypeInfo, ValueState, ValueStateDescriptor,
} from '../api/state.js';
import type { CurrentKey } from './BinaryKeyGroup.js';
import type { KeyGroupRange } from './KeyGroupRange.js';
import { hashKey, normalizeKey, type NormalizedKey } from './KeyGroupRangeAssignment.js';
import type { KeyedSnapshot, KeyedSnapshotOptions, KeyedStateBackend } from './KeyedStateBackend.js';
import type { StateFileOutput } from './StateFile.js';
import type { StateFileHandle } from './StateHandles.js';
import {
  codecOf, copyInternal, decodeChunkValue, isObject, noSerializer, ttlOf, type ChunkFormat, type Meta, type MapRow, type StateKind,
  type TaggedFlat, type Ttl, type TtlValue,
} from './StateCodec.js';

/**
 * An entry is replaced on write, or mutated in place only when no running snapshot captured it
 * (`ver` newer than the last snapshot): a snapshot can hold on to the old one.
 */
export interface Entry {
  k: unknown;
  v: unknown;
  ver: number;
}

/**
 * One key group of one state, as the state accessors use it: a Map on the heap; the embedded backend puts an
 * on-disk store with a write cache behind it. Counting and iterating are each backend's own business.
 */
export interface KeyGroupStore {
  get(nk: NormalizedKey): Entry | undefined;
  set(nk: NormalizedKey, e: Entry): unknown;
  delete(nk: NormalizedKey): boolean;
}
type Group = KeyGroupStore;

/** The clock of state TTL (Flink's TtlTimeProvider); tests inject a fake one. */
export interface TtlTimeProvider {
  currentTimestamp(): number;
}

export interface KeyedStateBackendOptions {
  ttlTimeProvider?: TtlTimeProvider;
}

export interface StateTable<G extends KeyGroupStore = KeyGroupStore> {
  kind: StateKind;
  groups: G[];
  /** Set when a descriptor registers the state. */
  meta?: Meta;
  /** Restored chunks per key group, decoded when a descriptor registers the state (only it knows the serializer). */
  pending?: TaggedFlat[][];
  /** How the restored snapshot wrote this state (from a sample chunk), checked when a descriptor registers. */
  restoredFormat?: ChunkFormat;
}


/**
 * What both keyed backends share (Flink's AbstractKeyedStateBackend, reduced): the current key and its key
 * group, the five state kinds with TTL and serializers, and copy-on-write of entries a running snapshot
 * holds. A backend brings its key-group store, its snapshot and its restore.
 *
 * State TTL (processing time) is kept with the value: [value, ts] for value, reducing and aggregating
 * state, per element for lists, per entry for maps, as Flink's TtlValue.
 */
export abstract class AbstractKeyedStateBackend<G extends KeyGroupStore = KeyGroupStore> implements KeyedStateBackend {
  protected readonly tables = new Map<string, StateTable<G>>();
  private readonly clock: TtlTimeProvider;
  private nk: NormalizedKey = undefined;
  private key: unknown = undefined;
  private groupIdx = -1;
  private version = 1;
  private snapshotVersion = 0;
  private runningSnapshots = 0;
  /** The current key and its hash, for stores that hash it again (BinaryKeyGroup). */
  protected readonly current: CurrentKey = { nk: undefined, hash: 0 };

  constructor(readonly keyGroupRange: KeyGroupRange, readonly maxParallelism: number, options: KeyedStateBackendOptions = {}) {
    this.clock = options.ttlTimeProvider ?? { currentTimestamp: () => Date.now() };
  }

  setCurrentKey(key: unknown, keyHash?: number): void {
    const nk = normalizeKey(key);
    const hash = keyHash ?? hashKey(nk);
    const kg = hash % this.maxParallelism;
    if (!this.keyGroupRange.contains(kg)) {
      throw new FlinkError('internal', `Key group ${kg} of key ${String(key)} is not in this subtask's range ${this.keyGroupRange.start}-${this.keyGroupRange.end}`);
    }
    this.nk = nk;
    this.key = key;
    this.groupIdx = kg - this.keyGroupRange.start;
    this.current.nk = nk;
    this.current.hash = hash;
  }

  /** Index (within this backend's range) of the current key's key group; -1 before the first key. */
  protected get currentGroupIndex(): number {
    return this.groupIdx;
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

  // ---------------------------------------------------------------- snapshot and restore

  abstract numEntries(): number;

  // ---------------------------------------------------------------- snapshot and restore

  abstract snapshotKeyed(o: KeyedSnapshotOptions): KeyedSnapshot;

  snapshot(): (writer: StateFileOutput) => Promise<void> {
    return this.snapshotKeyed({ checkpointId: 0, location: '', format: 'CANONICAL', filePrefix: '' }).write!;
  }

  abstract restore(files: { bytes: Buffer; handle: StateFileHandle; dir?: string }[]): void;

  /** Only a backend that keeps restored entries in a store of its own can visit them (see the contract). */
  forEachStoredEntry(_state: string, _visit: (key: unknown, stored: unknown) => void): boolean {
    return false;
  }

  notifyCheckpointComplete(_checkpointId: number): void {}

  notifyCheckpointAborted(_checkpointId: number): void {}

  dispose(): void {}

  /**
   * Copy-on-write bracket of a snapshot's asynchronous part: from `begin` until `end`, an entry that was
   * live at the barrier is never changed in place (see the accessors), so the snapshot may read it later.
   */
  protected beginCopyOnWrite(): void {
    this.snapshotVersion = this.version;
    this.version++;
    this.runningSnapshots++;
  }

  protected endCopyOnWrite(): void {
    this.runningSnapshots--;
  }

  // ---------------------------------------------------------------- internals

  protected tableOf(name: string, kind: StateKind): StateTable<G> {
    let t = this.tables.get(name);
    if (!t) {
      t = { kind, groups: Array.from({ length: this.keyGroupRange.size }, (_, gi) => this.newKeyGroupStore(name, gi, kind)) };
      this.tables.set(name, t);
    } else if (t.kind !== kind) {
      throw new FlinkError('invalid-argument', `State '${name}' was registered as ${t.kind} state and cannot be used as ${kind} state`);
    }
    return t;
  }

  /** The store of one key group (index within this backend's range) of a state. */
  protected abstract newKeyGroupStore(state: string, groupIndex: number, kind: StateKind): G;

  /** A state's descriptor registered it (its meta is set now). */
  protected registered(_state: string, _table: StateTable<G>): void {}

  private checkKind(desc: StateDescriptor<unknown>, kind: StateKind): void {
    if (desc.kind !== kind) throw new FlinkError('invalid-argument', `State '${desc.name}' has kind '${desc.kind}', not '${kind}'`);
  }

  /** The table of a descriptor's state; the first registration fixes TTL and codecs and decodes restored chunks. */
  private register(desc: StateDescriptor<unknown>, kind: StateKind, val?: TypeInfo<unknown>, key?: TypeInfo<unknown>): StateTable<G> {
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
  protected load(name: string, t: StateTable<G>, gi: number, flat: TaggedFlat): void {
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
    return g.get(this.nk) ?? c; // the live entry: a store may keep the value rather than the object
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

