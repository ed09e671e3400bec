import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { disposeSavepoint } from '../checkpoint/SavepointDisposal.js';
import { isJobManagerLocation, resolveSavepointTarget } from '../checkpoint/CheckpointStorage.js';
import { loadSnapshot, stripFileScheme, verifySnapshotFiles } from '../checkpoint/Metadata.js';
import type { Configuration } from '../config/Configuration.js';
import {
  CheckpointingOptions, CoreOptions, FlinkTsOptions, PipelineOptions, RestOptions, StateRecoveryOptions, TaskManagerOptions, parsePortSpec,
} from '../config/ConfigOptions.js';
import { FlinkError, isFlinkError } from '../core/FlinkError.js';
import { newJobId, randomHex } from '../core/ids.js';
import { isGloballyTerminal } from '../core/JobStatus.js';
import type { Logger } from '../core/Logger.js';
import { buildJobGraph } from '../graph/JobGraph.js';
import type { StreamGraph } from '../graph/StreamGraph.js';
import type { CheckpointIndex, JobRecord } from '../catalog/CheckpointIndex.js';
import type { CheckpointType } from '../checkpoint/CheckpointOptions.js';
import type { AsyncOperationStatus, CheckpointConfig, Dispatcher, JobDetails, JobSummary, SubtaskMetrics } from '../rest/Dispatcher.js';
import type { CheckpointStats, CheckpointStatsEntry } from '../checkpoint/CheckpointStatsTracker.js';
import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import { RestServer } from '../rest/RestServer.js';
import { JobMaster } from './JobMaster.js';

export const FLINK_VERSION = '1.20.0-flink-ts';

/**
 * The port(s) the REST endpoint binds: rest.bind-port, else rest.port when the configuration sets it (Flink's
 * fallback, which pins a detached job at a known address such as 8081 for Flink's CLI, the operator's
 * clients or curl), else 0: any free port, since every `flink run` starts a cluster of its own.
 */
export function restBindPort(config: Configuration): string {
  if (config.contains(RestOptions.BIND_PORT)) return config.get(RestOptions.BIND_PORT);
  if (config.contains(RestOptions.PORT)) return String(config.get(RestOptions.PORT));
  return '0';
}

/**
 * Host names the REST endpoint answers to besides IP literals and localhost: rest.address, this machine's
 * host name (Flink's usual rest.address) and the names in rest.allowed-hosts (a proxy's or a Kubernetes
 * service's name).
 */
