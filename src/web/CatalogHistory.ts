import type { JobRecord, SnapshotRecord } from '../catalog/CheckpointIndex.js';
import { JOB_STATUSES, type JobStatus } from '../core/JobStatus.js';

/**
 * Ended jobs as Flink's REST answers for them, built from the catalog: what Flink's HistoryServer does with
 * its archived JSON. The catalog keeps less than a live JobManager (no vertices, no per-subtask statistics),
 * so those fields are absent and the page shows "—" for them.
 */

/** How a job of the catalog is shown: its last recorded status, or FAILED for a cluster found dead. */
export interface CatalogJob {
  record: JobRecord;
  /** Its cluster process is gone while the catalog still says it runs. */
  lost: boolean;
}

export function statusOf(j: CatalogJob): JobStatus | 'UNKNOWN' {
  return j.lost ? 'FAILED' : j.record.status;
}

/** One entry of GET /jobs/overview (Flink's JobDetails), plus `lost` and `source` for the dashboard. */
export function historyOverview(j: CatalogJob, now = Date.now()) {
  const r = j.record;
  const end = r.endTime ?? -1;
  return {
    jid: r.jobId,
    name: r.name,
    state: statusOf(j),
    'start-time': r.startTime,
    'end-time': end,
    duration: end > 0 ? end - r.startTime : j.lost ? -1 : now - r.startTime,
    'last-modification': end > 0 ? end : r.startTime,
    tasks: {},
    source: 'catalog',
    lost: j.lost,
  };
}

/** GET /jobs/:jobid (Flink's JobDetailsInfo) of an ended job: no vertices or plan are kept. */
export function historyJobDetails(j: CatalogJob, now = Date.now()) {
  const r = j.record;
  const status = statusOf(j);
  const timestamps: Record<string, number> = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0]));
  timestamps.CREATED = r.startTime;
  if (r.endTime !== null && status !== 'UNKNOWN') timestamps[status] = r.endTime;
  return {
    ...historyOverview(j, now),
    isStoppable: false,
    'job-type': 'STREAMING',
    maxParallelism: -1,
    now,
    timestamps,
    vertices: [],
    'status-counts': {},
    plan: { jid: r.jobId, name: r.name, type: 'STREAMING', nodes: [] },
    'failure-cause': r.failureCause,
    'log-file': r.logFile,
  };
}

/** GET /jobs/:jobid/exceptions (Flink's JobExceptionsInfoWithHistory) from the recorded failure cause. */
export function historyExceptions(j: CatalogJob) {
  const r = j.record;
  const cause = r.failureCause ?? (j.lost ? 'The cluster process of this job ended without recording how the job ended.' : null);
  const at = r.endTime ?? r.startTime;
  const entries = cause === null ? [] : [{
    exceptionName: cause.split(':')[0]!.includes(' ') ? 'FlinkError' : cause.split(':')[0]!,
    stacktrace: cause, timestamp: at, taskName: null, location: null, taskManagerId: null, failureLabels: {}, concurrentExceptions: [],
  }];
  return {
    'root-exception': cause,
    timestamp: cause === null ? null : at,
    'all-exceptions': [],
    truncated: false,
    exceptionHistory: { entries, truncated: false },
  };
}

type Stats = { min: number; max: number; avg: number };

function summary(values: number[]): Stats {
  if (values.length === 0) return { min: 0, max: 0, avg: 0 };
  return { min: Math.min(...values), max: Math.max(...values), avg: Math.round(values.reduce((a, b) => a + b, 0) / values.length) };
}

function toStatistics(s: SnapshotRecord) {
  const completed = s.status === 'COMPLETED' || s.status === 'DISCARDED';
  const body: Record<string, unknown> = {
    className: completed ? 'completed' : s.status === 'FAILED' ? 'failed' : 'in_progress',
    id: s.checkpointId,
    // A catalog row still IN_PROGRESS belongs to a cluster that is gone: that checkpoint never completed.
    status: completed ? 'COMPLETED' : 'FAILED',
    is_savepoint: s.kind === 'SAVEPOINT',
    checkpoint_type: s.kind === 'SAVEPOINT' ? 'SAVEPOINT' : 'CHECKPOINT',
    trigger_timestamp: s.triggerTime,
    latest_ack_timestamp: s.durationMs === null ? -1 : s.triggerTime + s.durationMs,
    end_to_end_duration: s.durationMs ?? -1,
    tasks: {},
  };
  if (s.sizeBytes !== null) body.state_size = body.checkpointed_size = s.sizeBytes;
  if (completed) {
    body.external_path = s.path;
    body.discarded = s.status === 'DISCARDED';
  } else {
    body.failure_message = s.failureCause ?? (s.status === 'IN_PROGRESS' ? 'Its cluster ended before the checkpoint completed.' : null);
  }
  return body;
}

/** GET /jobs/:jobid/checkpoints (Flink's CheckpointingStatistics) from the catalog's snapshot rows. */
export function historyCheckpoints(j: CatalogJob, snapshots: SnapshotRecord[], restoredRow?: SnapshotRecord) {
  const rows = [...snapshots].sort((a, b) => b.triggerTime - a.triggerTime || b.checkpointId - a.checkpointId);
  const history = rows.map(toStatistics);
  const done = rows.filter((s) => s.status === 'COMPLETED' || s.status === 'DISCARDED');
  const failed = history.filter((h) => h.status === 'FAILED');
  const restored = j.record.restoredFrom;
  return {
    counts: { restored: restored ? 1 : 0, total: history.length, in_progress: 0, completed: done.length, failed: failed.length },
    summary: {
      end_to_end_duration: summary(done.map((s) => s.durationMs ?? 0)),
      state_size: summary(done.map((s) => s.sizeBytes ?? 0)),
      checkpointed_size: summary(done.map((s) => s.sizeBytes ?? 0)),
    },
    latest: {
      completed: history.find((h) => h.status === 'COMPLETED' && !h.is_savepoint) ?? null,
      savepoint: history.find((h) => h.status === 'COMPLETED' && h.is_savepoint) ?? null,
      failed: failed[0] ?? null,
      restored: restored
        ? { id: restoredRow?.checkpointId ?? -1, restore_timestamp: j.record.startTime, is_savepoint: restoredRow ? restoredRow.kind === 'SAVEPOINT' : /savepoint-/.test(restored), external_path: restored }
        : null,
    },
    history,
  };
}
