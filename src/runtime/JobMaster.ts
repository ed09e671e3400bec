import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointCoordinator, type CheckpointSettings } from '../checkpoint/CheckpointCoordinator.js';
import type { SnapshotEvent } from '../checkpoint/CheckpointStatsTracker.js';
import type { CompletedCheckpoint } from '../checkpoint/CompletedCheckpointStore.js';
import type { BarrierKind, CheckpointType, RetentionPolicy } from '../checkpoint/CheckpointOptions.js';
import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import { CheckpointStorage } from '../checkpoint/CheckpointStorage.js';
import { effectiveCheckpointConfig, type EffectiveCheckpointConfig, type EffectiveCheckpointStorage } from '../checkpoint/EffectiveCheckpointConfig.js';
import { MemoryCheckpointStorage } from '../checkpoint/MemoryCheckpointStorage.js';
import { newestIntact } from '../checkpoint/CheckpointRecovery.js';
import { assignState, type RestoreSpec, type StateAssignment } from '../checkpoint/StateAssignment.js';
import type { LoadedSnapshot } from '../checkpoint/Metadata.js';
import type { Configuration } from '../config/Configuration.js';
import {
  CheckpointingOptions, CoreOptions, FlinkTsOptions, StateRecoveryOptions, ExecutionOptions, restartStrategyFor, TaskManagerOptions, type RestartStrategy,
} from '../config/ConfigOptions.js';
import { stateBackendSpec } from '../state/StateBackendLoader.js';
import { FlinkError } from '../core/FlinkError.js';
import { isGloballyTerminal, type JobStatus } from '../core/JobStatus.js';
import type { Logger } from '../core/Logger.js';
import { taskKey } from '../core/ids.js';
import type { JobGraph } from '../graph/JobGraph.js';
import { emptyTaskCounts, type CheckpointConfig, type JobDetails, type JobException, type SubtaskMetrics, type TaskCounts } from '../rest/Dispatcher.js';
import type { TaskDeployment, WorkerToJobManager } from './messages.js';
import { RestartBackoffTimeStrategy } from './RestartBackoffTimeStrategy.js';
import { PeriodicSavepointScheduler } from '../checkpoint/PeriodicSavepoints.js';
import { resolveSavepointTarget } from '../checkpoint/CheckpointStorage.js';
import { TaskSlots } from './TaskSlots.js';
import { MetricStore } from './MetricStore.js';

type ExecState = 'CREATED' | 'DEPLOYING' | 'RUNNING' | 'FINISHED' | 'CANCELED' | 'FAILED';

export interface JobResult {
  jobId: string;
  status: JobStatus;
  /** Root cause when FAILED. */
  failure?: string;
  netRuntime: number;
}

export interface JobMasterOptions {
  jobId: string;
  jobGraph: JobGraph;
  jobFile: string;
  programArgs: string[];
  config: Configuration;
  restore?: { snapshot: LoadedSnapshot; allowNonRestoredState: boolean };
  log: Logger;
  /** Where print() output goes (the CLI's stdout when attached, the .out file when detached). */
  stdout: (text: string) => void;
  onStatusChange?: (status: JobStatus, failure?: string) => void;
  /** Checkpoints and savepoints as they start, complete, fail or are discarded (the cluster records them). */
  onSnapshot?: (e: SnapshotEvent) => void;
  /** After each periodic savepoint completed (and was recorded): where the cluster applies savepoint retention. */
  afterPeriodicSavepoint?: (location: string) => Promise<void> | void;
}

/**
 * The JobMaster of one job: deploys its subtasks into task slots, follows their states, runs the
 * CheckpointCoordinator, and fails over by the restart strategy from the latest completed checkpoint.
 */
