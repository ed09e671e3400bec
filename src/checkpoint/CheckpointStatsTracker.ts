import { StatsSummary, type StatsSummarySnapshot } from './StatsSummary.js';

/**
 * Flink's CheckpointStatsTracker: the history of checkpoints as the web UI and `GET /jobs/:id/checkpoints`
 * show it. The coordinator reports what happens; the tracker owns the records.
 */

/** One subtask's acknowledgement of a checkpoint (Flink's SubtaskStateStats). */
export interface SubtaskCheckpointStats {
  subtask: number;
  ackTimestamp: number;
  /** Full state size, bytes. */
  stateSize: number;
  /** Bytes written by this checkpoint (an incremental one leaves out shared files it reuses). */
  checkpointedSize: number;
  syncMs: number;
  asyncMs: number;
  /** From the first barrier's arrival until the snapshot started (0 for sources). */
  alignmentMs: number;
  /** From the trigger until the first barrier arrived at the subtask. */
  startDelayMs: number;
  unaligned: boolean;
  /** In-flight bytes stored with an unaligned checkpoint (channel state). */
  persistedData: number;
  /** Bytes processed during alignment: not measured here, always 0. */
  processedData: number;
}

/** A job vertex's part of a checkpoint (Flink's TaskStateStats). */
export interface TaskCheckpointStats {
  vertexId: string;
  numSubtasks: number;
  /** Acknowledgements so far, by subtask index. */
  subtasks: SubtaskCheckpointStats[];
}

export interface CheckpointStatsEntry {
  id: number;
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  isSavepoint: boolean;
  /** Stop-with-savepoint (Flink's SYNC_SAVEPOINT). */
  syncSavepoint: boolean;
  /** Savepoints only: CANONICAL or NATIVE. */
  savepointFormat?: 'CANONICAL' | 'NATIVE';
  triggerTimestamp: number;
  latestAckTimestamp: number;
  stateSize: number;
  checkpointedSize: number;
  persistedData: number;
  processedData: number;
  endToEndDuration: number;
  numSubtasks: number;
  numAcknowledgedSubtasks: number;
  /** Directory of a completed one (the REST layer gives it as a file: URI). */
  externalPath?: string;
  failureMessage?: string;
  failureTimestamp?: number;
  discarded: boolean;
  /** Ran unaligned (from the start or after the alignment timeout): Flink's UNALIGNED_CHECKPOINT type. */
  unaligned?: boolean;
  tasks: TaskCheckpointStats[];
}

export interface CheckpointStatsSummary {
  stateSize: StatsSummarySnapshot;
  checkpointedSize: StatsSummarySnapshot;
  endToEndDuration: StatsSummarySnapshot;
  processedData: StatsSummarySnapshot;
  persistedData: StatsSummarySnapshot;
}

export interface CheckpointStats {
  /** Totals since the job started (not only what the history still holds), as Flink's CheckpointStatsCounts. */
  counts: { restored: number; total: number; inProgress: number; completed: number; failed: number };
  /** Over every completed checkpoint and savepoint since the job started. */
  summary: CheckpointStatsSummary;
  history: CheckpointStatsEntry[]; // newest first
  latestCompleted?: CheckpointStatsEntry;
  latestSavepoint?: CheckpointStatsEntry;
  latestFailed?: CheckpointStatsEntry;
  restored?: { id: number; restoreTimestamp: number; isSavepoint: boolean; externalPath: string };
}

/** Where a snapshot stands, as the catalog records it (DISCARDED: a retained checkpoint was removed). */
export type SnapshotStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'DISCARDED';

/** One snapshot as reported outward (the cluster writes it into the catalog, as it does job status). */
export interface SnapshotReport {
  jobId: string;
  checkpointId: number;
  kind: 'CHECKPOINT' | 'SAVEPOINT';
  status: SnapshotStatus;
  /** Absolute directory of the snapshot (the folder holding `_metadata`). */
  path: string;
  triggerTime: number;
  durationMs: number | null;
  sizeBytes: number | null;
  failureCause: string | null;
}

/** What the coordinator reports about its snapshots: a new or changed one, or a retained one removed. */
export type SnapshotEvent = { type: 'upsert'; snapshot: SnapshotReport } | { type: 'discarded'; path: string };

/** The part of a checkpoint attempt the tracker needs (pending, or one whose folder could not be created). */
export interface TrackedCheckpoint {
  id: number;
  isSavepoint: boolean;
  location: string;
  triggerTs: number;
  numSubtasks: number;
  numAcknowledged: number;
  unaligned: boolean;
  /** Stop-with-savepoint. */
  syncSavepoint?: boolean;
  savepointFormat?: 'CANONICAL' | 'NATIVE';
  /** The subtasks that must acknowledge, per job vertex. */
  vertices?: { vertexId: string; numSubtasks: number }[];
}

/**
 * Entries kept in memory for GET /jobs/:id/checkpoints/details/:id; the history shows the newest
 * web.checkpoints.history (10) of them, newest first, as Flink's does.
 */
const MAX_HISTORY = 100;
const SHOWN_HISTORY = 10;

export class CheckpointStatsTracker {
  private readonly history: CheckpointStatsEntry[] = [];
  private readonly counts = { restored: 0, total: 0, inProgress: 0, completed: 0, failed: 0 };
  private readonly summary = {
    stateSize: new StatsSummary(), checkpointedSize: new StatsSummary(), endToEndDuration: new StatsSummary(),
    processedData: new StatsSummary(), persistedData: new StatsSummary(),
  };
  private latest: { completed?: CheckpointStatsEntry; savepoint?: CheckpointStatsEntry; failed?: CheckpointStatsEntry } = {};
  private restoredFrom?: CheckpointStats['restored'];

