import type {
  AggregatingState, AggregatingStateDescriptor, ListState, ListStateDescriptor, MapState, MapStateDescriptor, ReducingState,
  ReducingStateDescriptor, StateDescriptor, TypeInfo, ValueState, ValueStateDescriptor,
} from '../../api/state.js';
// The worker's record path: V8's format written and read in JS (src/core/FastV8Codec.ts), not a native (de)serializer per value.
import { fastDeserialize as decode, fastSerialize as encode } from '../../core/FastV8Codec.js';
import { FlinkError } from '../../core/FlinkError.js';
import type { KeyGroupRange } from '../../state/KeyGroupRange.js';
import type { KeyedSnapshot, KeyedStateBackend } from '../../state/KeyedStateBackend.js';
import { decodeKey, encodeKey } from '../KeyEncoding.js';
import type { BinReader, BinWriter } from './Frames.js';

/** What Flink holds of one (key, state): a value's bytes, a list's elements, a map's entries (user key encoded). */
type Stored = Buffer | null | Buffer[] | Array<[string, Buffer]>;

interface Declared {
  name: string;
  kind: string;
  desc: StateDescriptor<unknown>;
}

const UNLOADED = Symbol('unloaded');

/**
 * Keyed state of a JsOperator's chain inside the worker: a view of Flink's keyed state for the keys of the current
 * batch. The JsOperator sends, with each batch, the declared states of its keys (read from Flink's state); the
 * handles here decode them on first use, and the writes go back as whole new contents of each (key, state) touched,
 * which the JsOperator applies to Flink's state before the next batch. States are declared when created, which must
 * happen in open() (as Flink recommends): a state first created later has no prefetched values.
 */
export class BatchKeyedState implements KeyedStateBackend {
  readonly declared: Declared[] = [];
  private opened = false;
  private keys: string[] = [];
  private stored: Stored[][] = [];
  private values: unknown[][] = [];
  private dirty = new Set<number>();
  private current = -1;

  constructor(readonly keyGroupRange: KeyGroupRange, readonly maxParallelism: number) {}

  /** open() is over: from now on the set of states is fixed (the JsOperator prefetches exactly these). */
  sealDeclarations(): void {
    this.opened = true;
  }

  /** The declared states for the OPENED frame: name, kind and TTL (Flink's StateTtlConfig on its descriptor). */
  describe(): Array<{ name: string; kind: string; ttl?: { ms: number; updateType: string; visibility: string; cleanupFullSnapshot: boolean } }> {
    return this.declared.map(({ name, kind, desc }) => {
      const t = desc.getTtlConfig();
      if (!t.isEnabled()) return { name, kind };
      return { name, kind, ttl: { ms: t.getTtl(), updateType: t.getUpdateType(), visibility: t.getStateVisibility(), cleanupFullSnapshot: t.getCleanupStrategies().inFullSnapshot() } };
    });
  }

  /** Reads the keys and their prefetched states of a BATCH frame. */
  readBatchKeys(r: BinReader): void {
    const n = r.int();
    this.keys = new Array(n);
    this.stored = new Array(n);
    this.values = new Array(n);
    this.dirty.clear();
    for (let k = 0; k < n; k++) {
      this.keys[k] = r.string()!;
      const row: Stored[] = new Array(this.declared.length);
      for (let s = 0; s < this.declared.length; s++) row[s] = readStored(r, this.declared[s].kind);
      this.stored[k] = row;
      this.values[k] = new Array(this.declared.length).fill(UNLOADED);
    }
  }

  get currentKeyIndex(): number {
    return this.current;
  }

  /** The record's key (index into the batch's keys). */
  setCurrentKeyIndex(k: number): void {
    this.current = k;
  }

  /** Writes the (key, state) pairs this batch changed, in the RESULT frame's format. */
  writeStateWrites(w: BinWriter): void {
    w.int(this.dirty.size);
    const n = this.declared.length;
    for (const cell of this.dirty) {
      const k = Math.floor(cell / n);
      const s = cell % n;
      w.int(k).int(s);
      writeStored(w, this.declared[s].kind, this.toStored(s, this.values[k][s]));
    }
    this.dirty.clear();
  }

