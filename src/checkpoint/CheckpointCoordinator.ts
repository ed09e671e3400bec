import { statSync } from 'node:fs';
import { join } from 'node:path';
import { carryStateHandle } from './FinishedTaskState.js';
import { FlinkError } from '../core/FlinkError.js';
import type { Logger } from '../core/Logger.js';
import type { JobStatus } from '../core/JobStatus.js';
import type { JobGraph } from '../graph/JobGraph.js';
import { taskKey } from '../core/ids.js';
import type { ChannelStateHandle, StateFileHandle } from '../state/StateHandles.js';
import type { BarrierKind, CheckpointBarrier, CheckpointType, RetentionPolicy, SubtaskAcknowledgement } from './CheckpointOptions.js';
import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import { CheckpointStorage, isJobManagerLocation } from './CheckpointStorage.js';
import { MemoryCheckpointStorage } from './MemoryCheckpointStorage.js';
import { CheckpointFailureManager } from './CheckpointFailureManager.js';
import { CheckpointStatsTracker, type CheckpointStats, type CheckpointStatsEntry, type SnapshotEvent, type TrackedCheckpoint } from './CheckpointStatsTracker.js';
import { CompletedCheckpointStore, type CompletedCheckpoint } from './CompletedCheckpointStore.js';
import { orphanedSharedFiles } from './SharedStateRegistry.js';
import { faultPoint } from '../core/FaultInjection.js';
import {
  METADATA_FILE, writeMetadataAtomically, type CheckpointMetadata, type LoadedSnapshot, type OperatorStateMetadata,
} from './Metadata.js';

export interface CheckpointSettings {
  interval?: number;
  timeout: number;
  minPause: number;
  maxConcurrent: number;
  numRetained: number;
  tolerableFailures: number;
  retention: RetentionPolicy;
  /** execution.checkpointing.mode; unaligned checkpoints need EXACTLY_ONCE. */
  mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  unaligned: boolean;
  /** ms; 0: checkpoints start unaligned, else aligned ones switch to unaligned after this long. */
  alignedTimeout: number;
}

export interface CheckpointCoordinatorDeps {
  jobId: string;
  jobName: string;
  jobGraph: JobGraph;
  storage: CheckpointStorage;
  settings: CheckpointSettings;
  log: Logger;
  /** Every change of a snapshot's status, for the catalog: the cluster wires it, as it wires job status. */
  onSnapshot?(e: SnapshotEvent): void;
  /** The subtasks that must acknowledge, or why a checkpoint cannot start now. */
  tasksToAcknowledge(): { vertexIndex: number; subtask: number }[] | string;
  /**
   * Sends the barrier to a subtask the JobManager triggers directly: a running source, or a running task whose
   * upstream tasks all finished (FLIP-147); it decides which. Called for every subtask of the job.
   */
  triggerTask(vertexIndex: number, subtask: number, barrier: CheckpointBarrier): void;
  /** Whether a subtask of the current attempt is FINISHED. */
  isTaskFinished(vertexIndex: number, subtask: number): boolean;
  /** Tells every task; resolves once they have processed it when `wait` is set. */
  notifyComplete(checkpointId: number, wait: boolean): Promise<void>;
  notifyAborted(checkpointId: number): void;
  /** More consecutive checkpoint failures than tolerated: the job must fail over. */
  failJob(reason: string): void;
  /** Ids of operators whose every subtask has finished. */
  finishedOperatorIds(): string[];
}