  constructor(private readonly jobId: string, private readonly report: (e: SnapshotEvent) => void = () => {}) {}

  /** The job (re)started from a checkpoint or savepoint: every restore counts, as in Flink. */
  set restored(r: CheckpointStats['restored']) {
    if (!r) return;
    this.restoredFrom = r;
    this.counts.restored++;
  }

  get restored(): CheckpointStats['restored'] {
    return this.restoredFrom;
  }

  /** Live progress of a pending checkpoint: one subtask's acknowledgement. */
  acknowledged(id: number, numAcknowledged: number, ack?: { vertexId: string } & SubtaskCheckpointStats): void {
    const h = this.history.find((e) => e.id === id);
    if (!h) return;
    h.numAcknowledgedSubtasks = numAcknowledged;
    h.latestAckTimestamp = ack?.ackTimestamp ?? Date.now();
    h.endToEndDuration = Math.max(0, h.latestAckTimestamp - h.triggerTimestamp);
    if (!ack) return;
    const { vertexId, ...sub } = ack;
    const task = h.tasks.find((t) => t.vertexId === vertexId);
    if (task && !task.subtasks.some((x) => x.subtask === sub.subtask)) task.subtasks.push(sub);
    h.persistedData += sub.persistedData;
    h.processedData += sub.processedData;
  }

  record(p: TrackedCheckpoint, status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED', extra: { size?: number; checkpointedSize?: number; duration?: number; failure?: string } = {}): void {
    let h = this.history.find((e) => e.id === p.id);
    if (!h) {
      h = {
        id: p.id, status: 'IN_PROGRESS', isSavepoint: p.isSavepoint, syncSavepoint: !!p.syncSavepoint, triggerTimestamp: p.triggerTs,
        latestAckTimestamp: -1, stateSize: 0, checkpointedSize: 0, persistedData: 0, processedData: 0, endToEndDuration: 0,
        numSubtasks: p.numSubtasks, numAcknowledgedSubtasks: 0, discarded: false, unaligned: p.unaligned,
        ...(p.isSavepoint ? { savepointFormat: p.savepointFormat ?? 'CANONICAL' } : {}),
        tasks: (p.vertices ?? []).map((v) => ({ vertexId: v.vertexId, numSubtasks: v.numSubtasks, subtasks: [] })),
      };
      this.history.push(h);
      if (this.history.length > MAX_HISTORY) this.history.shift();
      this.counts.total++;
      this.counts.inProgress++;
    }
    const was = h.status;
    h.status = status;
    h.unaligned = p.unaligned;
    h.numAcknowledgedSubtasks = p.numAcknowledged;
    if (status !== 'IN_PROGRESS' && was === 'IN_PROGRESS') {
      this.counts.inProgress--;
      const now = Date.now();
      h.endToEndDuration = extra.duration ?? now - p.triggerTs;
      h.stateSize = extra.size ?? 0;
      h.checkpointedSize = extra.checkpointedSize ?? h.stateSize;
      if (status === 'COMPLETED') {
        this.counts.completed++;
        h.externalPath = p.location;
        for (const k of ['stateSize', 'checkpointedSize', 'endToEndDuration', 'processedData', 'persistedData'] as const) this.summary[k].add(h[k]);
        if (h.isSavepoint) this.latest.savepoint = h;
        else this.latest.completed = h;
      } else {
        this.counts.failed++;
        h.failureTimestamp = now;
        if (extra.failure) h.failureMessage = extra.failure;
        this.latest.failed = h;
      }
    }
    this.report({
      type: 'upsert',
      snapshot: {
        jobId: this.jobId, checkpointId: p.id, kind: p.isSavepoint ? 'SAVEPOINT' : 'CHECKPOINT',
        status, path: p.location, triggerTime: p.triggerTs, durationMs: status === 'IN_PROGRESS' ? null : h.endToEndDuration,
        sizeBytes: status === 'COMPLETED' ? h.stateSize : null, failureCause: extra.failure ?? null,
      },
    });
  }

  /** Periodic triggers that could not start (tasks not running yet): counted as failed, not in the history, as in Flink. */
  failedWithoutInProgress(n = 1): void {
    this.counts.total += n;
    this.counts.failed += n;
  }

  /** A retained checkpoint was removed (subsumed, or by the retention policy at job end). */
  discarded(id: number, dir: string): void {
    const h = this.history.find((e) => e.id === id);
    if (h) h.discarded = true;
    if (this.latest.completed?.id === id) this.latest.completed.discarded = true;
    this.report({ type: 'discarded', path: dir });
  }

  /** One checkpoint of the kept history (GET /jobs/:id/checkpoints/details/:id), if still kept. */
  entry(id: number): CheckpointStatsEntry | undefined {
    return this.history.find((e) => e.id === id);
  }

  stats(): CheckpointStats {
    const newestFirst = [...this.history].reverse();
    return {
      counts: { ...this.counts },
      summary: {
        stateSize: this.summary.stateSize.snapshot(),
        checkpointedSize: this.summary.checkpointedSize.snapshot(),
        endToEndDuration: this.summary.endToEndDuration.snapshot(),
        processedData: this.summary.processedData.snapshot(),
        persistedData: this.summary.persistedData.snapshot(),
      },
      history: newestFirst.slice(0, SHOWN_HISTORY),
      latestCompleted: this.latest.completed,
      latestSavepoint: this.latest.savepoint,
      latestFailed: this.latest.failed,
      restored: this.restoredFrom,
    };
  }
}
