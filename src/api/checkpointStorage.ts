import { checkArgumentCount } from './arguments.js';
import { resolve } from 'node:path';

/**
 * Where checkpoints go (Flink 1.14's split of the state backend, which holds state while the job runs,
 * from the checkpoint storage, which keeps its snapshots). Set with
 * env.getCheckpointConfig().setCheckpointStorage(); wins over state.checkpoint-storage.
 */
export type CheckpointStorage = FileSystemCheckpointStorage | JobManagerCheckpointStorage;

/** Checkpoints as chk-N folders with _metadata under `<path>/<jobId>/`: restorable with `flink run -s`. */
export class FileSystemCheckpointStorage {
  readonly type = 'filesystem' as const;
  /** Absolute local path (a file:// URI is accepted). */
  readonly path: string;
  constructor(path: string) {
    checkArgumentCount('FileSystemCheckpointStorage(path)', 1, arguments.length);
    this.path = localCheckpointPath(path);
  }
  getCheckpointPath(): string {
    return this.path;
  }
}

/** Flink's default maximum size of one state handle kept in JobManager memory. */
export const DEFAULT_MAX_STATE_SIZE = 5 * 1024 * 1024;

/**
 * Checkpoints kept in the memory of the cluster process (the JobManager): good for small state and
 * tests. Each subtask's state is limited to `maxStateSize` bytes; nothing is written to chk-N folders,
 * so these checkpoints serve failover only and are gone with the cluster. Savepoints still go to files.
 */
export class JobManagerCheckpointStorage {
  readonly type = 'jobmanager' as const;
  constructor(readonly maxStateSize: number = DEFAULT_MAX_STATE_SIZE) {
    checkArgumentCount('JobManagerCheckpointStorage(maxStateSize?)', 1, arguments.length);
    if (!Number.isInteger(maxStateSize) || maxStateSize <= 0) {
      throw new RangeError(`The maximum state size of JobManagerCheckpointStorage must be a positive number of bytes, got ${maxStateSize}`);
    }
  }
  getMaxStateSize(): number {
    return this.maxStateSize;
  }
}

/** A local directory from a path or file:// URI; other file systems cannot be honoured, so they fail here. */
export function localCheckpointPath(p: string): string {
  if (typeof p !== 'string' || p.trim() === '') throw new TypeError('The checkpoint storage path must be a non-empty string');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(p)?.[1];
  if (scheme !== undefined && scheme !== 'file') {
    throw new RangeError(`Checkpoint storage path '${p}': flink-ts checkpoints to the local file system only (a path or a file:// URI), not '${scheme}:'`);
  }
  const local = p.startsWith('file://') ? p.slice('file://'.length) || '/' : p.startsWith('file:') ? p.slice('file:'.length) : p;
  return resolve(local);
}
