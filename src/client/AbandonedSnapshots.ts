import { CheckpointStorage } from '../checkpoint/CheckpointStorage.js';
import { loadSnapshot } from '../checkpoint/Metadata.js';
import type { CheckpointIndex } from '../catalog/CheckpointIndex.js';
import { CHECKPOINT_DIR, subdirs } from '../catalog/SnapshotFolders.js';

/**
 * The cluster of a job is gone (its process died): its IN_PROGRESS snapshots will never complete. A folder
 * that holds no `_metadata` is a partial leftover of the crash and is removed; its row becomes FAILED. A folder
 * that completed on disk before the crash, but was not recorded, becomes COMPLETED: the folder is the truth.
 * Returns how many rows were settled. This decides to delete folders, so it lives with the client that noticed
 * the loss, not in the catalog, which only records.
 */
export function abandonInProgress(index: CheckpointIndex, jobId: string, cause: string): number {
  const rows = index.listSnapshots({ jobId, status: 'IN_PROGRESS' });
  for (const r of rows) {
    let complete = true;
    try {
      loadSnapshot(r.path);
    } catch {
      complete = false;
    }
    // Settle first, and remove a folder only if this call settled its row: another client may have settled it since the read.
    const settled = index.settleInProgress(r.path, complete ? 'COMPLETED' : 'FAILED', complete ? null : cause);
    if (settled && !complete && !CheckpointStorage.isComplete(r.path)) CheckpointStorage.discard(r.path);
  }
  // Folders the catalog never heard of (or already wrote off) but that a write of the dead cluster left behind.
  const jobDir = index.getJob(jobId)?.checkpointDir;
  if (jobDir) {
    for (const chk of subdirs(jobDir, CHECKPOINT_DIR)) if (!CheckpointStorage.isComplete(chk)) CheckpointStorage.discard(chk);
  }
  return rows.length;
}
