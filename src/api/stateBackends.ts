import type { CheckpointStorage } from './checkpointStorage.js';

/**
 * State backends to set on the environment (env.setStateBackend), as in Flink's API; they win over
 * state.backend.type and execution.checkpointing.incremental in the configuration.
 */
export interface StateBackend {
  readonly type: 'hashmap' | 'embedded';
  readonly incremental?: boolean;
  /** Pre-1.14 backends (legacyStateBackends.ts) also name the checkpoint storage, and say what they became. */
  readonly checkpointStorage?: CheckpointStorage;
  readonly deprecationNotice?: string;
}

/** Keyed state on the JS heap. */
export class HashMapStateBackend implements StateBackend {
  readonly type = 'hashmap' as const;
}

/** Keyed state on local disk (LMDB in flink-ts); `incremental` as execution.checkpointing.incremental. */
export class EmbeddedRocksDBStateBackend implements StateBackend {
  readonly type = 'embedded' as const;
  constructor(readonly incremental?: boolean) {}
}
