import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { disposeSavepoint as disposeLocally, type DisposalResult } from '../checkpoint/SavepointDisposal.js';
import { stripFileScheme } from '../checkpoint/Metadata.js';
import { FlinkTsOptions } from '../config/ConfigOptions.js';
import type { Configuration } from '../config/Configuration.js';
import { FlinkError, isFlinkError } from '../core/FlinkError.js';
import { isJobId } from '../core/ids.js';
import { isGloballyTerminal, type JobStatus } from '../core/JobStatus.js';
import type { CheckpointIndex, IndexedJobStatus, JobRecord } from '../catalog/CheckpointIndex.js';
import type { AsyncOperationStatus } from '../rest/Dispatcher.js';
import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import type { CheckpointType } from '../checkpoint/CheckpointOptions.js';
import { RestClient } from '../rest/RestClient.js';
import { abandonInProgress } from './AbandonedSnapshots.js';
import { isRemoteRecord, markRemoteDisposed, recordRemoteJob, recordRemoteSnapshot, syncRemoteCheckpoints } from './RemoteJobs.js';

/** One job as `flink list` reports it. */
export interface ListedJob extends Pick<JobRecord, 'jobId' | 'name' | 'status' | 'startTime' | 'endTime' | 'restUrl' | 'pid' | 'logFile' | 'failureCause' | 'checkpointStorage'> {
  /** Its cluster process was found dead during this listing; the index now says FAILED. */
  lost: boolean;
  /** The endpoint did not answer but the process is alive (or unknown): status is the index's last word. */
  stale: boolean;
  /** Where the job would recover from (CheckpointIndex.recoveryPoint): its newest intact checkpoint, or what it was restored from. */
  latestCheckpoint: string | null;
  /** Checkpoints failed since the last completed one, and the newest failure's cause. */
  checkpointFailures: number;
  lastCheckpointFailure: string | null;
  /** Restarts so far (Flink's numRestarts), when its cluster answered with it. */
  numRestarts?: number;
}

export interface ClusterClientOptions {
  config: Configuration;
  /** Needed unless `jobmanager` is given; with it, where snapshots of a remote (Apache Flink) cluster's jobs are recorded. */
  index?: CheckpointIndex;
  /** Flink's -m: "host:port" or a URL; every request then goes there instead of the index's endpoints. */
  jobmanager?: string;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  /** How long to wait for an asynchronous operation (savepoint, stop, disposal) to complete: Flink's client.timeout. */
  operationTimeoutMs?: number;
  /** Poll interval bounds for asynchronous operations. */
  pollIntervalMs?: { min: number; max: number };
  /** Liveness test for recorded cluster pids; replaceable in tests. */
  isProcessAlive?: (pid: number) => boolean;
}

// Flink's client.timeout default; savepoints of small local jobs take well under this.
export const DEFAULT_OPERATION_TIMEOUT_MS = 60_000;


/** Validates a job id argument like Flink's JobID.fromHexString. */
export function parseJobId(s: string | undefined): string {
  if (s === undefined || s === '') throw new FlinkError('invalid-argument', 'Missing JobID');
  const id = s.trim().toLowerCase();
  if (!isJobId(id)) {
    throw new FlinkError('invalid-argument',
      `Cannot parse JobID from "${s}". The expected format is [0-9a-fA-F]{32}, e.g. fd72014d4c864993a2e5a9287b4a9c5d.`);
  }
  return id;
}

/** Flink prints snapshot locations as file: URIs. */
export function asFileUri(location: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(location)) return location;
  return `file:${location}`;
}

export function defaultIsProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A killed process stays a zombie until reaped; it will never answer again.
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    } catch {
      /* no procfs: trust kill(0) */
    }
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What the job-control verbs (list, savepoint, cancel, stop) use: finds each job's JobManager through the
 * index (or -m), talks REST to it, and notices clusters that died without recording it.
 */