export class JobMaster {
  readonly jobId: string;
  readonly jobGraph: JobGraph;
  status: JobStatus = 'CREATED';
  readonly timestamps: Partial<Record<JobStatus, number>> = {};
  readonly startTime = Date.now();
  endTime = -1;
  failureCause?: string;
  /** Every failure since the start, oldest first (GET /jobs/:id/exceptions). */
  private readonly exceptions: JobException[] = [];
  readonly coordinator: CheckpointCoordinator;
  readonly result: Promise<JobResult>;
  private resolveResult!: (r: JobResult) => void;
  private slots?: TaskSlots;
  private readonly exec = new Map<string, ExecState>();
  private attempt = 0;
  /** Flink's numRestarts metric: restarts of this job so far. */
  restarts = 0;
  private readonly restartStrategy: RestartStrategy;
  private readonly restartBackoff: RestartBackoffTimeStrategy;
  private readonly assignment?: StateAssignment;
  private readonly o: JobMasterOptions;
  private notifyAcks = new Map<number, () => void>();
  private nextAckId = 1;
  private failingOver = false;
  private readonly checkpointSettings: CheckpointSettings;
  private readonly effective: EffectiveCheckpointConfig;
  private readonly periodicSavepoints?: PeriodicSavepointScheduler;
  /** The tasks' records, bytes, times and watermarks, as they report them. */
  private readonly metrics: MetricStore;
  /** FLIP-147: tasks at the end of their input wait for a final checkpoint before they finish. */
  private readonly finalCheckpoint: boolean;

