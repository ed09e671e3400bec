import { FlinkError } from '../core/FlinkError.js';
import { isJobId } from '../core/ids.js';
import { isGloballyTerminal } from '../core/JobStatus.js';
import type { CheckpointIndex, JobRecord } from './CheckpointIndex.js';

/**
 * A job as the user names it on the command line: its id (32 hex characters) or its job name. Cron scripts
 * and deploys know the name, not the id of the run a deploy started, so every catalog verb accepts both.
 */

const isRunning = (j: JobRecord) => j.status !== 'UNKNOWN' && !isGloballyTerminal(j.status);

/** Every recorded run the reference names: the one job of an id, or all runs of a name (newest first). */
export function jobsReferencedBy(index: CheckpointIndex, ref: string): JobRecord[] {
  const id = ref.trim().toLowerCase();
  if (isJobId(id)) {
    const j = index.getJob(id);
    if (j) return [j];
  }
  const named = index.jobsNamed(ref);
  if (named.length === 0) {
    throw new FlinkError('not-found', isJobId(id)
      ? `Job ${id} not found in the catalog ${index.path}`
      : `No job named '${ref}' in the catalog ${index.path} (give a job id or a job name; see flink list -a)`);
  }
  return named;
}

/**
 * The one job a reference means: an id, or a name whose running job is unique (a name with no running job
 * means its newest run). Two running jobs of one name are refused with both ids: guessing could snapshot,
 * stop or restore the wrong one.
 */
export function resolveJob(index: CheckpointIndex, ref: string): JobRecord {
  const jobs = jobsReferencedBy(index, ref);
  if (jobs.length === 1) return jobs[0]!;
  const running = jobs.filter(isRunning);
  if (running.length > 1) throw ambiguous(ref, running);
  return running[0] ?? jobs[0]!;
}

export function ambiguous(ref: string, running: JobRecord[]): FlinkError {
  return new FlinkError('invalid-argument',
    `Job name '${ref}' is ambiguous: ${running.length} jobs of that name are running (${running.map((j) => j.jobId).join(', ')}); give the job id`);
}

export { isRunning };
