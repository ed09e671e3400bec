/**
 * The state side's handles to what a snapshot wrote: the task writes them, `_metadata` lists them, a restore
 * reads them (Flink's StreamStateHandle / KeyedStateHandle / InputChannelStateHandle, reduced). They live at the
 * bottom so that state/, runtime/ and checkpoint/ can all name them without importing each other.
 */

/** What every file of a snapshot carries in `_metadata`: enough to find it and to verify it before use. */
export interface FileRef {
  /** File name relative to the directory holding `_metadata`. */
  file: string;
  size: number;
  crc32: number;
  /** JobManagerCheckpointStorage: the file's bytes themselves, kept in memory (never in a _metadata file). */
  inline?: Uint8Array;
}

/** One state file written by one operator subtask. */
export interface StateFileHandle extends FileRef {
  /** Inclusive key-group range this subtask owned; absent for operators without keyed state. */
  keyGroupRange?: [number, number];
  /** Byte offset of each key group's section (index 0 = first key group of the range). */
  keyGroupOffsets?: number[];
  /** Byte offset of the operator (non-keyed) state section. */
  operatorStateOffset?: number;
  /** Keyed state names, with their kind (value, list, ...). */
  keyedStates: Record<string, string>;
  /** Operator (non-keyed) state names, with their distribution mode (SPLIT_DISTRIBUTE, UNION, BROADCAST). */
  operatorStates: Record<string, string>;
  /** Number of keyed entries, for inspection and sizing. */
  keyedEntries: number;
  /**
   * Keyed state of the embedded backend in its native format, instead of key-group sections in `file`:
   * files applied in order (a full one, then deltas), possibly in the checkpoints' `shared/` folder.
   */
  keyedStateFiles?: KeyedStateFileHandle[];
}

/** A native keyed state file: key-group sections as in a state file; a delta also removes entries. */
export interface KeyedStateFileHandle extends FileRef {
  /** Relative to the directory holding `_metadata` (`../shared/...` for a checkpoint's shared files). */
  file: string;
  keyGroupRange?: [number, number];
  keyGroupOffsets?: number[];
  keyedStates: Record<string, string>;
  keyedEntries: number;
  /** Changes since the previous file of the chain (else a full file). */
  delta?: true;
  /**
   * 'lmdb': the file is a copy of the backend's own store (a full file), restored by installing it when the
   * key-group range is the same; absent: key-group sections as in a state file.
   */
  store?: 'lmdb';
  /** A store file's state ids (its rows are keyed by id), by state name. */
  stateIds?: Record<string, number>;
  /** A store file's format bits per state (TTL, serializer), so a restore checks serializers without reading rows. */
  formats?: Record<string, number>;
}

/**
 * Channel state of an unaligned checkpoint (Flink's InputChannelStateHandle / ResultSubpartitionStateHandle):
 * the records that were in flight when the barrier overtook them. One file per subtask, referenced from
 * `_metadata` under `channelState`; restored only with the same job graph and parallelism.
 */
export interface ChannelStateHandle extends FileRef {
  /** Records received but not processed before the barrier (replayed into the input channels). */
  inputRecords: number;
  /** Records produced before the barrier but still queued for sending (sent again on recovery). */
  outputRecords: number;
}
