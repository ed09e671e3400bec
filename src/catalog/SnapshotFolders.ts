import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSnapshot } from '../checkpoint/Metadata.js';
import type { SnapshotReport } from '../checkpoint/CheckpointStatsTracker.js';

/**
 * The snapshot folders as CheckpointStorage lays them out (`<checkpoints>/<jobId>/chk-N`, `<savepoints>/savepoint-*`),
 * read for a rebuild of the catalog: the folders are the truth, and only one with a valid `_metadata` counts.
 */

const JOB_DIR = /^[0-9a-f]{32}$/;
export const CHECKPOINT_DIR = /^chk-\d+$/;
const SAVEPOINT_DIR = /^savepoint-/;

export interface ScannedSnapshot {
  record: SnapshotReport;
  jobName: string;
  checkpointDir: string | null;
}

/** Every complete snapshot under the checkpoint and savepoint directories. */
export function scanSnapshotFolders(checkpointsDirs: (string | undefined)[], savepointsDirs: (string | undefined)[]): ScannedSnapshot[] {
  const found = new Map<string, ScannedSnapshot>(); // by path: the same folder may be reached through two roots
  const add = (s: ScannedSnapshot | undefined) => s && found.set(s.record.path, s);
  for (const checkpointsDir of new Set(checkpointsDirs)) {
    if (!checkpointsDir) continue;
    for (const jobDir of subdirs(checkpointsDir, JOB_DIR)) {
      for (const chk of subdirs(jobDir, CHECKPOINT_DIR)) add(readFolder(chk, jobDir));
    }
  }
  for (const savepointsDir of new Set(savepointsDirs)) {
    if (savepointsDir) for (const sp of subdirs(savepointsDir, SAVEPOINT_DIR)) add(readFolder(sp, null));
  }
  return [...found.values()];
}

export function subdirs(dir: string, name: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // a directory that does not exist (yet) holds no snapshots
  }
  return names.filter((n) => name.test(n)).map((n) => join(dir, n)).filter((p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  });
}

/** A snapshot folder with a valid `_metadata`; anything else is incomplete or corrupt and is not indexed. */
function readFolder(dir: string, checkpointDir: string | null): ScannedSnapshot | undefined {
  try {
    const snap = loadSnapshot(dir);
    const md = snap.metadata;
    if (typeof md.jobId !== 'string' || !Number.isSafeInteger(md.checkpointId) || (md.kind !== 'CHECKPOINT' && md.kind !== 'SAVEPOINT')) {
      return undefined;
    }
    let size = statSync(snap.metadataFile).size;
    for (const op of md.operators ?? []) for (const st of op.subtasks ?? []) size += Number(st.state?.size) || 0;
    const trigger = Number(md.triggerTimestamp) || 0;
    const completion = Number(md.completionTimestamp);
    return {
      record: {
        jobId: md.jobId, checkpointId: md.checkpointId, kind: md.kind, status: 'COMPLETED', path: snap.dir,
        triggerTime: trigger, durationMs: Number.isFinite(completion) ? Math.max(0, completion - trigger) : null,
        sizeBytes: size, failureCause: null,
      },
      jobName: typeof md.jobName === 'string' ? md.jobName : '',
      checkpointDir,
    };
  } catch {
    return undefined;
  }
}