interface PendingCheckpoint {
  id: number;
  kind: BarrierKind;
  barrier: CheckpointBarrier;
  location: string;
  formatType?: SavepointFormatType;
  /** Subtasks that acknowledged, and whether with their final (after end of data) state. */
  acked: Map<string, { states: { operatorId: string; handle: StateFileHandle }[]; finalState: boolean }>;
  triggerTs: number;
  notYetAcked: Set<string>;
  numSubtasks: number;
  vertices: { vertexId: string; numSubtasks: number }[];
  states: Map<string, { subtask: number; handle: StateFileHandle }[]>;
  /** Slowest subtask's synchronous and asynchronous snapshot parts. */
  syncMs?: number;
  asyncMs?: number;
  /** In-flight data per task (head operator id) of an unaligned checkpoint. */
  channelState: Map<string, { parallelism: number; subtasks: { subtask: number; state: ChannelStateHandle }[] }>;
  unaligned: boolean;
  /** Bytes the acknowledging subtasks wrote for this checkpoint (Flink's checkpointed size). */
  checkpointedSize: number;
  checkpointType: CheckpointType;
  timer: NodeJS.Timeout;
  resolve(c: CompletedCheckpoint): void;
  reject(e: Error): void;
}

/**
 * Flink's CheckpointCoordinator: triggers checkpoints (periodic) and savepoints (on request) by sending
 * barriers into the sources, collects the subtasks' acknowledgements with their state handles, and
 * completes a checkpoint by writing its `_metadata` last and atomically. Only then is it reported as
 * COMPLETED, are the tasks notified (sinks commit), and are older checkpoints subsumed. It keeps the
 * protocol; statistics, retention and failure counting are the tracker's, the store's and the failure
 * manager's, and what happens to snapshots is reported through `onSnapshot`, never written anywhere here.
 */
export class CheckpointCoordinator {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCheckpoint>();
  private readonly tracker: CheckpointStatsTracker;
  private readonly store: CompletedCheckpointStore;
  private readonly failures: CheckpointFailureManager;
  private timer?: NodeJS.Timeout;
  private lastCompletionTs = 0;
  private periodicEnabled = false;
  private shutDown = false;
  /** Shared files (incremental checkpoints) some completed checkpoint already wrote: reusing one writes nothing. */
  private readonly knownSharedFiles = new Set<string>();
  /**
   * FLIP-147: the final state of every subtask that acknowledged one, in the newest completed checkpoint
   * holding it. Once the subtask finished, each later checkpoint carries it (copied into its folder), so a
   * restore from any of them finds the finished subtask's last state, unless its operator finished entirely.
   */
  private readonly finalStates = new Map<string, { dir: string; states: { operatorId: string; handle: StateFileHandle }[] }>();
  /** Manual checkpoints waiting for a free slot (max-concurrent-checkpoints), as Flink queues them. */
  private readonly queued: (() => void)[] = [];

  constructor(private readonly d: CheckpointCoordinatorDeps) {
    this.tracker = new CheckpointStatsTracker(d.jobId, (e) => d.onSnapshot?.(e));
    this.store = new CompletedCheckpointStore(d.settings.numRetained, d.log, (c) => this.tracker.discarded(c.id, c.dir));
    this.failures = new CheckpointFailureManager(d.settings.tolerableFailures, (reason) => d.failJob(reason));
  }

  /**
   * Continues the checkpoint id sequence of a restored snapshot, as Flink does. CLAIM: the job owns the
   * snapshot from now on, as its oldest retained checkpoint, deleted once subsumed (shared files only when
   * nothing on disk refers to them). NO_CLAIM: never deleted by this job (and the first checkpoint is full:
   * a restored backend has no checkpoint to build on).
   */
  restoreFrom(snap: LoadedSnapshot, claimMode: 'CLAIM' | 'NO_CLAIM' = 'NO_CLAIM'): void {
    this.nextId = Math.max(this.nextId, snap.metadata.checkpointId + 1);
    const isSavepoint = snap.metadata.kind === 'SAVEPOINT';
    this.tracker.restored = { id: snap.metadata.checkpointId, restoreTimestamp: Date.now(), isSavepoint, externalPath: snap.dir };
    if (claimMode === 'CLAIM') {
      this.store.addClaimed({ id: snap.metadata.checkpointId, dir: snap.dir, isSavepoint, metadata: snap.metadata });
      this.d.log.info(`Claimed ${isSavepoint ? 'savepoint' : 'checkpoint'} ${snap.metadata.checkpointId} at ${snap.dir}: it is deleted once subsumed (restore mode CLAIM).`);
    }
  }

