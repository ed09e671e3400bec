import { CheckpointStorage } from '../checkpoint/CheckpointStorage.js';
import { loadSnapshot, verifySnapshotFiles } from '../checkpoint/Metadata.js';
import { describeError, FlinkError } from '../core/FlinkError.js';
import type { CheckpointIndex, JobRecord, SnapshotRecord } from './CheckpointIndex.js';
import { ambiguous, isRunning, jobsReferencedBy } from './JobReference.js';

/**
 * `run -s latest:<jobId|jobName>` and friends: the newest intact snapshot of a job, found through the catalog.
 * `latest:` takes a savepoint or a retained checkpoint, `latest-savepoint:` and `latest-checkpoint:` only that
 * kind. Candidates are every run of the name (or the one job of an id) and, following restored-from, the runs
 * they were restored from, so a deploy that renamed nothing but started a fresh job id still finds its state.
 * A candidate counts only when its `_metadata` decodes and every state file matches its checksum.
 */
export type LatestKind = 'any' | 'SAVEPOINT' | 'CHECKPOINT';

const PREFIXES: readonly [string, LatestKind][] = [['latest-savepoint:', 'SAVEPOINT'], ['latest-checkpoint:', 'CHECKPOINT'], ['latest:', 'any']];

/** The parsed `latest…:` reference, or undefined for an ordinary path. */
export function parseLatestReference(spec: string): { kind: LatestKind; ref: string; prefix: string } | undefined {
  for (const [prefix, kind] of PREFIXES) {
    if (spec.startsWith(prefix)) {
      const ref = spec.slice(prefix.length).trim();
      if (ref === '') throw new FlinkError('invalid-argument', `'${spec}' names no job: use ${prefix}<jobId|jobName>`);
      return { kind, ref, prefix };
    }
  }
  return undefined;
}

export interface LatestSnapshot {
  path: string;
  kind: 'CHECKPOINT' | 'SAVEPOINT';
  jobId: string;
  jobName: string;
  checkpointId: number;
  triggerTime: number;
}

/**
 * `cluster`: the REST URL of the Apache Flink cluster the restore goes to (`run -m … job.jar`). Then only that
 * cluster's jobs are candidates, taken as the catalog recorded them from the cluster: their files are the
 * cluster's, in its format and maybe on its machine, so it checks them when it restores. Without it, jobs of a
 * remote cluster are no candidates: the mini-cluster cannot read Flink's snapshots.
 */
export function resolveLatest(
  index: CheckpointIndex, spec: string, onDamaged: (path: string, why: string) => void = () => {}, opts: { cluster?: string } = {},
): LatestSnapshot {
  const parsed = parseLatestReference(spec);
  if (!parsed) throw new FlinkError('invalid-argument', `'${spec}' is not a latest:, latest-savepoint: or latest-checkpoint: reference`);
  const direct = jobsReferencedBy(index, parsed.ref);
  const running = direct.filter(isRunning);
  if (running.length > 1) throw ambiguous(parsed.ref, running);

  const jobs = new Map<string, JobRecord>(direct.map((j) => [j.jobId, j]));
  const extraPaths = new Set<string>();
  // Follow restored-from back through earlier runs (a cycle cannot loop: each job is visited once).
  const queue = [...direct];
  while (queue.length > 0) {
    const j = queue.shift()!;
    if (!j.restoredFrom) continue;
    const row = index.findSnapshotByPath(j.restoredFrom);
    const origin = row ? index.getJob(row.jobId) : undefined;
    if (origin && !jobs.has(origin.jobId)) {
      jobs.set(origin.jobId, origin);
      queue.push(origin);
    }
    if (!row) extraPaths.add(j.restoredFrom); // restored from a folder the catalog never indexed
  }

  const wanted = (k: 'CHECKPOINT' | 'SAVEPOINT') => parsed.kind === 'any' || parsed.kind === k;
  const candidates: LatestSnapshot[] = [];
  for (const j of jobs.values()) {
    const fromCluster = j.pid === null && j.restUrl !== null && j.restUrl === opts.cluster;
    if (opts.cluster !== undefined ? !fromCluster : isRemoteJob(j)) continue;
    for (const r of index.listSnapshots({ jobId: j.jobId, status: 'COMPLETED' }) as SnapshotRecord[]) {
      if (wanted(r.kind)) candidates.push({ path: r.path, kind: r.kind, jobId: r.jobId, jobName: j.name, checkpointId: r.checkpointId, triggerTime: r.triggerTime });
    }
  }
  if (opts.cluster !== undefined) extraPaths.clear(); // not in the catalog: nothing to vouch for them
  for (const p of extraPaths) {
    try {
      const md = loadSnapshot(p).metadata;
      if (wanted(md.kind)) candidates.push({ path: p, kind: md.kind, jobId: md.jobId, jobName: md.jobName, checkpointId: md.checkpointId, triggerTime: md.triggerTimestamp });
    } catch {
      /* gone or damaged: not a candidate */
    }
  }
  candidates.sort((a, b) => b.triggerTime - a.triggerTime || b.checkpointId - a.checkpointId);
  for (const c of candidates) {
    if (opts.cluster !== undefined) return c;
    if (!CheckpointStorage.isComplete(c.path)) continue; // removed since it was recorded
    try {
      verifySnapshotFiles(loadSnapshot(c.path));
      return c;
    } catch (e) {
      onDamaged(c.path, describeError(e));
    }
  }
  const what = parsed.kind === 'SAVEPOINT' ? 'savepoint' : parsed.kind === 'CHECKPOINT' ? 'retained checkpoint' : 'savepoint or retained checkpoint';
  const whose = direct.length === 1 && direct[0]!.jobId.startsWith(parsed.ref.toLowerCase()) ? `job ${direct[0]!.jobId}` : `job name '${parsed.ref}' (${direct.length} run(s))`;
  throw new FlinkError('not-found', `Nothing to restore for '${spec}': ${whose} has no intact ${what} in the catalog ${index.path}`);
}

/** A job recorded from a cluster reached with -m (no process of ours, a REST URL): see RemoteJobs.isRemoteRecord. */
function isRemoteJob(j: JobRecord): boolean {
  return j.pid === null && j.restUrl !== null;
}