export class ClusterClient {
  private readonly config: Configuration;
  private readonly index: CheckpointIndex | undefined;
  private readonly jobmanager: RestClient | undefined;
  private readonly requestTimeoutMs: number | undefined;
  private readonly operationTimeoutMs: number;
  private readonly poll: { min: number; max: number };
  private readonly isAlive: (pid: number) => boolean;

  private readonly token: string | undefined;

  constructor(opts: ClusterClientOptions) {
    this.config = opts.config;
    this.token = opts.config.getOptional(FlinkTsOptions.REST_AUTH_TOKEN);
    this.index = opts.index;
    this.requestTimeoutMs = opts.requestTimeoutMs;
    this.jobmanager = opts.jobmanager !== undefined
      ? new RestClient(opts.jobmanager, { timeoutMs: opts.requestTimeoutMs, token: this.token })
      : undefined;
    this.operationTimeoutMs = opts.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    this.poll = opts.pollIntervalMs ?? { min: 25, max: 500 };
    this.isAlive = opts.isProcessAlive ?? defaultIsProcessAlive;
  }

  /**
   * Jobs for `flink list`. With -m: what that JobManager knows. Otherwise every job of the index; non-terminal
   * ones are asked live, and those whose endpoint is silent and whose process is dead are marked FAILED.
   * Without `all`, terminated jobs are left out, except ones found lost just now (so the user learns of it).
   */
  async listJobs(opts: { all?: boolean } = {}): Promise<ListedJob[]> {
    if (this.jobmanager) {
      const rest = this.jobmanager;
      const jobs = (await rest.listJobs()).filter((j) => opts.all || !isGloballyTerminal(j.status));
      return Promise.all(jobs.map(async (j): Promise<ListedJob> => {
        // Jobs the catalog already knows from this cluster: their periodic checkpoints are recorded as we pass by.
        const known = this.index?.getJob(j.id);
        if (this.index && known && isRemoteRecord(known)) {
          await recordRemoteJob(this.index, rest, j.id);
          await syncRemoteCheckpoints(this.index, rest, j.id);
        }
        // The restart count of a running job, as Flink reports it: its numRestarts metric.
        const numRestarts = isGloballyTerminal(j.status) ? undefined : await rest.numRestarts(j.id).catch(() => undefined);
        return {
          jobId: j.id, name: j.name, status: j.status, startTime: j.startTime,
          endTime: j.endTime > 0 ? j.endTime : null, restUrl: rest.baseUrl, pid: null, logFile: null,
          failureCause: null, lost: false, stale: false, latestCheckpoint: null, checkpointFailures: 0, lastCheckpointFailure: null,
          ...(numRestarts !== undefined ? { numRestarts } : {}),
        };
      }));
    }
    const index = this.requireIndex();
    const records = index.listJobs();
    const withCheckpoints = (j: ListedJob): ListedJob => {
      const f = index.checkpointFailures(j.jobId);
      return { ...j, latestCheckpoint: index.recoveryPoint(j.jobId) ?? null, checkpointFailures: f.count, lastCheckpointFailure: f.last };
    };
    const out = await Promise.all(records.map(async (r): Promise<ListedJob | undefined> => {
      const terminal = r.status !== 'UNKNOWN' && isGloballyTerminal(r.status);
      if (terminal) return opts.all ? fromRecord(r) : undefined;
      if (r.status === 'UNKNOWN' && r.restUrl === null && r.pid === null) {
        // Rebuilt from snapshot folders: nothing to ask, nothing to declare lost.
        return opts.all ? fromRecord(r) : undefined;
      }
      const live = await this.liveStatus(r);
      // A remote job's own periodic checkpoints (and what its cluster subsumed since) are recorded as we pass by.
      if (live && isRemoteRecord(r)) await syncRemoteCheckpoints(index, new RestClient(r.restUrl!, { timeoutMs: this.requestTimeoutMs ?? 3_000, token: this.token }), r.jobId);
      if (live) return { ...fromRecord(r), status: live.status, endTime: live.endTime > 0 ? live.endTime : r.endTime, ...(live.numRestarts !== undefined ? { numRestarts: live.numRestarts } : {}) };
      if (r.pid !== null && !this.isAlive(r.pid)) {
        const { record, lost } = this.markLost(r);
        // Ended on its own while we asked: an ordinary terminated job, not a lost one.
        if (!lost && record.status !== 'UNKNOWN' && isGloballyTerminal(record.status)) return opts.all ? fromRecord(record) : undefined;
        return { ...fromRecord(record), lost };
      }
      return { ...fromRecord(r), stale: r.restUrl !== null };
    }));
    this.recordRemoteEnds(records, out);
    return out.filter((j): j is ListedJob => j !== undefined).map(withCheckpoints);
  }

