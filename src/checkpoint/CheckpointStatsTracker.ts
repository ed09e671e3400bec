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

