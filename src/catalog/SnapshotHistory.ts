import { existsSync } from 'node:fs';
import { loadSnapshot } from '../checkpoint/Metadata.js';
import type { CheckpointIndex, JobRecord, SnapshotRecord } from './CheckpointIndex.js';

/**
 * The rows of `flink checkpoints` and `flink savepoints`: the web UI's checkpoint history, from the catalog.
 * Kind and format come from the snapshot's `_metadata` while its folder exists (the folders are the truth);
 * a disposed one shows what the catalog recorded.
 */
export interface HistoryRow {
  id: number;
  jobId: string;
  jobName: string;
  /** checkpoint, savepoint, or incremental (a checkpoint referring to shared files of earlier ones). */
  kind: 'checkpoint' | 'savepoint' | 'incremental';
  status: SnapshotRecord['status'];
  triggerTime: number;
  durationMs: number | null;
  sizeBytes: number | null;
  path: string;
  /** CANONICAL or NATIVE; null once the folder is gone. */
  format: string | null;
  /** What the job that took it was restored from. */
  restoredFrom: string | null;
  /** The remote cluster's address for a job on a real Flink cluster; null for a local mini-cluster. */
  cluster: string | null;
  failureCause: string | null;
}

export function historyRows(
  index: CheckpointIndex, jobs: JobRecord[], opts: { kind: 'CHECKPOINT' | 'SAVEPOINT'; all: boolean },
): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const j of jobs) {
    for (const s of index.listSnapshots({ jobId: j.jobId, kind: opts.kind })) {
      if (!opts.all && s.status === 'DISCARDED') continue;
      rows.push(toRow(s, j));
    }
  }
  return rows.sort((a, b) => b.triggerTime - a.triggerTime || b.id - a.id);
}

function toRow(s: SnapshotRecord, j: JobRecord): HistoryRow {
  let kind: HistoryRow['kind'] = s.kind === 'SAVEPOINT' ? 'savepoint' : 'checkpoint';
  let format: string | null = null;
  if (s.status !== 'DISCARDED' && !s.path.includes('://') && existsSync(s.path)) {
    try {
      const md = loadSnapshot(s.path).metadata;
      format = md.format ?? null;
      const shared = md.operators.some((op) => op.subtasks.some((st) => (st.state.keyedStateFiles ?? []).some((f) => f.file.startsWith('../shared/'))));
      if (md.kind === 'CHECKPOINT' && shared) kind = 'incremental';
    } catch {
      /* in progress or damaged: the catalog's word only */
    }
  }
  return {
    id: s.checkpointId, jobId: s.jobId, jobName: j.name, kind, status: s.status, triggerTime: s.triggerTime,
    durationMs: s.durationMs, sizeBytes: s.sizeBytes, path: s.path, format, restoredFrom: j.restoredFrom,
    cluster: j.cluster ?? null, failureCause: s.failureCause,
  };
}