  /**
   * The REST client for a job's JobManager. Unknown job → not-found; a job that already ended → conflict,
   * since there is no cluster left to ask.
   */
  endpointFor(jobId: string): RestClient {
    const id = parseJobId(jobId);
    if (this.jobmanager) return this.jobmanager;
    const r = this.requireIndex().getJob(id);
    if (!r) throw new FlinkError('not-found', `Job ${id} not found`);
    if (r.status !== 'UNKNOWN' && isGloballyTerminal(r.status)) this.terminatedError(r);
    if (r.restUrl === null) {
      if (r.pid !== null && !this.isAlive(r.pid)) this.lostOrTerminatedError(this.markLost(r));
      throw new FlinkError('unreachable', `Job ${id} has no recorded REST endpoint${r.pid !== null ? ` (cluster process ${r.pid} is starting or stuck)` : ''}`);
    }
    return new RestClient(r.restUrl, { timeoutMs: this.requestTimeoutMs, token: this.token });
  }

  /** Triggers a savepoint and waits for it; returns its location as a file: URI. */
  async triggerSavepoint(
    jobId: string, targetDir?: string, opts: { cancelJob?: boolean; formatType?: SavepointFormatType } = {},
  ): Promise<string> {
    const id = parseJobId(jobId);
    return this.withJob(id, async (rest) => {
      const target = await this.checkJobThenTarget(rest, id, targetDir);
      const since = Date.now();
      const trigger = await rest.triggerSavepoint(id, { targetDirectory: target, cancelJob: opts.cancelJob ?? false, formatType: opts.formatType });
      const s = await this.awaitSavepoint(id, since, opts.cancelJob ?? false, () => rest.savepointStatus(id, trigger));
      if ('failureCause' in s) {
        throw new FlinkError(s.failureKind ?? 'job-failed', `Failed to trigger a savepoint for the job ${id}: ${s.failureCause}`);
      }
      await this.recordIfRemote(rest, id, s.location, 'SAVEPOINT');
      if (opts.cancelJob) await this.recordEndIfRemote(rest, id);
      return asFileUri(s.location);
    });
  }

  /** `savepoint --detached`: triggers a savepoint and returns its trigger id without waiting. */
  async triggerSavepointDetached(jobId: string, targetDir?: string, opts: { formatType?: SavepointFormatType } = {}): Promise<string> {
    const id = parseJobId(jobId);
    return this.withJob(id, async (rest) => {
      const target = await this.checkJobThenTarget(rest, id, targetDir);
      return rest.triggerSavepoint(id, { targetDirectory: target, cancelJob: false, formatType: opts.formatType });
    });
  }