export function allowedRestHosts(config: Configuration): string[] {
  const extra = (config.getOptional(FlinkTsOptions.REST_ALLOWED_HOSTS) ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  return [config.get(RestOptions.ADDRESS), hostname(), ...extra];
}

/** Flink's exception class for a checkpoint or savepoint that could not be taken. */
const CHECKPOINT_EXCEPTION = 'org.apache.flink.runtime.checkpoint.CheckpointException';
const JOB_NOT_FOUND_EXCEPTION = 'org.apache.flink.runtime.messages.FlinkJobNotFoundException';

interface Operation {
  jobId?: string;
  kind: 'savepoint' | 'checkpoint' | 'disposal';
  status: AsyncOperationStatus;
  /** Its result was fetched once (the endpoint waits for that before the cluster exits). */
  read: boolean;
}

/** Keys whose values Flink hides in its configuration answers (GlobalConfiguration.isSensitive, and ours). */
const SENSITIVE_KEY = /password|secret|token|apikey|api-key|service-key|account\.key|jaas\.config|auth-params|basic-auth|http-headers/i;

const operationKey = (jobId: string | undefined, triggerId: string) => `${jobId ?? '-'}/${triggerId.toLowerCase()}`;

export interface SubmitOptions {
  jobId?: string;
  jobFile: string;
  programArgs: string[];
  savepointPath?: string;
  allowNonRestoredState?: boolean;
  logFile?: string;
  stdout: (text: string) => void;
  /** What the submission is doing, for a progress display (a restore may take a while). */
  onProgress?: (what: string) => void;
}

/**
 * The local cluster of one `flink run`: JobManager (Dispatcher, JobMaster, REST endpoint) in this
 * process, task slots in worker threads. It records the job and its REST address in the index, which is
 * how other CLI processes find it.
 */
export class MiniCluster implements Dispatcher {
  readonly flinkVersion = FLINK_VERSION;
  private readonly jobs = new Map<string, JobMaster>();
  /** Asynchronous operations by job and trigger id (Flink's AsynchronousJobOperationKey). */
  private readonly triggers = new Map<string, Operation>();
  private rest?: RestServer;
  restUrl?: string;

  constructor(
    private readonly config: Configuration,
    private readonly index: CheckpointIndex | undefined,
    private readonly log: Logger,
    /** Ports to the client layer: what to do after a job's periodic savepoint (retention, see JobRunner). */
    private readonly hooks: { afterPeriodicSavepoint?: (jobId: string, location: string) => Promise<void> | void } = {},
  ) {
    // The index file was deleted or replaced under a running cluster: its jobs must stay findable.
    index?.onReopen(() => {
      this.log.warn(`The index ${index.path} was deleted or replaced; rebuilt it and registered this cluster's jobs again.`);
      for (const [jobId, jm] of this.jobs) this.registerJob(jobId, jm);
    });
  }

  private readonly registrations = new Map<string, Omit<JobRecord, 'status' | 'endTime' | 'failureCause'>>();

  private registerJob(jobId: string, jm: JobMaster): void {
    const r = this.registrations.get(jobId);
    if (!r) return;
    const terminal = isGloballyTerminal(jm.status);
    this.safeIndex(() => this.index?.upsertJob({ ...r, status: jm.status, endTime: terminal ? jm.endTime : null, failureCause: jm.failureCause ?? null }));
  }

  /** Starts the REST endpoint on loopback (rest.bind-address / rest.bind-port). */
  async startRestEndpoint(): Promise<string> {
    const host = this.config.get(RestOptions.BIND_ADDRESS);
    const ranges = parsePortSpec(restBindPort(this.config));
    let lastError: unknown;
    for (const [lo, hi] of ranges) {
      for (let port = lo; port <= hi; port++) {
        const server = new RestServer(this, {
          host, port, log: (l) => this.log.warn(l),
          authToken: this.config.getOptional(FlinkTsOptions.REST_AUTH_TOKEN), allowedHosts: allowedRestHosts(this.config),
        });
        try {
          this.restUrl = await server.start();
          this.rest = server;
          this.log.info(`Rest endpoint listening at ${this.restUrl}`);
          return this.restUrl;
        } catch (e) {
          lastError = e;
        }
      }
    }
    throw lastError instanceof Error ? lastError : new FlinkError('io', 'Could not start the REST endpoint');
  }

  /** Builds the JobGraph, maps restored state, records the job in the index and deploys it. */
  async submitJob(graph: StreamGraph, o: SubmitOptions): Promise<JobMaster> {
    const jobId = o.jobId ?? newJobId();
    const jobGraph = buildJobGraph(graph, {
      parallelism: this.config.get(CoreOptions.DEFAULT_PARALLELISM),
      maxParallelism: this.config.get(PipelineOptions.MAX_PARALLELISM),
      checkpointInterval: this.config.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL),
    });
    let restore: { snapshot: ReturnType<typeof loadSnapshot>; allowNonRestoredState: boolean } | undefined;
    if (o.savepointPath) {
      o.onProgress?.(`verifying the checksums of ${o.savepointPath}`);
      const snapshot = loadSnapshot(o.savepointPath);
      verifySnapshotFiles(snapshot);
      o.onProgress?.(`deploying ${jobGraph.vertices.reduce((n, v) => n + v.parallelism, 0)} subtasks with the state of ${snapshot.metadata.operators.length} operator(s)`);
      restore = { snapshot, allowNonRestoredState: !!o.allowNonRestoredState };
      this.log.info(`Starting job ${jobId} from savepoint ${snapshot.dir} (allowNonRestoredState=${!!o.allowNonRestoredState}).`);
    }
    // Connectors check their systems before the job starts (a Kafka broker that cannot be reached fails here, in one line).
    const preflight = {
      checkpointInterval: jobGraph.checkpointInterval ?? this.config.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL),
      warn: (m: string) => this.log.warn(m),
    };
    for (const node of graph.nodes) await node.preflight?.(preflight);
    const jm = new JobMaster({
      jobId,
      jobGraph,
      jobFile: o.jobFile,
      programArgs: o.programArgs,
      config: this.config,
      restore,
      log: this.log.child('JobMaster'),
      stdout: o.stdout,
      afterPeriodicSavepoint: this.hooks.afterPeriodicSavepoint && ((location) => this.hooks.afterPeriodicSavepoint!(jobId, location)),
      onStatusChange: (status, failure) =>
        this.safeIndex(() => this.index?.updateJob(jobId, {
          status,
          endTime: isGloballyTerminal(status) ? Date.now() : null,
          failureCause: failure ?? null,
        })),
      // The folders are the truth: a catalog failure is logged, never fails a checkpoint. The catalog lists what is
      // on disk; in-memory checkpoints (JobManagerCheckpointStorage) show in REST and the log, the job row names the storage.
      onSnapshot: (e) => {
        if (isJobManagerLocation(e.type === 'upsert' ? e.snapshot.path : e.path)) return;
        this.safeIndex(() => (e.type === 'upsert' ? this.index?.upsertSnapshot(e.snapshot) : this.index?.updateSnapshot(e.path, { status: 'DISCARDED' })));
      },
    });
    this.jobs.set(jobId, jm);
    this.registrations.set(jobId, {
      jobId, name: jobGraph.jobName, startTime: jm.startTime,
      restUrl: this.restUrl ?? null, pid: process.pid, logFile: o.logFile ?? null,
      checkpointDir: jm.checkpointStorage.type === 'filesystem' && jm.checkpointStorage.explicit ? join(jm.checkpointStorage.dir, jobId) : null,
      checkpointStorage: jm.checkpointStorage.type,
      restoredFrom: restore?.snapshot.dir ?? null,
      restoreMode: restore ? this.config.get(StateRecoveryOptions.CLAIM_MODE) : null,
      savepointDir: savepointDirOf(this.config),
      cluster: null,
    });
    this.safeIndex(() => this.index?.upsertJob({ ...this.registrations.get(jobId)!, status: 'CREATED', endTime: null, failureCause: null }));
    try {
      await jm.start();
    } catch (e) {
      this.jobs.delete(jobId);
      this.safeIndex(() => this.index?.updateJob(jobId, { status: 'FAILED', endTime: Date.now(), failureCause: (e as Error).message }));
      throw e;
    }
    return jm;
  }

  private safeIndex(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.warn(`Could not update the index: ${(e as Error).message}`);
    }
  }

  private job(jobId: string): JobMaster {
    const jm = this.jobs.get(jobId);
    if (!jm) throw new FlinkError('not-found', `Job ${jobId} not found`);
    return jm;
  }

  // ------------------------------------------------------------------ Dispatcher

  listJobs(): JobSummary[] {
    return [...this.jobs.values()].map((jm) => {
      const { vertices: _v, isStoppable: _s, timestamps: _t, ...summary } = jm.details();
      return summary;
    });
  }

  jobDetails(jobId: string): JobDetails {
    return this.job(jobId).details();
  }

  vertexMetrics(jobId: string, vertexId: string): SubtaskMetrics[] | undefined {
    return this.job(jobId).vertexMetrics(vertexId);
  }

  cancelJob(jobId: string): void {
    const jm = this.job(jobId);
    if (isGloballyTerminal(jm.status)) throw new FlinkError('conflict', `Job ${jobId} is already ${jm.status}.`);
    void jm.cancel();
  }

  /**
   * The savepoint directory. As in Flink, a request without a target on a cluster without a default is refused
   * at once (400); a target that cannot be created fails the operation (202, then its failure-cause).
   */
  private savepointTarget(targetDirectory?: string): () => string {
    const configured = this.config.getOptional(CheckpointingOptions.SAVEPOINT_DIRECTORY);
    if ((targetDirectory ?? '') === '' && (configured ?? '') === '') resolveSavepointTarget(undefined, undefined);
    return () => resolveSavepointTarget(targetDirectory, configured);
  }

  /**
   * Registers an asynchronous operation under the client's trigger id (Flink's idempotent triggers: the same id
   * for the same job names the same operation, which is not started again) or a fresh one.
   */
  private startOperation(
    jobId: string | undefined, kind: 'savepoint' | 'checkpoint' | 'disposal', clientTriggerId: string | undefined,
    op: () => Promise<{ location: string; checkpointId?: number }>, failureClass?: string,
  ): string {
    const triggerId = clientTriggerId?.toLowerCase() ?? randomHex(16);
    const key = operationKey(jobId, triggerId);
    const existing = this.triggers.get(key);
    if (existing) {
      if (existing.kind !== kind) throw new FlinkError('conflict', `Trigger id ${triggerId} is already used by a ${existing.kind} operation.`);
      return triggerId;
    }
    const entry: Operation = { jobId, kind, status: { status: 'IN_PROGRESS' }, read: false };
    this.triggers.set(key, entry);
    let started: Promise<{ location: string; checkpointId?: number }>;
    try {
      started = op();
    } catch (e) {
      started = Promise.reject(e);
    }
    started.then(
      (r) => (entry.status = { status: 'COMPLETED', ...r }),
      (e: Error) => {
        const cls = isFlinkError(e) && e.kind === 'not-found' ? JOB_NOT_FOUND_EXCEPTION : failureClass;
        entry.status = { status: 'COMPLETED', failureCause: e.message, ...(cls ? { failureClass: cls } : {}), ...(isFlinkError(e) ? { failureKind: e.kind } : {}) };
      },
    );
    return triggerId;
  }

  /**
   * Flink accepts a savepoint or checkpoint request for any job id (202) and reports in the operation's result
   * why none was taken (FlinkJobNotFoundException, a job not running), not as an immediate 404 or 409.
   */
  private runningJob(jobId: string, what: string): JobMaster {
    const jm = this.jobs.get(jobId);
    if (!jm) throw new FlinkError('not-found', `Could not find Flink job (${jobId})`);
    if (jm.status !== 'RUNNING') throw new FlinkError('conflict', `Job ${jobId} is not running but ${jm.status}; cannot ${what}.`);
    return jm;
  }

  triggerSavepoint(jobId: string, opts: { targetDirectory?: string; cancelJob: boolean; formatType?: SavepointFormatType; triggerId?: string }): string {
    const target = this.savepointTarget(opts.targetDirectory);
    return this.startOperation(jobId, 'savepoint', opts.triggerId, async () => {
      const jm = this.runningJob(jobId, 'take a savepoint');
      return { location: `file:${await jm.savepoint(target(), opts.cancelJob ? 'cancel' : 'none', { formatType: opts.formatType })}` };
    }, CHECKPOINT_EXCEPTION);
  }

  stopWithSavepoint(jobId: string, opts: { targetDirectory?: string; drain: boolean; formatType?: SavepointFormatType; triggerId?: string }): string {
    const target = this.savepointTarget(opts.targetDirectory);
    return this.startOperation(jobId, 'savepoint', opts.triggerId, async () => {
      const jm = this.runningJob(jobId, 'stop it with a savepoint');
      return { location: `file:${await jm.savepoint(target(), 'stop', { drain: opts.drain, formatType: opts.formatType })}` };
    }, CHECKPOINT_EXCEPTION);
  }

  savepointStatus(jobId: string, triggerId: string): AsyncOperationStatus {
    const t = this.triggers.get(operationKey(jobId, triggerId));
    if (!t || t.kind !== 'savepoint') throw new FlinkError('not-found', `There is no savepoint operation with triggerId=${triggerId} for job ${jobId}.`);
    if (t.status.status === 'COMPLETED') t.read = true;
    return t.status;
  }

  disposeSavepoint(savepointPath: string): string {
    return this.startOperation(undefined, 'disposal', undefined, async () => {
      await disposeSavepoint(savepointPath, this.index);
      return { location: savepointPath };
    });
  }

  disposalStatus(triggerId: string): AsyncOperationStatus {
    const t = this.triggers.get(operationKey(undefined, triggerId));
    if (!t || t.kind !== 'disposal') throw new FlinkError('not-found', `There is no savepoint disposal with trigger id ${triggerId}.`);
    if (t.status.status === 'COMPLETED') t.read = true;
    return t.status;
  }

  checkpointStats(jobId: string): CheckpointStats {
    return this.job(jobId).coordinator.stats();
  }

  triggerCheckpoint(jobId: string, checkpointType: CheckpointType, triggerId?: string): string {
    return this.startOperation(jobId, 'checkpoint', triggerId, async () => {
      const jm = this.runningJob(jobId, 'trigger a checkpoint');
      const c = await jm.checkpoint(checkpointType);
      return { checkpointId: c.id, location: isJobManagerLocation(c.dir) ? c.dir : `file:${c.dir}` };
    }, CHECKPOINT_EXCEPTION);
  }

  checkpointStatus(jobId: string, triggerId: string): AsyncOperationStatus {
    const t = this.triggers.get(operationKey(jobId, triggerId));
    if (!t || t.kind !== 'checkpoint') throw new FlinkError('not-found', `There is no checkpoint operation with triggerId=${triggerId} for job ${jobId}.`);
    if (t.status.status === 'COMPLETED') t.read = true;
    return t.status;
  }

  checkpointDetails(jobId: string, checkpointId: number): CheckpointStatsEntry | undefined {
    return this.job(jobId).coordinator.checkpointDetails(checkpointId);
  }

  /** taskmanager.numberOfTaskSlots, less the slots of jobs that have not ended (each job takes its highest parallelism). */
  slots(): { total: number; free: number } {
    const total = this.config.get(TaskManagerOptions.NUM_TASK_SLOTS);
    let used = 0;
    for (const jm of this.jobs.values()) if (!isGloballyTerminal(jm.status)) used += jm.slotsNeeded;
    return { total, free: Math.max(0, total - used) };
  }

  clusterConfiguration(): Record<string, string> {
    const m = this.config.toMap();
    // Secrets stay out of the answer, as Flink hides keys that look sensitive.
    for (const k of Object.keys(m)) if (SENSITIVE_KEY.test(k)) m[k] = '******';
    return m;
  }

  checkpointConfig(jobId: string): CheckpointConfig {
    return this.job(jobId).checkpointConfig;
  }

  /**
   * Stops the cluster. The REST endpoint stays up (bounded) until every finished operation's result
   * was fetched once, so a `flink stop` whose job ends with its savepoint still learns the path.
   */
  async close(graceMs = 5_000): Promise<void> {
    for (const jm of this.jobs.values()) if (!isGloballyTerminal(jm.status)) await jm.cancel();
    const deadline = Date.now() + graceMs;
    const unread = () => [...this.triggers.values()].some((t) => !t.read);
    while (this.rest && unread() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.rest?.close();
  }
}

/** The job's default savepoint directory as the catalog records it (a folder its rebuild scans). */
function savepointDirOf(config: Configuration): string | null {
  const d = config.getOptional(CheckpointingOptions.SAVEPOINT_DIRECTORY);
  return d === undefined || (/^[a-z][a-z0-9+.-]+:/i.test(d) && !/^file:/i.test(d)) ? null : resolve(stripFileScheme(d));
}
