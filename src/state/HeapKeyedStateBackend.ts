import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { FlinkError } from '../core/FlinkError.js';
import type { StateFileHandle } from '../checkpoint/Metadata.js';
import { ValueStateDescriptor, type StateDescriptor, type ValueState } from '../api/state.js';
import { KeyGroupRange } from './KeyGroupRange.js';
import { hashKey, normalizeKey, type NormalizedKey } from './KeyGroupRangeAssignment.js';
import { readKeyGroups, type StateFileWriter } from './StateFile.js';

/** An entry is replaced, never mutated, on write: a snapshot can hold on to the old one. */
interface Entry {
  k: unknown;
  v: unknown;
  ver: number;
}

type Table = Map<NormalizedKey, Entry>[];

const CHUNK = 4096;

/**
 * Keyed state on the JS heap (Flink's HashMapStateBackend), organised by key group.
 *
 * Snapshots are copy-on-write: the synchronous part only collects the entry objects of every key group
 * (pointer copies); the asynchronous part serializes them in chunks between records. Writes after the
 * barrier replace entries rather than mutate them, and while a snapshot is running an object value read
 * from a pre-barrier entry is handed out as a copy, so in-place mutation cannot leak into the snapshot.
 */
export class HeapKeyedStateBackend {
  private readonly tables = new Map<string, { kind: string; table: Table }>();
  private nk: NormalizedKey = undefined;
  private key: unknown = undefined;
  private groupIdx = -1;
  private version = 1;
  private snapshotVersion = 0;
  private runningSnapshots = 0;

  constructor(readonly keyGroupRange: KeyGroupRange, readonly maxParallelism: number) {}

  setCurrentKey(key: unknown): void {
    const nk = normalizeKey(key);
    const kg = hashKey(nk) % this.maxParallelism;
    if (!this.keyGroupRange.contains(kg)) {
      throw new FlinkError('internal', `Key group ${kg} of key ${String(key)} is not in this subtask's range ${this.keyGroupRange.start}-${this.keyGroupRange.end}`);
    }
    this.nk = nk;
    this.key = key;
    this.groupIdx = kg - this.keyGroupRange.start;
  }

  getCurrentKey(): unknown {
    return this.key;
  }

  getState<T>(desc: StateDescriptor<T>): ValueState<T> {
    if (!(desc instanceof ValueStateDescriptor)) {
      throw new FlinkError('invalid-argument', `State kind '${desc.kind}' of state '${desc.name}' is not supported by the heap backend yet`);
    }
    const table = this.table(desc.name, desc.kind);
    const backend = this;
    return {
      value(): T | undefined {
        backend.checkKey(desc.name);
        const g = table[backend.groupIdx];
        const e = g.get(backend.nk);
        if (!e) return desc.defaultValue;
        return backend.readable(g, e) as T;
      },
      update(value: T | null | undefined): void {
        backend.checkKey(desc.name);
        const g = table[backend.groupIdx];
        if (value === undefined || value === null) g.delete(backend.nk);
        else g.set(backend.nk, { k: backend.key, v: value, ver: backend.version });
      },
      clear(): void {
        backend.checkKey(desc.name);
        table[backend.groupIdx].delete(backend.nk);
      },
    };
  }

  get isEmpty(): boolean {
    for (const { table } of this.tables.values()) for (const g of table) if (g.size > 0) return false;
    return true;
  }

  get stateKinds(): Record<string, string> {
    return Object.fromEntries([...this.tables].map(([n, t]) => [n, t.kind]));
  }

  numEntries(): number {
    let n = 0;
    for (const { table } of this.tables.values()) for (const g of table) n += g.size;
    return n;
  }

  /**
   * Synchronous part of a snapshot. Returns the asynchronous part, which writes every key group of
   * this backend's range into `writer`, yielding to the event loop between chunks.
   */
  snapshot(): (writer: StateFileWriter) => Promise<void> {
    const captured = [...this.tables].map(([name, { table }]) => ({ name, groups: table.map((g) => [...g.values()]) }));
    this.snapshotVersion = this.version;
    this.version++;
    this.runningSnapshots++;
    return async (writer) => {
      try {
        let sinceYield = 0;
        for (let gi = 0; gi < this.keyGroupRange.size; gi++) {
          writer.beginKeyGroup();
          for (const { name, groups } of captured) {
            const entries = groups[gi];
            for (let i = 0; i < entries.length; i += CHUNK) {
              const end = Math.min(entries.length, i + CHUNK);
              const flat: unknown[] = new Array((end - i) * 2);
              for (let j = i; j < end; j++) {
                flat[(j - i) * 2] = entries[j].k;
                flat[(j - i) * 2 + 1] = entries[j].v;
              }
              writer.writeKeyedChunk(name, flat);
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

  /** Loads the key groups of this backend's range from the given snapshot files. */
  restore(files: { bytes: Buffer; handle: StateFileHandle }[]): void {
    for (const { bytes, handle } of files) {
      for (const [name, kind] of Object.entries(handle.keyedStates)) this.table(name, kind);
      readKeyGroups(bytes, handle, this.keyGroupRange, (name, kg, flat) => {
        const g = this.tables.get(name)!.table[kg - this.keyGroupRange.start];
        for (let i = 0; i < flat.length; i += 2) g.set(normalizeKey(flat[i]), { k: flat[i], v: flat[i + 1], ver: 0 });
      });
    }
  }

  private table(name: string, kind: string): Table {
    let t = this.tables.get(name);
    if (!t) {
      t = { kind, table: Array.from({ length: this.keyGroupRange.size }, () => new Map()) };
      this.tables.set(name, t);
    } else if (t.kind !== kind) {
      throw new FlinkError('invalid-argument', `State '${name}' was registered as ${t.kind} state and cannot be used as ${kind} state`);
    }
    return t.table;
  }

  private checkKey(name: string): void {
    if (this.groupIdx < 0) throw new FlinkError('invalid-argument', `No key set: keyed state '${name}' is only accessible on a keyed stream`);
  }

  /** Hands out a value the caller may mutate: a pre-barrier object is copied, and the copy becomes the live value. */
  private readable(g: Map<NormalizedKey, Entry>, e: Entry): unknown {
    if (this.runningSnapshots > 0 && e.ver <= this.snapshotVersion && typeof e.v === 'object' && e.v !== null) {
      const copy = structuredClone(e.v);
      g.set(this.nk, { k: e.k, v: copy, ver: this.version });
      return copy;
    }
    return e.v;
  }
}
