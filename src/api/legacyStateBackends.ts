import { checkArgumentCount } from './arguments.js';
import { FileSystemCheckpointStorage, JobManagerCheckpointStorage, DEFAULT_MAX_STATE_SIZE } from './checkpointStorage.js';
import type { StateBackend } from './stateBackends.js';

/**
 * The state backends before Flink 1.14, which chose the checkpoint storage too. Accepted and mapped as
 * Flink's migration guide maps them; the job log says once what each became. As in Flink, a legacy
 * backend's storage wins over setCheckpointStorage() (the job log says so when both are set).
 */

/** Heap state, checkpoints in JobManager memory. */
export class MemoryStateBackend implements StateBackend {
  readonly type = 'hashmap' as const;
  readonly checkpointStorage: JobManagerCheckpointStorage;
  readonly deprecationNotice: string;
  constructor(maxStateSize: number = DEFAULT_MAX_STATE_SIZE) {
    checkArgumentCount('MemoryStateBackend(maxStateSize?)', 1, arguments.length);
    this.checkpointStorage = new JobManagerCheckpointStorage(maxStateSize);
    this.deprecationNotice = 'MemoryStateBackend is deprecated: using HashMapStateBackend with JobManagerCheckpointStorage '
      + `(maxStateSize ${maxStateSize} bytes), as env.setStateBackend(new HashMapStateBackend()) and `
      + 'env.getCheckpointConfig().setCheckpointStorage(new JobManagerCheckpointStorage()) would.';
  }
}

/** Heap state, checkpoints as files under `checkpointDir`. */
export class FsStateBackend implements StateBackend {
  readonly type = 'hashmap' as const;
  readonly checkpointStorage: FileSystemCheckpointStorage;
  readonly deprecationNotice: string;
  constructor(checkpointDir: string) {
    checkArgumentCount('FsStateBackend(checkpointDir)', 1, arguments.length);
    this.checkpointStorage = new FileSystemCheckpointStorage(checkpointDir);
    this.deprecationNotice = `FsStateBackend is deprecated: using HashMapStateBackend with FileSystemCheckpointStorage at ${this.checkpointStorage.path}, `
      + `as env.setStateBackend(new HashMapStateBackend()) and env.getCheckpointConfig().setCheckpointStorage('${checkpointDir}') would.`;
  }
}

/** On-disk state (flink-ts's embedded backend), checkpoints as files under `checkpointDir`, incremental or not. */
export class RocksDBStateBackend implements StateBackend {
  readonly type = 'embedded' as const;
  readonly checkpointStorage: FileSystemCheckpointStorage;
  readonly deprecationNotice: string;
  constructor(checkpointDir: string, readonly incremental: boolean = false) {
    checkArgumentCount('RocksDBStateBackend(checkpointDir, incremental?)', 2, arguments.length);
    if (typeof incremental !== 'boolean') throw new TypeError(`RocksDBStateBackend: 'incremental' must be a boolean, got ${JSON.stringify(incremental)}`);
    this.checkpointStorage = new FileSystemCheckpointStorage(checkpointDir);
    this.deprecationNotice = `RocksDBStateBackend is deprecated: using EmbeddedRocksDBStateBackend(${incremental}) with FileSystemCheckpointStorage at ${this.checkpointStorage.path}, `
      + `as env.setStateBackend(new EmbeddedRocksDBStateBackend(${incremental})) and env.getCheckpointConfig().setCheckpointStorage('${checkpointDir}') would.`;
  }
}
