import type { JobStatus } from '../core/JobStatus.js';
import type { Logger } from '../core/Logger.js';
import type { StateFileHandle } from '../state/StateHandles.js';
import type { RetentionPolicy } from './CheckpointOptions.js';
import { CheckpointStorage } from './CheckpointStorage.js';
import type { CheckpointMetadata } from './Metadata.js';
import { sharedFilesOf, sharedFilesOfHandles, SharedStateRegistry } from './SharedStateRegistry.js';

export interface CompletedCheckpoint {
  id: number;
  dir: string;
  isSavepoint: boolean;
  metadata: CheckpointMetadata;
}

/**
 * Flink's CompletedCheckpointStore: the retained checkpoints (state.checkpoints.num-retained, oldest first),
 * with the SharedStateRegistry that knows which of them use which shared files. Adding one subsumes the
 * oldest beyond the limit; a claimed restored snapshot (restore mode CLAIM) is retained as the oldest; at
 * job end the retention policy decides whether any stay on disk.
 */
export class CompletedCheckpointStore {
  private readonly completed: CompletedCheckpoint[] = [];
  private readonly sharedState = new SharedStateRegistry();

  constructor(
    private readonly numRetained: number,
    private readonly log: Logger,
    /** A retained checkpoint was removed from disk. */
    private readonly onDiscard: (c: CompletedCheckpoint) => void,
  ) {}

  /** Restore mode CLAIM: the job owns the restored snapshot from now on, deleted once subsumed. */
  addClaimed(c: CompletedCheckpoint): void {
    this.completed.unshift(c);
    this.sharedState.register(c.id, sharedFilesOf(c.dir, c.metadata));
  }

  /** Retains a completed checkpoint; the oldest beyond num-retained are discarded. */
  add(c: CompletedCheckpoint): void {
    this.completed.push(c);
    this.sharedState.register(c.id, sharedFilesOf(c.dir, c.metadata));
    while (this.completed.length > this.numRetained) this.discard(this.completed.shift()!);
  }

  latest(): CompletedCheckpoint | undefined {
    return this.completed[this.completed.length - 1];
  }

  /** Retained completed checkpoints, newest first (what a failover may restore from). */
  newestFirst(): CompletedCheckpoint[] {
    return [...this.completed].reverse();
  }

  /** Shared files an aborted checkpoint's subtasks wrote are deleted unless a retained checkpoint uses them. */
  forgetAborted(id: number, location: string, handles: StateFileHandle[]): void {
    this.sharedState.unregister(-id, sharedFilesOfHandles(location, handles));
  }

  /** Deletes shared files nothing refers to any more. Only while no checkpoint is in flight (one may build on them). */
  deleteUnreferencedSharedState(): void {
    try {
      const deleted = this.sharedState.deleteUnreferenced();
      if (deleted.length > 0) this.log.info(`Deleted ${deleted.length} shared state file(s) no retained checkpoint refers to.`);
    } catch (e) {
      this.log.warn(`Could not delete unreferenced shared state files: ${(e as Error).message}`);
    }
  }

  /**
   * The job reached a terminal state: retained checkpoints stay by the retention policy (Flink's
   * ExternalizedCheckpointRetention) or are discarded. Returns whether they were kept.
   */
  shutdown(status: JobStatus, policy: RetentionPolicy): boolean {
    const keep = policy === 'RETAIN_ON_CANCELLATION' || (policy === 'DELETE_ON_CANCELLATION' && status === 'FAILED');
    if (!keep) for (const c of this.completed.splice(0)) this.discard(c);
    this.deleteUnreferencedSharedState();
    return keep;
  }

  /** The checkpoint's folder (with its _metadata) goes first, then the shared files it alone used. */
  private discard(c: CompletedCheckpoint): void {
    CheckpointStorage.discard(c.dir);
    this.sharedState.unregister(c.id, sharedFilesOf(c.dir, c.metadata));
    this.onDiscard(c);
  }
}
