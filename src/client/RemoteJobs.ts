import type { CheckpointIndex, JobRecord } from '../catalog/CheckpointIndex.js';
import { jobsReferencedBy } from '../catalog/JobReference.js';
import { isGloballyTerminal } from '../core/JobStatus.js';
import type { RestClient } from '../rest/RestClient.js';

/**
 * Jobs of a cluster reached with -m (an Apache Flink cluster, usually) in the same catalog as the mini-cluster's:
 * a job row with the cluster's REST URL and no pid, its savepoints and checkpoints as snapshot rows whose path is
 * the location the cluster reported (a URI: file:/…, s3://…). The cluster owns those files; we only remember them,
 * so `list`, `savepoint <jobId>` without -m, history and `latest:` work for remote jobs too.
 * Everything here is best effort: the cluster's answer is what the user asked for, the bookkeeping is not.
 */

/** A job the index knows from a local cluster process (it records itself): not ours to write. */
export function isLocalJob(index: CheckpointIndex, jobId: string): boolean {
  const r = index.getJob(jobId);
  return r !== undefined && r.pid !== null;
}

/** A row written by recordRemoteJob: no process of ours, a cluster URL. */
export function isRemoteRecord(r: Pick<JobRecord, 'pid' | 'restUrl'>): boolean {
  return r.pid === null && r.restUrl !== null;
}

/** Records (or refreshes) a remote job's row from the cluster's job details. */
export async function recordRemoteJob(index: CheckpointIndex, rest: RestClient, jobId: string, extra: { restoredFrom?: string | null } = {}): Promise<void> {
  if (isLocalJob(index, jobId)) return;
  try {
    const d = await rest.jobDetails(jobId);
    const prior = index.getJob(jobId);
    index.upsertJob({
      jobId, name: d.name, status: d.status, startTime: d.startTime,
      endTime: isGloballyTerminal(d.status) && d.endTime > 0 ? d.endTime : null,
      restUrl: rest.baseUrl, pid: null, logFile: null, checkpointDir: null,
      restoredFrom: extra.restoredFrom ?? prior?.restoredFrom ?? null, failureCause: prior?.failureCause ?? null,
      checkpointStorage: null,
    });
  } catch {
    /* the cluster's answer to the verb stands; the catalog catches up next time */
  }
}

interface StatsEntry {
  id?: number; status?: string; is_savepoint?: boolean; external_path?: string; discarded?: boolean;
  trigger_timestamp?: number; end_to_end_duration?: number; checkpointed_size?: number; state_size?: number;
}

/**
 * Records what a remote job's cluster says about its snapshots (GET /jobs/:id/checkpoints): the completed
 * checkpoints it took on its own schedule and savepoints others triggered, and which of them Flink has since
 * discarded (subsumed beyond its execution.checkpointing.num-retained, or deleted on cancellation): its
 * `discarded` flag, and anything older than what it still retains. The statistics outlive the job on the
 * cluster, so after cancel or stop this finds the checkpoint an externalized retention kept. Best effort.
 * Flink serves these statistics from a cache (rest.cache.checkpoint-statistics.timeout, 3 s): a view older than
 * the newest checkpoint lists only discarded ones; that records nothing wrong, and the next verb catches up
 * (`run -s latest…:` with -m syncs before it resolves).
 */
export async function syncRemoteCheckpoints(index: CheckpointIndex, rest: RestClient, jobId: string): Promise<void> {
  if (isLocalJob(index, jobId)) return;
  try {
    if (!index.getJob(jobId)) await recordRemoteJob(index, rest, jobId);
    if (!index.getJob(jobId)) return;
    const stats = (await rest.checkpointStats(jobId)) as unknown as { history?: StatsEntry[]; latest?: { completed?: StatsEntry | null; savepoint?: StatsEntry | null } };
    const byPath = new Map<string, StatsEntry>();
    // history first: its entries carry the current `discarded`; latest.* only adds what the history dropped.
    for (const e of [...(stats.history ?? []), stats.latest?.completed, stats.latest?.savepoint]) {
      if (!e || e.status !== 'COMPLETED' || typeof e.external_path !== 'string' || e.external_path === '' || typeof e.id !== 'number') continue;
      if (!byPath.has(e.external_path)) byPath.set(e.external_path, e);
    }
    index.syncRemoteSnapshots(jobId, [...byPath.values()].map((e) => ({
      jobId, checkpointId: e.id!, kind: e.is_savepoint ? 'SAVEPOINT' : 'CHECKPOINT',
      // Flink never discards a savepoint itself; disposal is ours to record (markRemoteDisposed).
      status: e.discarded && !e.is_savepoint ? 'DISCARDED' : 'COMPLETED',
      path: e.external_path!, triggerTime: e.trigger_timestamp ?? Date.now(), durationMs: e.end_to_end_duration ?? null,
      sizeBytes: e.checkpointed_size ?? e.state_size ?? null, failureCause: null,
    })));
  } catch {
    /* the cluster's answer to the verb stands; the catalog catches up next time */
  }
}