  setCurrentKey(key: unknown): void {
    const k = this.keys.indexOf(encodeKey(key));
    if (k < 0) throw new FlinkError('invalid-argument', 'The Flink runner has no state of this key in the current batch (timers are not supported on the Flink runner yet)');
    this.current = k;
  }

  getCurrentKey(): unknown {
    return decodeKey(this.keys[this.current]);
  }

  private declare(desc: StateDescriptor<unknown>): number {
    const i = this.declared.findIndex((d) => d.name === desc.name);
    if (i >= 0) {
      if (this.declared[i].kind !== desc.kind) throw new FlinkError('invalid-argument', `State '${desc.name}' was created as ${this.declared[i].kind} and as ${desc.kind}`);
      return i;
    }
    if (desc.name.startsWith('_timer_service/')) throw new FlinkError('invalid-argument', 'Timers are not supported on the Flink runner yet');
    if (this.opened) throw new FlinkError('invalid-argument', `Keyed state '${desc.name}' is first created after open(): on the Flink runner, create keyed state in open()`);
    this.declared.push({ name: desc.name, kind: desc.kind, desc });
    return this.declared.length - 1;
  }

  /** The decoded contents of state s for the current key (undefined: empty). */
  private get(s: number): unknown {
    const row = this.values[this.current];
    if (row === undefined) throw new FlinkError('invalid-argument', 'Keyed state used outside of a keyed record (timers are not supported on the Flink runner yet)');
    let v = row[s];
    if (v === UNLOADED) v = row[s] = this.fromStored(s, this.stored[this.current][s]);
    return v;
  }

  private set(s: number, v: unknown): void {
    this.values[this.current][s] = v;
    this.dirty.add(this.current * this.declared.length + s);
  }

  private fromStored(s: number, st: Stored): unknown {
    const { kind, desc } = this.declared[s];
    if (st === null) return undefined;
    if (kind === 'list') {
      const l = st as Buffer[];
      return l.length === 0 ? undefined : l.map((b) => typed(decode(b), (desc as ListStateDescriptor<unknown>).elementTypeInfo));
    }
    if (kind === 'map') {
      const m = new Map<string, [unknown, unknown]>();
      for (const [k, b] of st as Array<[string, Buffer]>) m.set(k, [decodeKey(k), typed(decode(b), (desc as MapStateDescriptor<unknown, unknown>).valueTypeInfo)]);
      return m.size === 0 ? undefined : m;
    }
    const hint = kind === 'value' ? (desc as ValueStateDescriptor<unknown>).typeInfo
      : kind === 'reducing' ? (desc as ReducingStateDescriptor<unknown>).typeInfo : (desc as AggregatingStateDescriptor<unknown, unknown, unknown>).accumulatorTypeInfo;
    return typed(decode(st as Buffer), hint);
  }

  private toStored(s: number, v: unknown): Stored {
    if (v === undefined) return null;
    const kind = this.declared[s].kind;
    if (kind === 'list') return (v as unknown[]).map((e) => encode(e));
    if (kind === 'map') return [...(v as Map<string, [unknown, unknown]>)].map(([k, [, val]]): [string, Buffer] => [k, encode(val)]);
    return encode(v);
  }

  getState<T>(desc: ValueStateDescriptor<T>): ValueState<T> {
    const s = this.declare(desc as StateDescriptor<unknown>);
    return {
      value: () => (this.get(s) as T | undefined) ?? structuredCloneDefault(desc.defaultValue),
      update: (v) => this.set(s, v === null ? undefined : v),
      clear: () => this.set(s, undefined),
    };
  }

  getListState<T>(desc: ListStateDescriptor<T>): ListState<T> {
    const s = this.declare(desc as StateDescriptor<unknown>);
    const list = () => (this.get(s) as T[] | undefined) ?? [];
    return {
      get: () => [...list()],
      add: (v) => this.set(s, [...list(), v]),
      addAll: (vs) => this.set(s, vs.length ? [...list(), ...vs] : this.get(s)),
      update: (vs) => this.set(s, vs.length ? [...vs] : undefined),
      clear: () => this.set(s, undefined),
    };
  }

  getReducingState<T>(desc: ReducingStateDescriptor<T>): ReducingState<T> {
    const s = this.declare(desc as StateDescriptor<unknown>);
    return {
      get: () => this.get(s) as T | undefined,
      add: (v) => {
        if (v === null || v === undefined) return this.set(s, undefined);
        const cur = this.get(s) as T | undefined;
        this.set(s, cur === undefined ? v : desc.reduceFunction.reduce(cur, v));
      },
      clear: () => this.set(s, undefined),
    };
  }