  constructor(o: JobMasterOptions) {
    this.o = o;
    this.jobId = o.jobId;
    this.jobGraph = o.jobGraph;
    this.result = new Promise((r) => (this.resolveResult = r));
    this.metrics = new MetricStore(o.jobGraph);
    const cfg = o.config;
    // Program (env.getCheckpointConfig(), legacy backends) over configuration; conflicts fail the submission.
    const effective = effectiveCheckpointConfig(cfg, o.jobGraph);
    this.effective = effective;
    const settings = effective.settings;
    this.restartStrategy = restartStrategyFor(cfg, !!settings.interval);
    this.restartBackoff = new RestartBackoffTimeStrategy(this.restartStrategy);
    if (o.restore) this.assignment = assignState(o.restore.snapshot, o.jobGraph, o.restore.allowNonRestoredState);
    const storage = effective.storage.type === 'jobmanager'
      ? new MemoryCheckpointStorage(cfg.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY) ?? join(tmpdir(), 'flink-ts-checkpoints'), o.jobId, effective.storage.maxStateSize)
      : new CheckpointStorage(effective.storage.dir, o.jobId);
    this.checkpointSettings = settings;
    this.finalCheckpoint = !!settings.interval && cfg.get(CheckpointingOptions.ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH);
    this.coordinator = new CheckpointCoordinator({
      jobId: o.jobId,
      jobName: o.jobGraph.jobName,
      jobGraph: o.jobGraph,
      storage,
      onSnapshot: o.onSnapshot,
      log: o.log.child('CheckpointCoordinator'),
      settings,
      tasksToAcknowledge: () => this.tasksToAcknowledge(),
      triggerTask: (v, s, barrier) => {
        if (this.exec.get(taskKey(v, s)) !== 'RUNNING') return;
        if (this.jobGraph.vertices[v].isSource || this.upstreamFinished(v, s)) this.slots?.send(s, { type: 'trigger', vertexIndex: v, subtask: s, barrier });
      },
      isTaskFinished: (v, s) => this.exec.get(taskKey(v, s)) === 'FINISHED',
      notifyComplete: (id, wait) => this.notifyComplete(id, wait),
      notifyAborted: (id) => this.slots?.broadcast({ type: 'notifyAborted', checkpointId: id }),
      failJob: (reason) => this.failover(new Error(reason)),
      finishedOperatorIds: () =>
        this.jobGraph.vertices
          .filter((v) => Array.from({ length: v.parallelism }, (_, s) => this.exec.get(taskKey(v.index, s))).every((st) => st === 'FINISHED'))
          .flatMap((v) => v.operators.map((op) => op.operatorId)),
    });
    if (o.restore) this.coordinator.restoreFrom(o.restore.snapshot, cfg.get(StateRecoveryOptions.CLAIM_MODE));
    const backendNotice = stateBackendSpec(cfg).notice;
    if (backendNotice) o.log.info(backendNotice);
    for (const n of effective.notices) o.log.warn(n);
    // Refused before anything is created on disk.
    const schedule = cfg.getOptional(FlinkTsOptions.PERIODIC_SAVEPOINT_INTERVAL);
    if (schedule) {
      const dir = cfg.getOptional(CheckpointingOptions.SAVEPOINT_DIRECTORY);
      if (dir === undefined) {
        throw new FlinkError('config', `periodic.savepoint.interval is set but state.savepoints.dir is not: periodic savepoints need a directory`);
      }
      const what = schedule.type === 'interval' ? `every ${schedule.intervalMs} ms` : `at cron '${schedule.expression}'`;
      this.periodicSavepoints = new PeriodicSavepointScheduler(schedule, async () => {
        if (this.status !== 'RUNNING') return;
        this.o.log.info(`Triggering a periodic savepoint for job ${this.jobId} (periodic.savepoint.interval: ${what}).`);
        const location = await this.savepoint(resolveSavepointTarget(undefined, dir));
        this.o.log.info(`Periodic savepoint of job ${this.jobId} completed at ${location}.`);
        await this.o.afterPeriodicSavepoint?.(location);
      }, (e) => this.o.log.warn(`Periodic savepoint of job ${this.jobId} failed: ${e.message}; the next one is taken on schedule.`));
      o.log.info(`Job ${this.jobId} takes periodic savepoints ${what} into ${dir}.`);
    }
    storage.initialize();
  }

  get slotsNeeded(): number {
    return Math.max(...this.jobGraph.vertices.map((v) => v.parallelism));
  }

  /** Deploys the first attempt; resolves once every subtask was handed to its slot. */
  async start(): Promise<void> {
    const available = this.o.config.get(TaskManagerOptions.NUM_TASK_SLOTS);
    if (this.slotsNeeded > available) {
      throw new FlinkError(
        'invalid-argument',
        `Could not acquire the minimum required resources: the job needs ${this.slotsNeeded} task slots (its highest parallelism) but the local cluster has ${available} (taskmanager.numberOfTaskSlots).`,
      );
    }
    if (this.assignment?.skipped.length) {
      for (const s of this.assignment.skipped) this.o.log.warn(`Skipping state of operator ${s.uid ?? s.operatorId} (${s.name}): not in the new program (--allowNonRestoredState).`);
    }
    await this.deploy(this.assignment?.byOperator, this.assignment?.channelState, this.assignment?.finished);
  }

  private setStatus(s: JobStatus, failure?: string): void {
    if (this.status === s) return;
    this.o.log.info(`Job ${this.jobGraph.jobName} (${this.jobId}) switched from state ${this.status} to ${s}.${failure ? ` Cause: ${failure}` : ''}`);
    this.status = s;
    this.timestamps[s] = Date.now();
    this.o.onStatusChange?.(s, failure);
  }

  private async deploy(restore: Map<string, RestoreSpec> | undefined, channelState?: StateAssignment['channelState'], finished?: Set<string>): Promise<void> {
    this.attempt++;
    this.exec.clear();
    this.metrics.reset(this.attempt - 1);
    this.coordinator.resetFinalStates();
    const { jobGraph: jg } = this;
    const mode = this.checkpointSettings.mode; // the program's, else the configured one
    const deployments = new Map<string, TaskDeployment>();
    for (const v of jg.vertices) {
      for (let s = 0; s < v.parallelism; s++) {
        deployments.set(taskKey(v.index, s), {
          jobId: this.jobId, vertexIndex: v.index, subtask: s, attempt: this.attempt - 1, checkpointMode: mode,
          inputChannels: [], outputs: v.outputs.map(() => ({ channels: [] })),
          restore: restore ? Object.fromEntries(v.operators.filter((op) => restore.has(op.operatorId)).map((op) => [op.operatorId, restore.get(op.operatorId)!])) : undefined,
          channelState: channelState?.get(v.operators[0].operatorId)?.get(s),
          ...(this.finalCheckpoint ? { finalCheckpoint: true } : {}),
          ...(finished && v.operators.every((op) => finished.has(op.operatorId)) ? { finishedOnRestore: true } : {}),
        });
        this.exec.set(taskKey(v.index, s), 'DEPLOYING');
      }
    }
    // Channels: every producer subtask to every consumer subtask, or i -> i for forward edges.
    let channelId = 0;
    for (const v of jg.vertices) {
      v.outputs.forEach((e, ei) => {
        const t = jg.vertices[e.target];
        for (let ps = 0; ps < v.parallelism; ps++) {
          const targets = e.partitioner === 'forward' ? [ps] : Array.from({ length: t.parallelism }, (_, i) => i);
          for (const pt of targets) {
            const id = channelId++;
            deployments.get(taskKey(v.index, ps))!.outputs[ei].channels.push({ channelId: id, toWorker: pt });
            deployments.get(taskKey(t.index, pt))!.inputChannels.push({ channelId: id, fromWorker: ps, input: e.typeNumber });
          }
        }
      });
    }
    const slots = await TaskSlots.start(
      this.slotsNeeded,
      {
        jobFile: this.o.jobFile,
        programArgs: this.o.programArgs,
        config: this.o.config.toMap(),
        fingerprint: jg.fingerprint,
        bufferTimeoutMs: this.o.config.get(ExecutionOptions.BUFFER_TIMEOUT),
      },
      (slot, m) => this.onWorkerMessage(slot, m),
      (slot, e) => this.failover(new Error(`Task slot ${slot} crashed: ${e.message}`)),
    );
    if (isGloballyTerminal(this.status) || this.status === 'CANCELLING') {
      await slots.shutdown();
      return;
    }
    this.slots = slots;
    for (let slot = 0; slot < slots.size; slot++) {
      const tasks = [...deployments.values()].filter((d) => d.subtask === slot);
      slots.send(slot, { type: 'deploy', tasks });
    }
  }

  private onWorkerMessage(_slot: number, m: WorkerToJobManager): void {
    switch (m.type) {
      case 'stdout':
        this.o.stdout(m.text);
        return;
      case 'log':
        this.o.log.log(m.level, m.message);
        return;
      case 'metrics':
        for (const r of m.reports) this.metrics.add(r);
        return;
      case 'taskState':
        this.onTaskState(m.vertexIndex, m.subtask, m.state, m.error);
        return;
      case 'ack':
        this.coordinator.receiveAcknowledge(m);
        return;
      case 'decline':
        this.coordinator.receiveDecline(m);
        return;
      case 'notified': {
        const done = this.notifyAcks.get(m.ackId);
        done?.();
        return;
      }
      default:
        return;
    }
  }

  private onTaskState(v: number, s: number, state: ExecState, error?: { message: string; name: string; stack: string }): void {
    if (this.failingOver || isGloballyTerminal(this.status) || this.status === 'CANCELLING') return;
    this.exec.set(taskKey(v, s), state);
    if (state === 'FAILED') {
      const vertex = this.jobGraph.vertices[v];
      const err = Object.assign(new Error(error?.message ?? 'unknown error'), { name: error?.name ?? 'Error', stack: error?.stack });
      this.o.log.error(`${vertex.name} (${s + 1}/${vertex.parallelism}) switched from RUNNING to FAILED.`, err);
      void this.failover(err, `${vertex.name} (${s + 1}/${vertex.parallelism})`);
      return;
    }
    if (state === 'FINISHED') {
      this.coordinator.taskFinished(v, s);
      this.triggerDownstreamOf(v, s);
    }
    const states = [...this.exec.values()];
    if (state === 'RUNNING' && states.every((x) => x === 'RUNNING' || x === 'FINISHED') && this.status !== 'RUNNING') {
      this.setStatus('RUNNING');
      this.coordinator.startPeriodic();
      this.periodicSavepoints?.start();
    }
    if (states.every((x) => x === 'FINISHED')) void this.terminate('FINISHED');
  }

  /** Every upstream subtask of (v, s) finished: no barrier can reach it through a channel (FLIP-147). */
  private upstreamFinished(v: number, s: number): boolean {
    let any = false;
    for (const u of this.jobGraph.vertices) {
      for (const e of u.outputs) {
        if (e.target !== v) continue;
        any = true;
        const subtasks = e.partitioner === 'forward' ? [s] : Array.from({ length: u.parallelism }, (_, i) => i);
        if (!subtasks.every((us) => this.exec.get(taskKey(u.index, us)) === 'FINISHED')) return false;
      }
    }
    return any;
  }

  /** A subtask finished: pending checkpoints reach the downstream subtasks whose upstream is now all finished directly. */
  private triggerDownstreamOf(v: number, s: number): void {
    const vertex = this.jobGraph.vertices[v];
    for (const e of vertex.outputs) {
      const t = this.jobGraph.vertices[e.target];
      const subtasks = e.partitioner === 'forward' ? [s] : Array.from({ length: t.parallelism }, (_, i) => i);
      for (const ts of subtasks) {
        if (this.exec.get(taskKey(t.index, ts)) !== 'RUNNING' || !this.upstreamFinished(t.index, ts)) continue;
        for (const barrier of this.coordinator.barriersAwaiting(t.index, ts)) this.slots?.send(ts, { type: 'trigger', vertexIndex: t.index, subtask: ts, barrier });
      }
    }
  }

  private tasksToAcknowledge(): { vertexIndex: number; subtask: number }[] | string {
    if (this.status !== 'RUNNING') return `Job ${this.jobId} is not running but ${this.status}.`;
    // Finished tasks take no part: everything they emitted is before their end-of-partition, which
    // downstream alignment counts as a barrier (a first step towards Flink's checkpoints after tasks finish).
    const out: { vertexIndex: number; subtask: number }[] = [];
    for (const [k, st] of this.exec) {
      if (st === 'FINISHED') continue;
      if (st !== 'RUNNING') return `Not all required tasks are currently running (some are ${st}).`;
      const [v, s] = k.split('/').map(Number);
      out.push({ vertexIndex: v, subtask: s });
    }
    if (out.length === 0) return `All tasks of job ${this.jobId} have finished.`;
    return out;
  }

  private notifyComplete(checkpointId: number, wait: boolean): Promise<void> {
    const slots = this.slots;
    if (!slots) return Promise.resolve();
    if (!wait) {
      slots.broadcast({ type: 'notifyComplete', checkpointId });
      return Promise.resolve();
    }
    // Stop-with-savepoint: sinks must have committed before the tasks are shut down.
    return Promise.all(
      Array.from({ length: slots.size }, (_, slot) => new Promise<void>((resolve) => {
        const ackId = this.nextAckId++;
        const timer = setTimeout(resolve, 10_000);
        this.notifyAcks.set(ackId, () => {
          clearTimeout(timer);
          this.notifyAcks.delete(ackId);
          resolve();
        });
        slots.send(slot, { type: 'notifyComplete', checkpointId, ackId });
      })),
    ).then(() => undefined);
  }

  /** A task failed: restart from the latest completed checkpoint, or fail the job when restarts run out. */
  private async failover(cause: Error, taskName?: string): Promise<void> {
    if (this.failingOver || isGloballyTerminal(this.status) || this.status === 'CANCELLING') return;
    this.failingOver = true;
    this.periodicSavepoints?.stop();
    const rootCause = `${cause.name && cause.name !== 'Error' ? `${cause.name}: ` : ''}${cause.message}`;
    const exceptionName = cause.name || 'Error';
    this.exceptions.push({
      timestamp: Date.now(), exceptionName, message: cause.message, taskName,
      stacktrace: cause.stack && cause.stack.startsWith(exceptionName) ? cause.stack : `${exceptionName}: ${cause.message}`,
    });
    this.coordinator.stopPeriodic();
    this.coordinator.abortAll('Job is failing over');
    await this.slots?.shutdown();
    this.slots = undefined;
    const backoff = this.restartBackoff;
    backoff.notifyFailure(Date.now());
    if (!backoff.canRestart()) {
      this.failingOver = false;
      this.failureCause = `${rootCause} (recovery is suppressed: ${backoff.whySuppressed()})`;
      await this.terminate('FAILED', this.failureCause);
      return;
    }
    this.restarts++;
    this.setStatus('RESTARTING', rootCause);
    const delayMs = backoff.backoffTimeMs();
    this.o.log.info(`Restarting job ${this.jobId} in ${delayMs} ms (restart ${this.restarts}, ${this.restartStrategy.type} restart strategy).`);
    await new Promise((r) => setTimeout(r, delayMs));
    this.failingOver = false;
    if (this.status !== 'RESTARTING') return; // cancelled while waiting
    // In-memory checkpoints (JobManagerCheckpointStorage) have no files to check; their bytes carry a CRC32 the tasks verify.
    const latest = this.effective.storage.type === 'jobmanager' ? this.coordinator.latestCompleted() : newestIntact(this.coordinator.retainedNewestFirst(), (c) => c.dir, (c, why) =>
      this.o.log.warn(`Checkpoint ${c.id} at ${c.dir} is damaged, not restoring from it: ${why}. Falling back to an older retained checkpoint; output a sink committed after that one is produced again.`))?.candidate;
    if (!latest && this.coordinator.latestCompleted()) {
      // Starting over would commit the sinks' output a second time: fail instead.
      this.failureCause = `${rootCause} (recovery is impossible: every retained checkpoint is damaged)`;
      await this.terminate('FAILED', this.failureCause);
      return;
    }
    try {
      const a = latest ? this.restoreFromCompleted(latest) : this.assignment;
      await this.deploy(a?.byOperator, a?.channelState, a?.finished);
    } catch (e) {
      await this.failover(e as Error);
    }
  }

  private restoreFromCompleted(c: CompletedCheckpoint): StateAssignment {
    this.o.log.info(`Restoring job ${this.jobId} from checkpoint ${c.id} at ${c.dir}.`);
    this.coordinator.restoredFromCheckpoint(c);
    return assignState({ dir: c.dir, metadataFile: join(c.dir, '_metadata'), metadata: c.metadata }, this.jobGraph, true);
  }

  get checkpointConfig(): CheckpointConfig {
    return { ...this.checkpointSettings, stateBackend: this.effective.stateBackendName, checkpointStorage: this.effective.storageName };
  }

  /** Where this job's checkpoints go: a job folder, or 'jobmanager' (memory of this process). */
  get checkpointStorage(): EffectiveCheckpointStorage {
    return this.effective.storage;
  }

  /** `flink checkpoint`: a checkpoint on request; resolves once it is complete. */
  async checkpoint(checkpointType: CheckpointType): Promise<CompletedCheckpoint> {
    if (this.status !== 'RUNNING') throw new FlinkError('conflict', `Job ${this.jobId} is not running but ${this.status}; cannot trigger a checkpoint.`);
    return this.coordinator.triggerCheckpoint(checkpointType);
  }

  async cancel(): Promise<void> {
    if (isGloballyTerminal(this.status) || this.status === 'CANCELLING') return;
    this.setStatus('CANCELLING');
    await this.terminate('CANCELED');
  }

  /**
   * Savepoint; with `then` the job is cancelled (cancel -s) or finished (stop) once it is complete.
   * For both, sources stop emitting after the savepoint barrier, so nothing is committed after it.
   */
  async savepoint(targetDirectory: string, then: 'none' | 'cancel' | 'stop' = 'none', opts: { drain?: boolean; formatType?: SavepointFormatType } = {}): Promise<string> {
    if (this.status !== 'RUNNING') throw new FlinkError('conflict', `Job ${this.jobId} is not running but ${this.status}; cannot take a savepoint.`);
    const kind: BarrierKind = then === 'none' ? 'SAVEPOINT' : 'SAVEPOINT_TERMINATE';
    if (then !== 'none') {
      this.coordinator.stopPeriodic();
      this.periodicSavepoints?.stop();
    }
    let done: CompletedCheckpoint;
    try {
      // --drain: the sources emit MAX_WATERMARK right before the barrier, so every event-time window fires into the savepoint.
      done = await this.coordinator.trigger(kind, targetDirectory, { drain: !!opts.drain && then === 'stop', formatType: opts.formatType });
    } catch (e) {
      if (then !== 'none' && this.status === 'RUNNING') {
        this.coordinator.startPeriodic();
        this.periodicSavepoints?.start();
      }
      throw e;
    }
    if (then === 'cancel') await this.cancel();
    if (then === 'stop') await this.terminate('FINISHED');
    return done.dir;
  }

  private async terminate(status: 'FINISHED' | 'CANCELED' | 'FAILED', failure?: string): Promise<void> {
    if (isGloballyTerminal(this.status)) return;
    const slots = this.slots;
    this.slots = undefined;
    this.coordinator.stopPeriodic();
    this.periodicSavepoints?.stop();
    await slots?.shutdown();
    this.endTime = Date.now();
    this.coordinator.shutdown(status);
    this.setStatus(status, failure);
    this.resolveResult({ jobId: this.jobId, status, failure, netRuntime: this.endTime - this.startTime });
  }

  taskCounts(): TaskCounts {
    const c: TaskCounts = emptyTaskCounts();
    for (const v of this.jobGraph.vertices) {
      for (let s = 0; s < v.parallelism; s++) {
        const st = this.exec.get(taskKey(v.index, s)) ?? (isGloballyTerminal(this.status) ? (this.status === 'FINISHED' ? 'FINISHED' : this.status === 'FAILED' ? 'FAILED' : 'CANCELED') : 'CREATED');
        c[st === 'DEPLOYING' ? 'DEPLOYING' : st]++;
      }
    }
    return c;
  }

  /** Per-subtask task metrics of a vertex (by its id). */
  vertexMetrics(vertexId: string): SubtaskMetrics[] | undefined {
    const v = this.jobGraph.vertices.find((x) => x.id === vertexId.toLowerCase());
    return v && this.metrics.subtasks(v.index);
  }

  details(): JobDetails {
    const counts = this.taskCounts();
    return {
      id: this.jobId,
      name: this.jobGraph.jobName,
      status: this.status,
      startTime: this.startTime,
      endTime: this.endTime,
      lastModification: Math.max(...Object.values(this.timestamps).map(Number), this.startTime),
      tasks: counts,
      // Flink's isStoppable is about legacy stoppable sources: false for every job since Flink 1.x (stop takes a savepoint).
      isStoppable: false,
      numRestarts: this.restarts,
      timestamps: { ...this.timestamps },
      maxParallelism: this.jobGraph.maxParallelism,
      failureCause: this.failureCause,
      exceptions: [...this.exceptions],
      executionConfig: {
        parallelism: this.o.config.get(CoreOptions.DEFAULT_PARALLELISM),
        restartStrategy: describeRestartStrategy(this.restartStrategy),
        objectReuse: false,
        userConfig: {},
      },
      vertices: this.jobGraph.vertices.map((v) => {
        const tasks: TaskCounts = emptyTaskCounts();
        for (let s = 0; s < v.parallelism; s++) tasks[(this.exec.get(taskKey(v.index, s)) ?? 'CREATED') as keyof TaskCounts]++;
        const status = tasks.FAILED ? 'FAILED' : tasks.RUNNING ? 'RUNNING' : tasks.FINISHED === v.parallelism ? 'FINISHED' : tasks.CANCELED ? 'CANCELED' : 'CREATED';
        return {
          id: v.id, name: v.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism, status, startTime: this.startTime, endTime: this.endTime, tasks,
          operator: v.operators.map((op) => op.kind).join(' -> '),
          inputs: v.inputs.map((e) => ({ id: this.jobGraph.vertices[e.source]!.id, shipStrategy: e.partitioner.toUpperCase() })),
          metrics: this.metrics.ioMetrics(v.index),
        };
      }),
    };
  }
}

/** The restart strategy as Flink's /jobs/:id/config words it. */
function describeRestartStrategy(rs: RestartStrategy): string {
  if (rs.type === 'none') return 'Restart deactivated.';
  if (rs.type === 'failure-rate') {
    return `Failure rate restart with maximum of ${rs.maxFailuresPerInterval} failures within interval ${rs.intervalMs} ms and fixed delay ${rs.delayMs} ms.`;
  }
  const attempts = rs.attempts >= Number.MAX_SAFE_INTEGER ? 2147483647 : rs.attempts;
  if (rs.type === 'exponential-delay') {
    return `Restart with exponential delay: initial backoff ${rs.initialBackoffMs} ms, max backoff ${rs.maxBackoffMs} ms, multiplier ${rs.multiplier}, reset threshold ${rs.resetThresholdMs} ms, jitter ${rs.jitterFactor}. #${attempts} restart attempts.`;
  }
  return `Restart with fixed delay (${rs.delayMs} ms). #${attempts} restart attempts.`;
}