  /**
   * The result of an earlier savepoint trigger (`savepoint --trigger-id`): waits up to client.timeout for it, or
   * with `wait: false` reports IN_PROGRESS at once. A failed savepoint is an error with the cluster's root cause.
   */
  async savepointResult(jobId: string, triggerId: string, opts: { wait?: boolean } = {}): Promise<{ status: 'IN_PROGRESS' } | { status: 'COMPLETED'; location: string }> {
    const id = parseJobId(jobId);
    if (!/^[0-9a-f]{32}$/i.test(triggerId.trim())) {
      throw new FlinkError('invalid-argument', `Cannot parse trigger id "${triggerId}": expected 32 hex characters, as printed by savepoint --detached`);
    }
    return this.withJob(id, async (rest) => {
      const poll = () => rest.savepointStatus(id, triggerId.trim().toLowerCase());
      const s = opts.wait === false ? await poll() : await this.waitFor(poll);
      if (s.status === 'IN_PROGRESS') return s;
      if ('failureCause' in s) throw new FlinkError('job-failed', `The savepoint ${triggerId} of job ${id} failed: ${s.failureCause}`);
      await this.recordIfRemote(rest, id, s.location, 'SAVEPOINT');
      return { status: 'COMPLETED', location: asFileUri(s.location) };
    });
  }

  /** `flink checkpoint`: triggers a checkpoint of the given type and waits until it is complete. */
  async triggerCheckpoint(jobId: string, checkpointType: CheckpointType): Promise<{ checkpointId: number; location: string }> {
    const id = parseJobId(jobId);
    return this.withJob(id, async (rest) => {
      if (this.jobmanager) {
        const d = await rest.jobDetails(id);
        if (isGloballyTerminal(d.status)) throw new FlinkError('conflict', `Job ${id} has already terminated with status ${d.status}`);
      }
      const trigger = await rest.triggerCheckpoint(id, checkpointType);
      const s = await this.waitFor(() => rest.checkpointStatus(id, trigger));
      if ('failureCause' in s) throw new FlinkError(s.failureKind ?? 'job-failed', `Failed to trigger a checkpoint for the job ${id}: ${s.failureCause}`);
      // Apache Flink answers with the id only; its checkpoint statistics know the path.
      const location = s.location !== '' ? s.location : await checkpointPathFromStats(rest, id, s.checkpointId);
      await this.recordIfRemote(rest, id, location, 'CHECKPOINT', s.checkpointId);
      return { checkpointId: s.checkpointId ?? -1, location: location === '' ? '' : asFileUri(location) };
    });
  }

  /** Cancels a job; waits (bounded) until the cluster reports it terminal or goes away. */
  async cancel(jobId: string): Promise<void> {
    const id = parseJobId(jobId);
    await this.withJob(id, async (rest) => {
      await rest.cancelJob(id);
      const deadline = Date.now() + Math.min(this.operationTimeoutMs, 10_000);
      for (let delay = this.poll.min; Date.now() < deadline; delay = Math.min(delay * 2, this.poll.max)) {
        try {
          if (isGloballyTerminal((await rest.jobDetails(id)).status)) break;
        } catch {
          return; // the per-job cluster shuts down once its job has ended
        }
        await sleep(delay);
      }
      if (this.isRemote(id) && this.index) {
        await recordRemoteJob(this.index, rest, id);
        // What the cluster retained at the end (an externalized checkpoint kept on cancellation) becomes restorable.
        await syncRemoteCheckpoints(this.index, rest, id);
      }
    });
  }

  /** Stop-with-savepoint: returns the savepoint location as a file: URI. */
  async stopWithSavepoint(jobId: string, targetDir?: string, drain = false, formatType?: SavepointFormatType): Promise<string> {
    const id = parseJobId(jobId);
    return this.withJob(id, async (rest) => {
      const target = await this.checkJobThenTarget(rest, id, targetDir);
      const since = Date.now();
      const trigger = await rest.stopWithSavepoint(id, { targetDirectory: target, drain, formatType });
      const s = await this.awaitSavepoint(id, since, true, () => rest.savepointStatus(id, trigger));
      if ('failureCause' in s) {
        throw new FlinkError(s.failureKind ?? 'job-failed', `Could not stop with a savepoint job "${id}": ${s.failureCause}`);
      }
      await this.recordIfRemote(rest, id, s.location, 'SAVEPOINT');
      await this.recordEndIfRemote(rest, id);
      return asFileUri(s.location);
    });
  }