  getAggregatingState<IN, ACC, OUT>(desc: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    const s = this.declare(desc as StateDescriptor<unknown>);
    const f = desc.aggregateFunction;
    return {
      get: () => {
        const acc = this.get(s) as ACC | undefined;
        return acc === undefined ? undefined : f.getResult(acc);
      },
      add: (v) => {
        if (v === null || v === undefined) return this.set(s, undefined);
        const acc = (this.get(s) as ACC | undefined) ?? f.createAccumulator();
        this.set(s, f.add(v, acc));
      },
      clear: () => this.set(s, undefined),
    };
  }

  getMapState<UK, UV>(desc: MapStateDescriptor<UK, UV>): MapState<UK, UV> {
    const s = this.declare(desc as StateDescriptor<unknown>);
    const map = () => (this.get(s) as Map<string, [UK, UV]> | undefined) ?? new Map<string, [UK, UV]>();
    const write = (m: Map<string, [UK, UV]>) => this.set(s, m.size ? m : undefined);
    return {
      get: (k) => map().get(encodeKey(k))?.[1],
      put: (k, v) => write(new Map(map()).set(encodeKey(k), [k, v])),
      putAll: (entries) => {
        const m = new Map(map());
        for (const [k, v] of entries) m.set(encodeKey(k), [k, v]);
        write(m);
      },
      remove: (k) => {
        const m = new Map(map());
        m.delete(encodeKey(k));
        write(m);
      },
      contains: (k) => map().has(encodeKey(k)),
      entries: () => [...map().values()].map(([k, v]) => [k, v] as [UK, UV]),
      keys: () => [...map().values()].map(([k]) => k),
      values: () => [...map().values()].map(([, v]) => v),
      isEmpty: () => map().size === 0,
      clear: () => this.set(s, undefined),
    };
  }

  get stateKinds(): Record<string, string> {
    return Object.fromEntries(this.declared.map((d) => [d.name, d.kind]));
  }

  get isEmpty(): boolean {
    return false;
  }

  numEntries(): number {
    return 0;
  }

  // Flink snapshots, restores and rescales this state; the worker never does.
  snapshotKeyed(): KeyedSnapshot {
    throw new Error('the Flink runner snapshots keyed state in Flink');
  }
  snapshot(): never {
    throw new Error('the Flink runner snapshots keyed state in Flink');
  }
  restore(): void {
    throw new Error('the Flink runner restores keyed state in Flink');
  }
  forEachStoredEntry(): boolean {
    return true; // nothing restored here: Flink holds it
  }
  notifyCheckpointComplete(): void {}
  notifyCheckpointAborted(): void {}
  dispose(): void {}
}

function structuredCloneDefault<T>(v: T | undefined): T | undefined {
  return v === undefined || v === null || typeof v !== 'object' ? v : structuredClone(v);
}

/** A class type hint gives decoded values their prototype back (V8's format keeps data, not classes). */
function typed(v: unknown, hint: TypeInfo<unknown> | undefined): unknown {
  if (typeof hint === 'function' && v !== null && typeof v === 'object') Object.setPrototypeOf(v, hint.prototype);
  return v;
}

function readStored(r: BinReader, kind: string): Stored {
  if (kind === 'list') {
    const n = r.int();
    const l: Buffer[] = [];
    for (let i = 0; i < n; i++) l.push(r.bytes()!);
    return l;
  }
  if (kind === 'map') {
    const n = r.int();
    const m: Array<[string, Buffer]> = [];
    for (let i = 0; i < n; i++) m.push([r.string()!, r.bytes()!]);
    return m;
  }
  return r.bytes();
}

function writeStored(w: BinWriter, kind: string, st: Stored): void {
  if (kind === 'list') {
    if (st === null) return void w.int(-1);
    const l = st as Buffer[];
    w.int(l.length);
    for (const b of l) w.bytes(b);
    return;
  }
  if (kind === 'map') {
    const m = (st ?? []) as Array<[string, Buffer]>;
    w.int(m.length);
    for (const [k, b] of m) w.string(k).bytes(b);
    return;
  }
  w.bytes(st as Buffer | null);
}
