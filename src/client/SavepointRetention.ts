import { CheckpointStorage } from '../checkpoint/CheckpointStorage.js';
import { loadSnapshot, verifySnapshotFiles } from '../checkpoint/Metadata.js';
import { disposeSavepoint } from '../checkpoint/SavepointDisposal.js';
import type { CheckpointIndex, JobRecord, SnapshotRecord } from '../catalog/CheckpointIndex.js';
import { isRunning, jobsReferencedBy } from '../catalog/JobReference.js';
import { withLockFile } from '../catalog/SqliteFile.js';
import { describeError, FlinkError, isFlinkError } from '../core/FlinkError.js';
import type { Configuration } from '../config/Configuration.js';
import { FlinkTsOptions } from '../config/ConfigOptions.js';

/**
 * Savepoint retention (`flink savepoints --prune`), after the Kubernetes operator's savepoint history: per job
 * name, keep the newest `maxCount` completed savepoints and none older than `maxAge`, but always the newest
 * intact one; never one a running job was restored from (whatever its claim mode: disposing a NO_CLAIM
 * source under a job that has not completed its first checkpoint would lose its restart point too), never one
 * still IN_PROGRESS (only COMPLETED rows are candidates). Each one is disposed first and marked DISCARDED in the
 * catalog only when the disposal succeeded. Prunes of one catalog are serialized by a lock file, so parallel
 * cron jobs never work from the same stale list; a savepoint completing meanwhile is newer than all candidates.
 * This deletes folders, so it lives with the client, not in the catalog, which only records.
 */
export interface RetentionPolicy {
  maxCount: number;
  maxAgeMs?: number;
}

export interface PrunedSavepoint {
  path: string;
  jobId: string;
  jobName: string;
  triggerTime: number;
  reason: string;
}

export interface PruneResult {
  disposed: PrunedSavepoint[];
  kept: PrunedSavepoint[];
  failed: (PrunedSavepoint & { error: string })[];
  dryRun: boolean;
}

/**
 * The retention a cluster applies on its own after each periodic savepoint: only when the configuration sets
 * state.savepoints.history.max-count or .max-age explicitly (the max-count default of --prune then fills in).
 * Nothing set: nothing is disposed behind the user's back, as before periodic savepoints existed.
 */
export function configuredRetention(config: Configuration): RetentionPolicy | undefined {
  const count = config.contains(FlinkTsOptions.SAVEPOINT_HISTORY_MAX_COUNT);
  const age = config.contains(FlinkTsOptions.SAVEPOINT_HISTORY_MAX_AGE);
  if (!count && !age) return undefined;
  return { maxCount: config.get(FlinkTsOptions.SAVEPOINT_HISTORY_MAX_COUNT), maxAgeMs: config.getOptional(FlinkTsOptions.SAVEPOINT_HISTORY_MAX_AGE) };
}

export async function pruneSavepoints(
  index: CheckpointIndex, policy: RetentionPolicy, opts: { ref?: string; dryRun?: boolean; now?: number } = {},
): Promise<PruneResult> {
  if (!(policy.maxCount >= 1)) throw new FlinkError('invalid-argument', 'A prune must keep at least one savepoint per job name (max-count >= 1)');
  const run = () => plan(index, policy, opts);
  return opts.dryRun ? run() : withLockFile(`${index.path}.prune-lock`, run);
}

async function plan(index: CheckpointIndex, policy: RetentionPolicy, opts: { ref?: string; dryRun?: boolean; now?: number }): Promise<PruneResult> {
  const now = opts.now ?? Date.now();
  const all = index.listJobs();
  const names = opts.ref === undefined ? new Set(all.map((j) => j.name)) : new Set(jobsReferencedBy(index, opts.ref).map((j) => j.name));
  const protectedPaths = new Set(all.filter(isRunning).map((j) => j.restoredFrom).filter((p): p is string => !!p));
  const result: PruneResult = { disposed: [], kept: [], failed: [], dryRun: !!opts.dryRun };

  for (const name of [...names].sort()) {
    const runs = new Map<string, JobRecord>(all.filter((j) => j.name === name).map((j) => [j.jobId, j]));
    const savepoints = [...runs.keys()]
      .flatMap((jobId) => index.listSnapshots({ jobId, kind: 'SAVEPOINT', status: 'COMPLETED' }))
      .filter((s) => CheckpointStorage.isComplete(s.path)) // a folder removed by hand is no longer a savepoint to keep
      .sort((a, b) => b.triggerTime - a.triggerTime || b.checkpointId - a.checkpointId);
    const keeper = savepoints.find(intact);
    const entry = (s: SnapshotRecord, reason: string): PrunedSavepoint => ({ path: s.path, jobId: s.jobId, jobName: name, triggerTime: s.triggerTime, reason });
    for (const [i, s] of savepoints.entries()) {
      const tooMany = i >= policy.maxCount;
      const tooOld = policy.maxAgeMs !== undefined && now - s.triggerTime > policy.maxAgeMs;
      if (s === keeper) {
        result.kept.push(entry(s, tooMany || tooOld ? 'the newest intact savepoint of its job name is always kept' : 'within the policy'));
        continue;
      }
      if (protectedPaths.has(s.path)) {
        result.kept.push(entry(s, 'a running job was restored from it'));
        continue;
      }
      if (!tooMany && !tooOld) {
        result.kept.push(entry(s, 'within the policy'));
        continue;
      }
      const e = entry(s, tooMany ? `beyond max-count ${policy.maxCount}` : `older than max-age`);
      if (opts.dryRun) {
        result.disposed.push(e);
        continue;
      }
      try {
        await disposeSavepoint(s.path, index); // marks the row DISCARDED only once the files are gone
        result.disposed.push(e);
      } catch (err) {
        if (!CheckpointStorage.isComplete(s.path) && isFlinkError(err) && err.kind === 'not-found') {
          // Someone disposed it meanwhile (by hand): record what the folder says.
          try {
            index.updateSnapshot(s.path, { status: 'DISCARDED' });
          } catch {
            /* the next rebuild settles it */
          }
          continue;
        }
        result.failed.push({ ...e, error: describeError(err) });
      }
    }
  }
  return result;
}

function intact(s: SnapshotRecord): boolean {
  try {
    verifySnapshotFiles(loadSnapshot(s.path));
    return true;
  } catch {
    return false;
  }
}