  /** Acknowledged subtasks of the job's newest savepoint in progress, from its checkpoint statistics (progress display). */
  async savepointProgress(jobId: string): Promise<{ acknowledged: number; total: number } | undefined> {
    const id = parseJobId(jobId);
    const stats = await this.endpointFor(id).checkpointStats(id);
    const p = stats.history?.find((h) => h.is_savepoint && h.status === 'IN_PROGRESS');
    return p ? { acknowledged: p.num_acknowledged_subtasks, total: p.num_subtasks } : undefined;
  }

  /**
   * Disposes a savepoint: through the JobManager given with -m, or else right here (no cluster needed).
   * Returns the local disposal details when done locally.
   */
  async disposeSavepoint(path: string): Promise<DisposalResult | undefined> {
    if (!this.jobmanager) return disposeLocally(path, this.index);
    const rest = this.jobmanager;
    // As Flink's CLI: the path goes to the cluster as given, which resolves it (any scheme its file systems know).
    const trigger = await rest.disposeSavepoint(path);
    const s = await this.waitFor(() => rest.disposalStatus(trigger));
    if ('failureCause' in s) throw new FlinkError(s.failureKind ?? 'job-failed', `Failed to dispose the savepoint '${path}': ${s.failureCause}`);
    if (this.index) markRemoteDisposed(this.index, path);
    return undefined;
  }

  /**
   * The savepoint target as the cluster should see it. The client resolves, defaults and creates nothing:
   * the cluster's CheckpointStorage does, on its own machine and with its own `state.savepoints.dir` (as
   * Flink's client does; with -m the cluster may run elsewhere and the target be `s3://…`). Only a local
   * path is made absolute, since the cluster runs in another working directory.
   */
  static savepointTargetForCluster(targetDir: string | undefined): string | undefined {
    if (targetDir === undefined || targetDir === '') return undefined;
    const local = !/^[a-z][a-z0-9+.-]+:/i.test(targetDir) || /^file:/i.test(targetDir);
    return local ? resolve(stripFileScheme(targetDir)) : targetDir;
  }

  // ---- internals ----

  /**
   * An unknown or finished job is the first thing to report, before any complaint about the target directory;
   * with -m only the JobManager knows its jobs, so ask it.
   */
  private async checkJobThenTarget(rest: RestClient, jobId: string, targetDir: string | undefined): Promise<string | undefined> {
    if (this.jobmanager) {
      const d = await rest.jobDetails(jobId);
      if (isGloballyTerminal(d.status)) throw new FlinkError('conflict', `Job ${jobId} has already terminated with status ${d.status}`);
    }
    // A remote cluster resolves the target itself, as Flink's CLI leaves it (relative, s3://, …); none: its own default.
    if (this.isRemote(jobId)) return targetDir === undefined || targetDir === '' ? undefined : targetDir;
    return ClusterClient.savepointTargetForCluster(targetDir);
  }

  /** The job runs on a cluster that is not one of our processes: given with -m, or recorded so by an earlier -m. */
  private isRemote(jobId: string): boolean {
    if (this.jobmanager) return true;
    const r = this.index?.getJob(jobId);
    return r !== undefined && isRemoteRecord(r);
  }

  /** Remote jobs that the listing found ended (cancelled from elsewhere, finished) say so in the index too. */
  private recordRemoteEnds(records: readonly JobRecord[], listed: ReadonlyArray<ListedJob | undefined>): void {
    for (const j of listed) {
      const r = j && records.find((x) => x.jobId === j.jobId);
      if (!j || !r || !isRemoteRecord(r) || j.status === 'UNKNOWN' || !isGloballyTerminal(j.status) || r.status === j.status) continue;
      try {
        this.index?.updateJob(j.jobId, { status: j.status, endTime: j.endTime ?? Date.now() });
      } catch { /* best effort */ }
    }
  }

