/**
 * Flink's CheckpointStatsTracker: the history of checkpoints as the web UI and `GET /jobs/:id/checkpoints`
 * show it. The coordinator reports what happens; the tracker owns the records.
 */

export interface CheckpointStatsEntry {
  id: number;
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  isSavepoint: boolean;
  triggerTimestamp: number;
  latestAckTimestamp: number;
  stateSize: number;
  endToEndDuration: number;
  numSubtasks: number;
  numAcknowledgedSubtasks: number;
  externalPath?: string;
  failureMessage?: string;
  discarded: boolean;
  /** Ran unaligned (from the start or after the alignment timeout): Flink's UNALIGNED_CHECKPOINT type. */
  unaligned?: boolean;
}

export interface CheckpointStats {
  counts: { restored: number; total: number; inProgress: number; completed: number; failed: number };
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
}

/** Entries kept for GET /jobs/:id/checkpoints; Flink's web.checkpoints.history is 10 of them, shown newest first. */
const MAX_HISTORY = 100;
const SHOWN_HISTORY = 10;

export class CheckpointStatsTracker {
  private readonly history: CheckpointStatsEntry[] = [];
  restored?: CheckpointStats['restored'];

  constructor(private readonly jobId: string, private readonly report: (e: SnapshotEvent) => void = () => {}) {}

  /** Live progress of a pending checkpoint, as Flink's stats tracker reports it. */
  acknowledged(id: number, numAcknowledged: number): void {
    const h = this.history.find((e) => e.id === id);
    if (h) {
      h.numAcknowledgedSubtasks = numAcknowledged;
      h.latestAckTimestamp = Date.now();
    }
  }

  record(p: TrackedCheckpoint, status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED', extra: { size?: number; duration?: number; failure?: string } = {}): void {
    let h = this.history.find((e) => e.id === p.id);
    if (!h) {
      h = {
        id: p.id, status, isSavepoint: p.isSavepoint, triggerTimestamp: p.triggerTs, latestAckTimestamp: 0, stateSize: 0, endToEndDuration: 0,
        numSubtasks: p.numSubtasks, numAcknowledgedSubtasks: 0, discarded: false, unaligned: p.unaligned,
      };
      this.history.push(h);
      if (this.history.length > MAX_HISTORY) this.history.shift();
    }
    h.status = status;
    h.unaligned = p.unaligned;
    h.numAcknowledgedSubtasks = p.numAcknowledged;
    if (status !== 'IN_PROGRESS') {
      h.latestAckTimestamp = Date.now();
      h.endToEndDuration = extra.duration ?? Date.now() - p.triggerTs;
      h.stateSize = extra.size ?? 0;
      if (status === 'COMPLETED') h.externalPath = p.location;
      if (extra.failure) h.failureMessage = extra.failure;
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

  /** A retained checkpoint was removed (subsumed, or by the retention policy at job end). */
  discarded(id: number, dir: string): void {
    const h = this.history.find((e) => e.id === id);
    if (h) h.discarded = true;
    this.report({ type: 'discarded', path: dir });
  }

  stats(): CheckpointStats {
    const counts = { restored: this.restored ? 1 : 0, total: this.history.length, inProgress: 0, completed: 0, failed: 0 };
    for (const h of this.history) {
      if (h.status === 'IN_PROGRESS') counts.inProgress++;
      else if (h.status === 'COMPLETED') counts.completed++;
      else counts.failed++;
    }
    const newestFirst = [...this.history].reverse();
    return {
      counts,
      history: newestFirst.slice(0, SHOWN_HISTORY),
      latestCompleted: newestFirst.find((h) => h.status === 'COMPLETED' && !h.isSavepoint),
      latestSavepoint: newestFirst.find((h) => h.status === 'COMPLETED' && h.isSavepoint),
      latestFailed: newestFirst.find((h) => h.status === 'FAILED'),
      restored: this.restored,
    };
  }
}