  /** A failover restored the job from one of its own checkpoints: counted and shown as the latest restore. */
  restoredFromCheckpoint(c: CompletedCheckpoint): void {
    this.tracker.restored = { id: c.id, restoreTimestamp: Date.now(), isSavepoint: c.isSavepoint, externalPath: c.dir };
  }

  /** The bytes a subtask's handle wrote for this checkpoint: all of them, less shared files written before. */
  private newBytes(h: StateFileHandle): number {
    return h.size + (h.keyedStateFiles ?? []).reduce((n, f) => n + (this.knownSharedFiles.has(f.file) ? 0 : f.size), 0);
  }

  /** GET /jobs/:id/checkpoints/details/:checkpointid: one checkpoint of the kept history. */
  checkpointDetails(id: number): CheckpointStatsEntry | undefined {
    return this.tracker.entry(id);
  }

  startPeriodic(): void {
    if (!this.d.settings.interval || this.shutDown) return;
    this.periodicEnabled = true;
    this.scheduleNext(this.d.settings.interval);
  }

  stopPeriodic(): void {
    this.periodicEnabled = false;
    clearTimeout(this.timer);
  }

  private scheduleNext(delay: number): void {
    clearTimeout(this.timer);
    if (!this.periodicEnabled) return;
    this.timer = setTimeout(() => this.periodicTrigger(), delay);
  }

  private periodicTrigger(): void {
    const s = this.d.settings;
    const sinceLast = Date.now() - this.lastCompletionTs;
    if (this.pending.size >= s.maxConcurrent) return this.scheduleNext(s.interval!);
    if (sinceLast < s.minPause) return this.scheduleNext(s.minPause - sinceLast);
    this.trigger('CHECKPOINT').catch(() => {
      /* failures are logged and counted in trigger() */
    });
    this.scheduleNext(s.interval!);
  }

  latestCompleted(): CompletedCheckpoint | undefined {
    return this.store.latest();
  }

  /** Retained completed checkpoints, newest first (what a failover may restore from). */
  retainedNewestFirst(): CompletedCheckpoint[] {
    return this.store.newestFirst();
  }

  get numPending(): number {
    return this.pending.size;
  }

  /**
   * A checkpoint on request (`flink checkpoint`): waits while max-concurrent-checkpoints are in progress,
   * then triggers regardless of min-pause; resolves when it is complete.
   */
  async triggerCheckpoint(checkpointType: CheckpointType = 'CONFIGURED'): Promise<CompletedCheckpoint> {
    while (!this.shutDown && this.numPendingCheckpoints >= this.d.settings.maxConcurrent) {
      await new Promise<void>((r) => this.queued.push(r));
    }
    return this.trigger('CHECKPOINT', undefined, { checkpointType });
  }