  /** A remote job that is ending (stop, cancel): waits a little for its final status and records it. */
  private async recordEndIfRemote(rest: RestClient, jobId: string): Promise<void> {
    if (!this.index || !this.isRemote(jobId)) return;
    const deadline = Date.now() + Math.min(this.operationTimeoutMs, 10_000);
    for (let delay = this.poll.min; Date.now() < deadline; delay = Math.min(delay * 2, this.poll.max)) {
      try {
        if (isGloballyTerminal((await rest.jobDetails(jobId)).status)) break;
      } catch {
        return;
      }
      await sleep(delay);
    }
    await recordRemoteJob(this.index, rest, jobId);
    await syncRemoteCheckpoints(this.index, rest, jobId);
  }

  private async recordIfRemote(rest: RestClient, jobId: string, location: string, kind: 'CHECKPOINT' | 'SAVEPOINT', checkpointId?: number): Promise<void> {
    if (!this.index || !this.isRemote(jobId)) return;
    await recordRemoteSnapshot(this.index, rest, jobId, location, kind, checkpointId);
    await syncRemoteCheckpoints(this.index, rest, jobId);
  }

  /**
   * `flink checkpoints|savepoints -m`: records what the cluster's checkpoint statistics say about these jobs
   * (ones the catalog knows from this cluster, or named by id) before the catalog is read.
   */
  async syncRemote(jobIds: readonly string[]): Promise<void> {
    if (!this.index || !this.jobmanager) return;
    await Promise.all(jobIds.map((id) => syncRemoteCheckpoints(this.index!, this.jobmanager!, id)));
  }

  /**
   * Waits for a savepoint. When the job ends with it (stop, cancel-with-savepoint) its cluster may exit before
   * we see the result; the index then still tells us where the savepoint went.
   */
  private async awaitSavepoint(
    jobId: string, since: number, jobEnds: boolean, poll: () => Promise<AsyncOperationStatus>,
  ): Promise<Exclude<AsyncOperationStatus, { status: 'IN_PROGRESS' }>> {
    try {
      return await this.waitFor(poll);
    } catch (e) {
      if (!jobEnds || !isFlinkError(e) || e.kind !== 'unreachable' || !this.index) throw e;
      // The cluster ended before we read the result: only an unambiguous savepoint may be reported.
      const r = this.index.getJob(jobId);
      const candidates = this.index.listSnapshots({ jobId, kind: 'SAVEPOINT', status: 'COMPLETED' }).filter((x) => x.triggerTime >= since - 1_000);
      if (r && r.status !== 'UNKNOWN' && isGloballyTerminal(r.status) && candidates.length === 1) return { status: 'COMPLETED', location: candidates[0].path };
      if (candidates.length > 1) {
        throw new FlinkError('unreachable', `The cluster of job ${jobId} ended before reporting which savepoint was this request's; completed savepoints since the request: ${candidates.map((c) => c.path).join(', ')}`);
      }
      throw e;
    }
  }

  private requireIndex(): CheckpointIndex {
    if (!this.index) throw new FlinkError('internal', 'ClusterClient needs an index or a JobManager address');
    return this.index;
  }

  /** Runs a request against the job's endpoint; a silent endpoint with a dead process marks the job lost. */
  private async withJob<T>(jobId: string, fn: (rest: RestClient) => Promise<T>): Promise<T> {
    const rest = this.endpointFor(jobId);
    try {
      return await fn(rest);
    } catch (e) {
      if (isFlinkError(e) && e.kind === 'unreachable' && !this.jobmanager && this.index) {
        const r = this.index.getJob(jobId);
        if (r && r.pid !== null && !this.isAlive(r.pid) && !(r.status !== 'UNKNOWN' && isGloballyTerminal(r.status))) {
          this.lostOrTerminatedError(this.markLost(r));
        }
      }
      throw e;
    }
  }

