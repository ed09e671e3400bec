import { CheckpointStorage, JOBMANAGER_LOCATION_PREFIX } from './CheckpointStorage.js';

/**
 * JobManagerCheckpointStorage at run time (Flink's MemoryBackendCheckpointStorageAccess): subtasks send
 * their state as bytes with their acknowledgement (each handle at most `maxStateSize`, else they decline),
 * and the completed checkpoint, metadata included, lives in the CheckpointCoordinator's memory only. No
 * chk-N folder is created. Savepoints are files as with any storage (savepointLocation is inherited).
 */
export class MemoryCheckpointStorage extends CheckpointStorage {
  constructor(checkpointsDir: string, jobId: string, readonly maxStateSize: number) {
    super(checkpointsDir, jobId);
  }

  override initialize(): void {
    /* nothing on disk */
  }

  override checkpointLocation(checkpointId: number): string {
    return `${JOBMANAGER_LOCATION_PREFIX}${this.jobId}/chk-${checkpointId}`;
  }

  override discardJobDirIfEmpty(): void {
    /* there is none */
  }
}

/** Why a subtask declines a checkpoint whose state does not fit into JobManager memory. */
export function stateTooLargeMessage(what: string, size: number, maxStateSize: number): string {
  return `The state of ${what} is ${size} bytes, larger than the ${maxStateSize} bytes JobManagerCheckpointStorage keeps in memory per state handle (maxStateSize). `
    + 'Use FileSystemCheckpointStorage (env.getCheckpointConfig().setCheckpointStorage(\'file:///...\') or state.checkpoint-storage: filesystem), '
    + 'or raise the limit with new JobManagerCheckpointStorage(maxStateSize).';
}