  private get numPendingCheckpoints(): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.kind === 'CHECKPOINT') n++;
    return n;
  }

  private wakeQueued(): void {
    for (const r of this.queued.splice(0)) r();
  }

  /** Starts a checkpoint or savepoint; resolves when it is complete (its _metadata is durable). */
  trigger(kind: BarrierKind, targetDirectory?: string, opts: { checkpointType?: CheckpointType; drain?: boolean; formatType?: SavepointFormatType } = {}): Promise<CompletedCheckpoint> {
    const checkpointType = opts.checkpointType ?? 'CONFIGURED';
    const formatType = opts.formatType;
    if (this.shutDown) return Promise.reject(new FlinkError('conflict', 'The checkpoint coordinator is shut down'));
    const tasks = this.d.tasksToAcknowledge();
    if (typeof tasks === 'string') {
      const e = new FlinkError('conflict', tasks);
      if (kind === 'CHECKPOINT') {
        this.d.log.info(`Checkpoint triggering skipped: ${tasks}`);
        this.tracker.failedWithoutInProgress();
      }
      return Promise.reject(e);
    }
    const id = this.nextId++;
    const isSavepoint = kind !== 'CHECKPOINT';
    let location: string;
    try {
      location = isSavepoint ? this.d.storage.savepointLocation(targetDirectory!) : this.d.storage.checkpointLocation(id);
    } catch (e) {
      if (!isSavepoint) this.failedToStart(id, e as Error);
      return Promise.reject(e);
    }
    const triggerTs = Date.now();
    const barrier: CheckpointBarrier = { type: 'barrier', checkpointId: id, timestamp: triggerTs, kind, location, checkpointType, ...(opts.drain ? { drain: true } : {}), ...(isSavepoint && formatType ? { formatType } : {}) };
    // Flink's CheckpointOptions: savepoints are always aligned; unaligned needs exactly-once.
    const s = this.d.settings;
    if (!isSavepoint && s.unaligned && s.mode === 'EXACTLY_ONCE') {
      if (s.alignedTimeout > 0) barrier.alignedTimeoutMs = s.alignedTimeout;
      else barrier.unaligned = true;
    }
    if (!isSavepoint && this.d.storage instanceof MemoryCheckpointStorage) barrier.maxInlineStateSize = this.d.storage.maxStateSize;
    return new Promise<CompletedCheckpoint>((resolve, reject) => {
      const p: PendingCheckpoint = {
        id, kind, barrier, location, formatType, triggerTs, resolve, reject, acked: new Map(),
        notYetAcked: new Set(tasks.map((t) => taskKey(t.vertexIndex, t.subtask))),
        numSubtasks: tasks.length,
        vertices: this.d.jobGraph.vertices
          .map((v) => ({ vertexId: v.id, numSubtasks: tasks.filter((t) => t.vertexIndex === v.index).length }))
          .filter((v) => v.numSubtasks > 0),
        states: new Map(),
        channelState: new Map(),
        unaligned: !!barrier.unaligned,
        checkpointedSize: 0,
        checkpointType,
        timer: setTimeout(() => this.abort(id, `Checkpoint expired before completing (timeout ${this.d.settings.timeout} ms).`), this.d.settings.timeout),
      };
      this.pending.set(id, p);
      this.tracker.record(tracked(p), 'IN_PROGRESS');
      this.d.log.info(`Triggering ${isSavepoint ? 'savepoint' : 'checkpoint'} ${id} (type=${kind}) @ ${triggerTs} for job ${this.d.jobId}.`);
      for (const v of this.d.jobGraph.vertices) {
        for (let s = 0; s < v.parallelism; s++) this.d.triggerTask(v.index, s, barrier);
      }
    });
  }

  receiveAcknowledge(m: SubtaskAcknowledgement): void {
    const p = this.pending.get(m.checkpointId);
    if (!p) return; // late ack of an aborted checkpoint: its folder is already gone
    if (!p.notYetAcked.delete(taskKey(m.vertexIndex, m.subtask))) return;
    p.acked.set(taskKey(m.vertexIndex, m.subtask), { states: m.states, finalState: !!m.finalState });
    p.syncMs = Math.max(p.syncMs ?? 0, m.syncMs);
    p.asyncMs = Math.max(p.asyncMs ?? 0, m.asyncMs);
    const stateSize = m.states.reduce((n, s) => n + fullSize(s.handle), 0) + (m.channelState?.size ?? 0);
    const checkpointedSize = m.states.reduce((n, s) => n + this.newBytes(s.handle), 0) + (m.channelState?.size ?? 0);
    p.checkpointedSize += checkpointedSize;
    this.tracker.acknowledged(p.id, p.numSubtasks - p.notYetAcked.size, {
      vertexId: this.d.jobGraph.vertices[m.vertexIndex]!.id, subtask: m.subtask, ackTimestamp: Date.now(), stateSize, checkpointedSize,
      syncMs: Math.round(m.syncMs), asyncMs: Math.round(m.asyncMs), alignmentMs: Math.round(m.alignmentMs ?? 0),
      startDelayMs: Math.round(m.startDelayMs ?? 0), unaligned: !!m.unaligned, persistedData: m.channelState?.size ?? 0, processedData: 0,
    });
    for (const s of m.states) {
      const list = p.states.get(s.operatorId) ?? [];
      list.push({ subtask: m.subtask, handle: s.handle });
      p.states.set(s.operatorId, list);
    }
    if (m.unaligned) p.unaligned = true;
    if (m.channelState) {
      const v = this.d.jobGraph.vertices[m.vertexIndex];
      const head = v.operators[0].operatorId;
      const cs = p.channelState.get(head) ?? p.channelState.set(head, { parallelism: v.parallelism, subtasks: [] }).get(head)!;
      cs.subtasks.push({ subtask: m.subtask, state: m.channelState });
    }
    if (p.notYetAcked.size === 0) void this.complete(p);
  }

  /** A new attempt of the job (failover): final states of the old one are no longer what its tasks hold. */
  resetFinalStates(): void {
    this.finalStates.clear();
  }

  /** Barriers of the pending checkpoints a subtask still has to acknowledge (to trigger it once its upstream finished). */
  barriersAwaiting(vertexIndex: number, subtask: number): CheckpointBarrier[] {
    const k = taskKey(vertexIndex, subtask);
    return [...this.pending.values()].filter((p) => p.notYetAcked.has(k)).map((p) => p.barrier);
  }

  /** A task that finished while checkpoints were pending will not see their barriers: it has nothing more to ack. */
  taskFinished(vertexIndex: number, subtask: number): void {
    for (const p of [...this.pending.values()]) {
      if (p.notYetAcked.delete(taskKey(vertexIndex, subtask)) && p.notYetAcked.size === 0) void this.complete(p);
    }
  }

  receiveDecline(m: { checkpointId: number; vertexIndex: number; subtask: number; reason: string; subsumed?: true }): void {
    this.abort(m.checkpointId, `Task ${m.vertexIndex}/${m.subtask} declined checkpoint ${m.checkpointId}: ${m.reason}`, m.subsumed ? 'subsumed' : 'failure');
  }

  private async complete(p: PendingCheckpoint): Promise<void> {
    const formatType = p.formatType;
    clearTimeout(p.timer);
    const isSavepoint = p.kind !== 'CHECKPOINT';
    const fullyFinished = new Set(this.d.finishedOperatorIds());
    let carried: Map<string, { operatorId: string; handle: StateFileHandle }[]>;
    try {
      carried = this.carryFinishedStates(p, fullyFinished);
    } catch (e) {
      this.abort(p.id, `Failed to carry the state of finished tasks into checkpoint ${p.id}: ${(e as Error).message}`);
      return;
    }
    const operators: OperatorStateMetadata[] = [];
    for (const v of this.d.jobGraph.vertices) {
      for (const op of v.operators) {
        const subtasks = p.states.get(op.operatorId);
        if (!subtasks) continue;
        operators.push({
          operatorId: op.operatorId, uid: op.uid, name: op.name, parallelism: v.parallelism, maxParallelism: v.maxParallelism,
          subtasks: subtasks.sort((a, b) => a.subtask - b.subtask).map((s) => ({ subtask: s.subtask, state: s.handle })),
        });
      }
    }
    const metadata: CheckpointMetadata = {
      formatVersion: 1, jobId: this.d.jobId, jobName: this.d.jobName, checkpointId: p.id,
      kind: isSavepoint ? 'SAVEPOINT' : 'CHECKPOINT', format: isSavepoint ? formatType ?? 'CANONICAL' : 'NATIVE',
      triggerTimestamp: p.triggerTs, completionTimestamp: Date.now(), maxParallelism: this.d.jobGraph.maxParallelism, operators,
    };
    const finished = [...fullyFinished].filter((id) => !p.states.has(id));
    if (finished.length > 0) metadata.finishedOperators = finished;
    if (p.unaligned) metadata.unaligned = true;
    if (p.channelState.size > 0) {
      metadata.channelState = [...p.channelState].map(([operatorId, c]) => ({
        operatorId, parallelism: c.parallelism, subtasks: c.subtasks.sort((a, b) => a.subtask - b.subtask),
      }));
    }
    try {
      // JobManagerCheckpointStorage: the metadata (with the state bytes) stays in `completed`, in memory.
      if (!isJobManagerLocation(p.location)) writeMetadataAtomically(p.location, metadata);
    } catch (e) {
      this.abort(p.id, `Failed to write the metadata of checkpoint ${p.id}: ${(e as Error).message}`);
      return;
    }
    this.pending.delete(p.id);
    if (!isSavepoint) {
      // The newest completed checkpoint now holds every final state it received or carried.
      for (const [k, a] of p.acked) if (a.finalState) this.finalStates.set(k, { dir: p.location, states: a.states });
      for (const [k, states] of carried) this.finalStates.set(k, { dir: p.location, states });
    }
    const done: CompletedCheckpoint = { id: p.id, dir: p.location, isSavepoint, metadata };
    // The full state size: incremental checkpoints count the shared files they refer to, as Flink's stateSize.
    const size = operators.reduce((n, o) => n + o.subtasks.reduce((m, s) => m + fullSize(s.state), 0), 0)
      + (metadata.channelState ?? []).reduce((n, c) => n + c.subtasks.reduce((m, s) => m + s.state.size, 0), 0)
      + safeSize(join(p.location, METADATA_FILE));
    this.lastCompletionTs = Date.now();
    faultPoint('index.update', p.location);
    const metadataSize = safeSize(join(p.location, METADATA_FILE));
    this.tracker.record(tracked(p), 'COMPLETED', { size, checkpointedSize: p.checkpointedSize + metadataSize, duration: metadata.completionTimestamp - p.triggerTs });
    for (const o of operators) for (const s of o.subtasks) for (const f of s.state.keyedStateFiles ?? []) this.knownSharedFiles.add(f.file);
    this.d.log.info(`Completed ${isSavepoint ? 'savepoint' : 'checkpoint'} ${p.id} for job ${this.d.jobId} (${size} bytes, ${metadata.completionTimestamp - p.triggerTs} ms, sync ${Math.round(p.syncMs ?? 0)} ms, async ${Math.round(p.asyncMs ?? 0)} ms) at ${p.location}.`);
    if (!isSavepoint) {
      this.failures.handleCheckpointSuccess();
      this.store.add(done);
    }
    // Older pending checkpoints are subsumed by this one.
    for (const older of [...this.pending.values()]) if (older.id < p.id && older.kind === 'CHECKPOINT') this.abort(older.id, `Checkpoint ${older.id} subsumed by ${p.id}.`, 'subsumed');
    this.wakeQueued();
    this.cleanUpSharedState();
    try {
      faultPoint('checkpoint.notify', p.location);
      await this.d.notifyComplete(p.id, p.kind === 'SAVEPOINT_TERMINATE');
    } finally {
      p.resolve(done);
    }
  }

  /**
   * Adds to `p` the final states of subtasks that finished since they acknowledged them (they take no part in
   * `p`), copied from the checkpoint holding them into `p`'s folder; operators that finished on every subtask
   * are left out (`_metadata` lists them as finished, and they are not run again on restore).
   */
  private carryFinishedStates(p: PendingCheckpoint, fullyFinished: Set<string>): Map<string, { operatorId: string; handle: StateFileHandle }[]> {
    const carried = new Map<string, { operatorId: string; handle: StateFileHandle }[]>();
    for (const [k, last] of this.finalStates) {
      if (p.acked.has(k)) continue;
      const [v, s] = k.split('/').map(Number);
      if (!this.d.isTaskFinished(v, s)) continue;
      const states = last.states
        .filter((st) => !fullyFinished.has(st.operatorId))
        .map((st) => ({ operatorId: st.operatorId, handle: carryStateHandle(last.dir, p.location, st.handle) }));
      carried.set(k, states);
      for (const st of states) {
        const list = p.states.get(st.operatorId) ?? p.states.set(st.operatorId, []).get(st.operatorId)!;
        list.push({ subtask: s, handle: st.handle });
      }
    }
    return carried;
  }

  /**
   * The one abort path. A pending checkpoint's partial folder is removed and it never counts as complete.
   * `failure`: the tasks are told and it counts towards the tolerable failures; `subsumed`: a newer one
   * completed; `shutdown`: the job is ending, so the tasks are not told and nothing is counted.
   */
  abort(id: number, reason: string, cause: 'failure' | 'subsumed' | 'shutdown' = 'failure'): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    CheckpointStorage.discard(p.location);
    this.store.forgetAborted(p.id, p.location, [...p.states.values()].flat().map((s) => s.handle));
    this.tracker.record(tracked(p), 'FAILED', { failure: reason });
    this.cleanUpSharedState();
    if (cause !== 'shutdown') {
      this.d.log.warn(`${p.kind === 'CHECKPOINT' ? 'Checkpoint' : 'Savepoint'} ${id} of job ${this.d.jobId} failed: ${reason}`);
      this.d.notifyAborted(id);
    }
    p.reject(new FlinkError(cause === 'shutdown' ? 'conflict' : 'io', reason));
    this.wakeQueued();
    if (p.kind === 'CHECKPOINT' && cause === 'failure') this.countFailure(reason);
  }

  /** The checkpoint's folder could not even be created (read-only or full disk): a failed checkpoint all the same. */
  private failedToStart(id: number, e: Error): void {
    const reason = `Failed to create the folder of checkpoint ${id}: ${e.message}`;
    this.tracker.record(
      { id, isSavepoint: false, location: join(this.d.storage.jobDir, `chk-${id}`), triggerTs: Date.now(), numSubtasks: 0, numAcknowledged: 0, unaligned: false },
      'FAILED', { failure: reason },
    );
    this.d.log.warn(`Checkpoint ${id} of job ${this.d.jobId} failed: ${reason}`);
    this.countFailure(reason);
  }

  private countFailure(reason: string): void {
    if (!this.shutDown) this.failures.handleCheckpointFailure(reason);
  }

  abortAll(reason: string): void {
    for (const id of [...this.pending.keys()]) this.abort(id, reason, 'shutdown');
  }

  /** Deletes shared files nothing refers to any more, once no checkpoint is in flight (one may build on them). */
  private cleanUpSharedState(): void {
    if (this.pending.size === 0) this.store.deleteUnreferencedSharedState();
  }

  /** The job reached a terminal state: stop, and keep or remove retained checkpoints by policy. */
  shutdown(status: JobStatus): void {
    this.stopPeriodic();
    this.abortAll(`Job ${this.d.jobId} reached state ${status}`);
    this.shutDown = true;
    const keep = this.store.shutdown(status, this.d.settings.retention);
    // Leftovers of checkpoints that never completed (tasks cancelled mid-write) belong to nobody.
    for (const f of orphanedSharedFiles(this.d.storage.jobDir)) CheckpointStorage.discard(f);
    if (!keep) this.d.storage.discardJobDirIfEmpty();
  }

  /** GET /jobs/:jobid/checkpoints. */
  stats(): CheckpointStats {
    return this.tracker.stats();
  }
}

/** What the stats tracker needs of a pending checkpoint. */
function tracked(p: PendingCheckpoint): TrackedCheckpoint {
  return {
    id: p.id, isSavepoint: p.kind !== 'CHECKPOINT', location: p.location, triggerTs: p.triggerTs,
    numSubtasks: p.numSubtasks, numAcknowledged: p.numSubtasks - p.notYetAcked.size, unaligned: p.unaligned,
    syncSavepoint: p.kind === 'SAVEPOINT_TERMINATE',
    ...(p.kind !== 'CHECKPOINT' ? { savepointFormat: p.formatType ?? 'CANONICAL' } : {}),
    vertices: p.vertices,
  };
}

/** A handle's full state size: incremental checkpoints count the shared files they refer to, as Flink's stateSize. */
function fullSize(h: StateFileHandle): number {
  return h.size + (h.keyedStateFiles ?? []).reduce((n, f) => n + f.size, 0);
}

function safeSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}