  private async liveStatus(r: JobRecord): Promise<{ status: JobStatus; endTime: number; numRestarts?: number } | undefined> {
    if (r.restUrl === null) return undefined;
    try {
      const d = await new RestClient(r.restUrl, { timeoutMs: this.requestTimeoutMs ?? 3_000, token: this.token }).jobDetails(r.jobId);
      return { status: d.status, endTime: d.endTime, numRestarts: d.numRestarts };
    } catch {
      // Silent, or a different cluster now answering on that port: either way not this job's JobManager.
      return undefined;
    }
  }

  /**
   * Records a job whose cluster process is gone as FAILED, unless the index meanwhile says it ended on its own
   * (a cluster writes FINISHED and exits between our read and this write): `lost` tells which happened.
   */
  private markLost(r: JobRecord): { record: JobRecord; lost: boolean } {
    const failureCause = `cluster process ${r.pid} is gone`;
    const patch = { status: 'FAILED' as const, endTime: Date.now(), failureCause };
    try {
      const index = this.requireIndex();
      const { ended, record } = index.endJobUnlessTerminal(r.jobId, patch);
      if (!ended && record) return { record, lost: false };
      abandonInProgress(index, r.jobId, `abandoned: ${failureCause}`);
    } catch {
      // Still report it; the next listing retries the bookkeeping.
    }
    return { record: { ...r, ...patch }, lost: true };
  }

  private lostOrTerminatedError(m: { record: JobRecord; lost: boolean }): never {
    if (!m.lost) this.terminatedError(m.record);
    throw new FlinkError('unreachable',
      `Job ${m.record.jobId} is lost: ${m.record.failureCause}${m.record.logFile ? `; see its log ${m.record.logFile}` : ''}`);
  }

  private terminatedError(r: JobRecord): never {
    throw new FlinkError('conflict', `Job ${r.jobId} has already terminated with status ${r.status}${r.failureCause ? ` (${r.failureCause})` : ''}`);
  }

  /** Polls an asynchronous operation with backoff until it completes or the operation timeout passes. */
  private async waitFor(poll: () => Promise<AsyncOperationStatus>): Promise<Exclude<AsyncOperationStatus, { status: 'IN_PROGRESS' }>> {
    const deadline = Date.now() + this.operationTimeoutMs;
    for (let delay = this.poll.min; ; delay = Math.min(delay * 2, this.poll.max)) {
      const s = await poll();
      if (s.status !== 'IN_PROGRESS') return s;
      if (Date.now() >= deadline) {
        throw new FlinkError('job-failed', `The operation did not complete within ${formatTimeout(this.operationTimeoutMs)} (client.timeout)`);
      }
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    }
  }
}

function fromRecord(r: JobRecord): ListedJob {
  return {
    jobId: r.jobId, name: r.name, status: r.status, startTime: r.startTime, endTime: r.endTime, restUrl: r.restUrl,
    pid: r.pid, logFile: r.logFile, failureCause: r.failureCause, checkpointStorage: r.checkpointStorage ?? null, lost: false, stale: false,
    latestCheckpoint: null, checkpointFailures: 0, lastCheckpointFailure: null,
  };
}

/** external_path of a checkpoint in the job's statistics (history or latest), or '' when they do not list it. */
async function checkpointPathFromStats(rest: RestClient, jobId: string, checkpointId: number | undefined): Promise<string> {
  if (checkpointId === undefined) return '';
  try {
    const stats = (await rest.checkpointStats(jobId)) as unknown as { history?: { id?: number; external_path?: string }[]; latest?: { completed?: { id?: number; external_path?: string } | null } };
    const e = [...(stats.history ?? []), ...(stats.latest?.completed ? [stats.latest.completed] : [])].find((x) => x.id === checkpointId);
    return typeof e?.external_path === 'string' ? e.external_path : '';
  } catch {
    return '';
  }
}

function formatTimeout(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