/**
 * Records a completed savepoint or checkpoint of a remote job, with its id, trigger time, duration and size from
 * the cluster's checkpoint statistics when it lists the snapshot there.
 */
export async function recordRemoteSnapshot(
  index: CheckpointIndex, rest: RestClient, jobId: string, location: string, kind: 'CHECKPOINT' | 'SAVEPOINT', checkpointId?: number,
): Promise<void> {
  if (location === '' || isLocalJob(index, jobId)) return;
  await recordRemoteJob(index, rest, jobId);
  let entry: StatsEntry | undefined;
  // Flink's statistics may lag the operation's result by a moment.
  for (let attempt = 0; attempt < 4 && entry === undefined; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * attempt));
    try {
      const stats = (await rest.checkpointStats(jobId)) as unknown as { history?: StatsEntry[]; latest?: Record<string, StatsEntry | null> };
      const candidates = [...(stats.history ?? []), ...Object.values(stats.latest ?? {}).filter((e): e is StatsEntry => !!e)];
      entry = candidates.find((e) => e.external_path === location || (checkpointId !== undefined && e.id === checkpointId));
    } catch {
      break; // no statistics: record what we know
    }
  }
  try {
    if (!index.getJob(jobId)) return; // the job row could not be written: a snapshot row would be an orphan
    index.upsertRemoteSnapshot({
      jobId, checkpointId: entry?.id ?? checkpointId ?? -Date.now(), kind, status: 'COMPLETED', path: location,
      triggerTime: entry?.trigger_timestamp ?? Date.now(), durationMs: entry?.end_to_end_duration ?? null,
      sizeBytes: entry?.checkpointed_size ?? entry?.state_size ?? null, failureCause: null,
    });
  } catch {
    /* best effort, as above */
  }
}

/** After `savepoint -d` through a cluster: its row (if we recorded one under that location) says DISCARDED. */
export function markRemoteDisposed(index: CheckpointIndex, location: string): void {
  try {
    const row = index.listSnapshots({ kind: 'SAVEPOINT' }).find((r) => r.path === location || r.path === `file:${location}` || `file:${r.path}` === location);
    if (row) index.upsertRemoteSnapshot({ ...row, status: 'DISCARDED' });
  } catch {
    /* best effort */
  }
}

/**
 * `flink checkpoints|savepoints -m <address> [job]`: refreshes from that cluster the jobs the command is about
 * (a job id as given, even one the catalog never saw; else the catalog's jobs of that cluster by name, or all
 * of its running ones) before the catalog is read.
 */
export async function syncRemoteJobs(index: CheckpointIndex, rest: RestClient, ref: string | undefined): Promise<void> {
  const ofCluster = (j: JobRecord) => isRemoteRecord(j) && j.restUrl === rest.baseUrl;
  let ids: string[];
  if (ref !== undefined && /^\s*[0-9a-fA-F]{32}\s*$/.test(ref)) ids = [ref.trim().toLowerCase()];
  else if (ref !== undefined) ids = jobsReferencedBy(index, ref).filter(ofCluster).map((j) => j.jobId);
  else ids = index.listJobs().filter((j) => ofCluster(j) && (j.status === 'UNKNOWN' || !isGloballyTerminal(j.status))).map((j) => j.jobId);
  for (const id of ids) {
    await recordRemoteJob(index, rest, id);
    await syncRemoteCheckpoints(index, rest, id);
  }
}
