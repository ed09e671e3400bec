import type {
  AggregatingState, AggregatingStateDescriptor, ListState, ListStateDescriptor, MapState, MapStateDescriptor, ReducingState,
  ReducingStateDescriptor, StateDescriptor, ValueState,
} from '../api/state.js';
import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import type { KeyGroupRange } from './KeyGroupRange.js';
import type { StateFileOutput } from './StateFile.js';
import type { KeyedStateFileHandle, StateFileHandle } from './StateHandles.js';

export interface KeyedSnapshotOptions {
  checkpointId: number;
  /** Directory holding the snapshot's `_metadata`; handles are relative to it. */
  location: string;
  /** Checkpoints: `<job>/shared`, where incremental files go. Absent for savepoints (self-contained). */
  sharedDir?: string;
  /** CANONICAL: backend-independent full file (heap format); NATIVE: the backend's own files. */
  format: SavepointFormatType;
  /** A full snapshot even when incremental (flink checkpoint --full). */
  full?: boolean;
  /** Unique-name prefix of written files (operator and subtask). */
  filePrefix: string;
}

/**
 * The asynchronous part of a keyed snapshot: key-group sections into the subtask's state file (`write`; always
 * so for CANONICAL), or separate keyed files that `_metadata` lists as `keyedStateFiles` (`files`).
 */
export interface KeyedSnapshot {
  write?: (writer: StateFileOutput) => Promise<void>;
  files?: () => Promise<KeyedStateFileHandle[]>;
  /** Gives up a snapshot that will not be written (its checkpoint failed first); a write releases it anyway. */
  release?: () => void;
}

/**
 * Flink's CheckpointableKeyedStateBackend, reduced: what operators, timers and the task use of keyed state.
 * Heap (HashMapStateBackend) and embedded (EmbeddedRocksDBStateBackend's role, on LMDB) implement it as
 * siblings over AbstractKeyedStateBackend; a third backend implements this interface.
 */
export interface KeyedStateBackend {
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;

  /**
   * Scopes every state handle to this key (and its key group, which must be in this backend's range).
   * `keyHash`: the key's `keyHash()`, when the caller has it already (the hash partitioner shipped it).
   */
  setCurrentKey(key: unknown, keyHash?: number): void;
  getCurrentKey(): unknown;

  getState<T>(desc: StateDescriptor<T>): ValueState<T>;
  getListState<T>(desc: ListStateDescriptor<T>): ListState<T>;
  getReducingState<T>(desc: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(desc: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
  getMapState<UK, UV>(desc: MapStateDescriptor<UK, UV>): MapState<UK, UV>;

  /** State name → kind (value, list, ...), restored states not yet registered included. */
  readonly stateKinds: Record<string, string>;
  readonly isEmpty: boolean;
  /** Number of (key, state) entries, restored ones not yet registered included. */
  numEntries(): number;

  /** Synchronous part of a snapshot (at the barrier); the returned parts run afterwards, between records. */
  snapshotKeyed(o: KeyedSnapshotOptions): KeyedSnapshot;
  /** A canonical full snapshot into a state file: `snapshotKeyed` with CANONICAL, as one call. */
  snapshot(): (writer: StateFileOutput) => Promise<void>;
  /** Takes this backend's key groups from verified snapshot files; `dir` resolves `keyedStateFiles`. */
  restore(files: { bytes: Buffer; handle: StateFileHandle; dir?: string }[]): void;
  /**
   * Visits every entry of a state as snapshot chunks hold it (key, stored value), for rebuilding derived
   * structures such as the timer heaps. False when the backend keeps restored entries only in the files it
   * restored from (the heap): the caller then reads those files.
   */
  forEachStoredEntry(state: string, visit: (key: unknown, stored: unknown) => void): boolean;

  /** A checkpoint completed: what the backend wrote for it may be the base of the next one. */
  notifyCheckpointComplete(checkpointId: number): void;
  notifyCheckpointAborted(checkpointId: number): void;
  /** The task is done with this backend (the embedded one removes its working directory). */
  dispose(): void;
}
