import { FlinkError, type ErrorKind } from '../core/FlinkError.js';
import { toIOMetricsBody } from './vertexMetrics.js';
import { JOB_STATUSES, type JobStatus } from '../core/JobStatus.js';
import {
  emptyTaskCounts, TASK_STATES, type AsyncOperationStatus, type CheckpointConfig, type JobDetails, type JobSummary,
  type TaskCounts, type VertexSummary,
} from './Dispatcher.js';
import type {
  CheckpointStats, CheckpointStatsEntry, SubtaskCheckpointStats, TaskCheckpointStats,
} from '../checkpoint/CheckpointStatsTracker.js';
import { StatsSummary, type StatsSummarySnapshot } from '../checkpoint/StatsSummary.js';
import { JOBMANAGER_LOCATION_PREFIX } from '../checkpoint/CheckpointStorage.js';
import { serializeThrowable } from './SerializedThrowable.js';
import type { CheckpointType } from '../checkpoint/CheckpointOptions.js';
import { parseFormatType, type SavepointFormatType } from '../core/SavepointFormatType.js';

/**
 * Wire shapes of the subset of Flink's REST API (v1) that the JobManager serves, and the server's side of it:
 * Dispatcher values into these shapes, request bodies validated. The client turns them back in decode.ts.
 * Field names follow Flink's JSON (kebab-case in some messages, snake_case in checkpoint statistics, camelCase
 * in request bodies).
 */

// ---------------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------------

export interface ErrorResponseBody {
  errors: string[];
}

export interface DashboardConfigurationBody {
  'refresh-interval': number;
  'timezone-name': string;
  'timezone-offset': number;
  'flink-version': string;
  'flink-revision': string;
  features: { 'web-submit': boolean; 'web-cancel': boolean; 'web-rescale': boolean; 'web-history': boolean };
}

export interface ClusterOverviewBody {
  taskmanagers: number;
  'slots-total': number;
  'slots-available': number;
  'slots-free-and-blocked': number;
  'taskmanagers-blocked': number;
  'jobs-running': number;
  'jobs-finished': number;
  'jobs-cancelled': number;
  'jobs-failed': number;
  'flink-version': string;
  'flink-commit': string;
}

export interface JobIdsWithStatusBody {
  jobs: Array<{ id: string; status: JobStatus }>;
}

/** Flink's per-state task counts as serialized in job overviews (lower-case keys plus a total). */
export type WireTaskCounts = { total: number } & { [K in Lowercase<keyof TaskCounts>]: number };

export interface JobOverviewBody {
  jid: string;
  name: string;
  state: JobStatus;
  'start-time': number;
  'end-time': number;
  duration: number;
  'last-modification': number;
  tasks: WireTaskCounts;
  'pending-operators': number;
}

export interface MultipleJobsDetailsBody {
  jobs: JobOverviewBody[];
}

/** Flink's IOMetricsInfo. */
export interface IOMetricsBody {
  'read-bytes': number;
  'read-bytes-complete': boolean;
  'write-bytes': number;
  'write-bytes-complete': boolean;
  'read-records': number;
  'read-records-complete': boolean;
  'write-records': number;
  'write-records-complete': boolean;
  'accumulated-backpressured-time': number;
  'accumulated-idle-time': number;
  'accumulated-busy-time': number;
}

export interface VertexBody {
  id: string;
  slotSharingGroupId: string;
  name: string;
  maxParallelism: number;
  parallelism: number;
  status: string;
  'start-time': number;
  'end-time': number;
  duration: number;
  tasks: Record<keyof TaskCounts, number>;
  metrics: IOMetricsBody;
}

/** Flink's JobPlanInfo.Plan (typed in 2.x: every field of a node is required). */
export interface PlanBody {
  jid: string;
  name: string;
  type: 'STREAMING';
  nodes: Array<{
    id: string;
    parallelism: number;
    operator: string;
    operator_strategy: string;
    description: string;
    inputs?: Array<{ num: number; id: string; ship_strategy: string; exchange: string }>;
    optimizer_properties: Record<string, never>;
  }>;
}

export interface JobDetailsInfoBody {
  jid: string;
  name: string;
  isStoppable: boolean;
  state: JobStatus;
  'job-type': 'STREAMING';
  'start-time': number;
  'end-time': number;
  duration: number;
  maxParallelism: number;
  now: number;
  timestamps: Record<string, number>;
  vertices: VertexBody[];
  'status-counts': Record<string, number>;
  /** Ours: Flink reports it only as the job metric numRestarts (toJobMetrics). */
  numRestarts: number;
  plan: PlanBody;
  'pending-operators': number;
}

export interface TriggerResponseBody {
  'request-id': string;
}

/**
 * Flink's SerializedThrowable JSON: the class, the stack trace as text, and the Java-serialized
 * org.apache.flink.util.SerializedThrowable (base64), which is what Flink's Java clients read.
 */
export interface SerializedThrowableBody {
  class: string;
  'stack-trace': string;
  'serialized-throwable': string;
  /** Ours, beside Flink's fields (which Java clients read alone): the error kind, so our CLI keeps its exit codes. */
  'x-flink-ts-error-kind'?: ErrorKind;
}

export interface AsynchronousOperationResultBody {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' };
  operation?: { location?: string; 'failure-cause'?: SerializedThrowableBody };
}

/** The figures Flink reports both for a whole checkpoint and for one vertex's part of it. */
interface CheckpointFigures {
  id: number;
  status: CheckpointStatsEntry['status'];
  latest_ack_timestamp: number;
  checkpointed_size: number;
  state_size: number;
  end_to_end_duration: number;
  alignment_buffered: number;
  processed_data: number;
  persisted_data: number;
  num_subtasks: number;
  num_acknowledged_subtasks: number;
}

/** Flink's TaskCheckpointStatistics: one vertex's part of a checkpoint. */
export type TaskCheckpointStatisticsBody = CheckpointFigures;

export interface CheckpointStatisticsBody extends CheckpointFigures {
  className: 'completed' | 'in_progress' | 'failed';
  is_savepoint: boolean;
  savepointFormat: 'CANONICAL' | 'NATIVE' | null;
  trigger_timestamp: number;
  checkpoint_type: 'CHECKPOINT' | 'UNALIGNED_CHECKPOINT' | 'SAVEPOINT' | 'SYNC_SAVEPOINT';
  tasks: Record<string, TaskCheckpointStatisticsBody>;
  external_path?: string;
  discarded?: boolean;
  failure_timestamp?: number;
  failure_message?: string | null;
}

/** Flink's StatsSummaryDto: min/max/avg are longs, the quantiles doubles ("NaN" without values). */
export interface StatsSummaryBody {
  min: number;
  max: number;
  avg: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

export interface CheckpointingStatisticsBody {
  counts: { restored: number; total: number; in_progress: number; completed: number; failed: number };
  summary: {
    checkpointed_size: StatsSummaryBody;
    state_size: StatsSummaryBody;
    end_to_end_duration: StatsSummaryBody;
    alignment_buffered: StatsSummaryBody;
    processed_data: StatsSummaryBody;
    persisted_data: StatsSummaryBody;
  };
  latest: {
    completed: CheckpointStatisticsBody | null;
    savepoint: CheckpointStatisticsBody | null;
    failed: CheckpointStatisticsBody | null;
    restored: { id: number; restore_timestamp: number; is_savepoint: boolean; external_path: string } | null;
  };
  history: CheckpointStatisticsBody[];
}

// ---------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------

export interface SavepointTriggerRequestBody {
  'target-directory'?: string;
  'cancel-job'?: boolean;
  formatType?: SavepointFormatType;
  triggerId?: string;
}

export interface StopWithSavepointRequestBody {
  targetDirectory?: string;
  drain?: boolean;
  formatType?: SavepointFormatType;
  triggerId?: string;
}

export interface SavepointDisposalRequestBody {
  'savepoint-path': string;
}

// ---------------------------------------------------------------------------------------------------------
// Dispatcher values -> wire
// ---------------------------------------------------------------------------------------------------------

export function toWireTaskCounts(t: TaskCounts): WireTaskCounts {
  const out = { total: 0 } as WireTaskCounts;
  for (const s of TASK_STATES) {
    const n = t[s] ?? 0;
    (out as Record<string, number>)[s.toLowerCase()] = n;
    out.total += n;
  }
  return out;
}

function durationOf(start: number, end: number, now: number): number {
  if (start <= 0) return -1;
  return (end > 0 ? end : now) - start;
}

export function toDashboardConfiguration(flinkVersion: string, now = new Date()): DashboardConfigurationBody {
  return {
    'refresh-interval': 3000,
    'timezone-name': Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC',
    // Flink reports the offset in milliseconds east of UTC; getTimezoneOffset is minutes west.
    'timezone-offset': -now.getTimezoneOffset() * 60_000,
    'flink-version': flinkVersion,
    'flink-revision': 'flink-ts',
    features: { 'web-submit': false, 'web-cancel': true, 'web-rescale': false, 'web-history': false },
  };
}

export function toClusterOverview(flinkVersion: string, jobs: JobSummary[], slots = { total: 1, free: 1 }): ClusterOverviewBody {
  const count = (...ss: JobStatus[]) => jobs.filter((j) => ss.includes(j.status)).length;
  const running = jobs.length - count('FINISHED', 'CANCELED', 'FAILED');
  return {
    taskmanagers: 1,
    'slots-total': slots.total,
    'slots-available': slots.free,
    'slots-free-and-blocked': 0,
    'taskmanagers-blocked': 0,
    'jobs-running': running,
    'jobs-finished': count('FINISHED'),
    'jobs-cancelled': count('CANCELED'),
    'jobs-failed': count('FAILED'),
    'flink-version': flinkVersion,
    'flink-commit': 'flink-ts',
  };
}

export function toJobIdsWithStatus(jobs: JobSummary[]): JobIdsWithStatusBody {
  return { jobs: jobs.map((j) => ({ id: j.id, status: j.status })) };
}

export function toJobOverview(j: JobSummary, now = Date.now()): JobOverviewBody {
  return {
    jid: j.id,
    name: j.name,
    state: j.status,
    'start-time': j.startTime,
    'end-time': j.endTime,
    duration: durationOf(j.startTime, j.endTime, now),
    'last-modification': j.lastModification,
    tasks: toWireTaskCounts(j.tasks),
    'pending-operators': 0,
  };
}

/** One slot sharing group ("default") for all vertices, as a job without slotSharingGroup() calls has in Flink. */
const DEFAULT_SLOT_SHARING_GROUP = 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5';

function toVertex(v: VertexSummary, now: number): VertexBody {
  return {
    id: v.id,
    slotSharingGroupId: DEFAULT_SLOT_SHARING_GROUP,
    name: v.name,
    maxParallelism: v.maxParallelism,
    parallelism: v.parallelism,
    status: v.status,
    'start-time': v.startTime,
    'end-time': v.endTime,
    duration: durationOf(v.startTime, v.endTime, now),
    tasks: { ...emptyTaskCounts(), ...v.tasks },
    metrics: toIOMetricsBody(v.metrics),
  };
}

/** The job's dataflow as Flink's JSON plan: a node per job vertex, its inputs the edges (web UI draws the DAG from them). */
export function toPlan(d: JobDetails): PlanBody {
  return {
    jid: d.id,
    name: d.name,
    type: 'STREAMING',
    nodes: d.vertices.map((v) => ({
      id: v.id,
      parallelism: v.parallelism,
      operator: v.operator ?? '',
      operator_strategy: '',
      description: v.name,
      ...(v.inputs && v.inputs.length > 0
        ? { inputs: v.inputs.map((i, num) => ({ num, id: i.id, ship_strategy: i.shipStrategy, exchange: 'pipelined_bounded' })) }
        : {}),
      optimizer_properties: {},
    })),
  };
}

export function toJobDetailsInfo(d: JobDetails, now = Date.now()): JobDetailsInfoBody {
  const statusCounts: Record<string, number> = {};
  for (const s of TASK_STATES) statusCounts[s] = 0;
  for (const v of d.vertices) statusCounts[v.status] = (statusCounts[v.status] ?? 0) + 1;
  return {
    jid: d.id,
    name: d.name,
    isStoppable: d.isStoppable,
    state: d.status,
    'job-type': 'STREAMING',
    'start-time': d.startTime,
    'end-time': d.endTime,
    duration: durationOf(d.startTime, d.endTime, now),
    maxParallelism: d.maxParallelism ?? -1,
    now,
    timestamps: Object.fromEntries(JOB_STATUSES.map((s) => [s, d.timestamps[s] ?? 0])),
    vertices: d.vertices.map((v) => toVertex(v, now)),
    'status-counts': statusCounts,
    numRestarts: d.numRestarts ?? 0,
    plan: toPlan(d),
    'pending-operators': 0,
  };
}

/** GET /jobs/:jobid/status (JobStatusInfo). */
export function toJobStatusInfo(d: JobSummary): { status: JobStatus } {
  return { status: d.status };
}

/** Flink's ApplicationStatus of a terminal job. */
function applicationStatus(s: JobStatus): 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'UNKNOWN' {
  return s === 'FINISHED' ? 'SUCCEEDED' : s === 'FAILED' ? 'FAILED' : s === 'CANCELED' ? 'CANCELED' : 'UNKNOWN';
}

export interface JobExecutionResultBody {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' };
  'job-execution-result'?: {
    id: string;
    'application-status': string;
    'accumulator-results': Record<string, never>;
    'net-runtime': number;
    'failure-cause'?: SerializedThrowableBody;
  };
}

/** GET /jobs/:jobid/execution-result: IN_PROGRESS until the job is globally terminal, then Flink's JobResult. */
export function toJobExecutionResult(d: JobDetails): JobExecutionResultBody {
  if (!['FINISHED', 'FAILED', 'CANCELED'].includes(d.status)) return { status: { id: 'IN_PROGRESS' } };
  return {
    status: { id: 'COMPLETED' },
    'job-execution-result': {
      id: d.id,
      'application-status': applicationStatus(d.status),
      'accumulator-results': {},
      'net-runtime': d.endTime > 0 && d.startTime > 0 ? d.endTime - d.startTime : 0,
      ...(d.status === 'FAILED'
        ? { 'failure-cause': toSerializedThrowable(d.failureCause ?? 'The job failed.', 'org.apache.flink.runtime.JobException') }
        : {}),
    },
  };
}

/** GET /jobs/:jobid/metrics[?get=a,b]: Flink's job metrics list; numRestarts is the one a mini-cluster job has. */
export function toJobMetrics(d: JobDetails, get: string | null): Array<{ id: string; value?: string }> {
  const metrics: Record<string, string> = { numRestarts: String(d.numRestarts ?? 0) };
  if (get === null) return Object.keys(metrics).map((id) => ({ id }));
  return get.split(',').map((id) => id.trim()).filter((id) => id in metrics).map((id) => ({ id, value: metrics[id] }));
}

export interface ExceptionInfoBody {
  exceptionName: string;
  stacktrace: string;
  timestamp: number;
  taskName: string | null;
  endpoint: string | null;
  taskManagerId: string | null;
  failureLabels: Record<string, string>;
}

export interface JobExceptionsBody {
  exceptionHistory: { entries: Array<ExceptionInfoBody & { concurrentExceptions: ExceptionInfoBody[] }>; truncated: boolean };
}

/** GET /jobs/:jobid/exceptions (Flink 2.x JobExceptionsInfoWithHistory): newest first, at most maxExceptions. */
export function toJobExceptions(d: JobDetails, maxExceptions = 20): JobExceptionsBody {
  const all = [...(d.exceptions ?? [])].reverse();
  return {
    exceptionHistory: {
      entries: all.slice(0, maxExceptions).map((e) => ({
        exceptionName: e.exceptionName,
        stacktrace: e.stacktrace,
        timestamp: e.timestamp,
        taskName: e.taskName ?? null,
        endpoint: e.taskName ? 'localhost' : null,
        taskManagerId: e.taskName ? 'local' : null,
        failureLabels: {},
        concurrentExceptions: [],
      })),
      truncated: all.length > maxExceptions,
    },
  };
}

/** GET /jobs/:jobid/config (JobConfigInfo). */
export function toJobConfigInfo(d: JobDetails): {
  jid: string; name: string;
  'execution-config': { 'restart-strategy': string; 'job-parallelism': number; 'object-reuse-mode': boolean; 'user-config': Record<string, string> };
} {
  const c = d.executionConfig ?? { parallelism: 1, restartStrategy: 'Cluster level default restart strategy', objectReuse: false, userConfig: {} };
  return {
    jid: d.id,
    name: d.name,
    'execution-config': {
      'restart-strategy': c.restartStrategy,
      'job-parallelism': c.parallelism,
      'object-reuse-mode': c.objectReuse,
      'user-config': c.userConfig,
    },
  };
}

/** GET /jobmanager/config (ClusterConfigurationInfo): every key and value as strings, sorted by key. */
export function toConfigurationInfo(config: Record<string, string>): Array<{ key: string; value: string }> {
  return Object.keys(config).sort().map((key) => ({ key, value: config[key]! }));
}

/** GET /taskmanagers: the mini-cluster's one TaskManager (the worker threads of this process). */
export function toTaskManagersInfo(slots: { total: number; free: number }, hardware: { cpuCores: number; physicalMemory: number; freeMemory: number }): {
  taskmanagers: Array<Record<string, unknown>>;
} {
  const resource = (slotsShare: number) => ({
    cpuCores: slotsShare, taskHeapMemory: 0, taskOffHeapMemory: 0, managedMemory: 0, networkMemory: 0, extendedResources: {},
  });
  return {
    taskmanagers: [{
      id: 'localhost:0-flink-ts',
      path: 'local',
      dataPort: -1,
      jmxPort: -1,
      timeSinceLastHeartbeat: Date.now(),
      slotsNumber: slots.total,
      freeSlots: slots.free,
      totalResource: resource(slots.total),
      freeResource: resource(slots.free),
      hardware: { cpuCores: hardware.cpuCores, physicalMemory: hardware.physicalMemory, freeMemory: hardware.freeMemory, managedMemory: 0 },
      memoryConfiguration: {
        frameworkHeap: 0, taskHeap: 0, frameworkOffHeap: 0, taskOffHeap: 0, networkMemory: 0, managedMemory: 0,
        jvmMetaspace: 0, jvmOverhead: 0, totalFlinkMemory: 0, totalProcessMemory: 0,
      },
      blocked: false,
    }],
  };
}

/** Flink's class for failures this cluster reports without a more specific one. */
export const DEFAULT_FAILURE_CLASS = 'org.apache.flink.util.FlinkException';

export function toSerializedThrowable(message: string, className = DEFAULT_FAILURE_CLASS, kind?: ErrorKind): SerializedThrowableBody {
  const trace = `${className}: ${message}`;
  return {
    class: className, 'stack-trace': trace, 'serialized-throwable': serializeThrowable(className, message, trace),
    ...(kind ? { 'x-flink-ts-error-kind': kind } : {}),
  };
}

export function toAsyncOperationResult(s: AsyncOperationStatus, withLocation = true): AsynchronousOperationResultBody {
  if (s.status === 'IN_PROGRESS') return { status: { id: 'IN_PROGRESS' } };
  if ('failureCause' in s) return { status: { id: 'COMPLETED' }, operation: { 'failure-cause': toSerializedThrowable(s.failureCause, s.failureClass, s.failureKind) } };
  // Disposal results carry no location in Flink (AsynchronousOperationInfo), savepoint results do (SavepointInfo).
  return { status: { id: 'COMPLETED' }, operation: withLocation ? { location: s.location } : {} };
}

/** Flink gives checkpoint locations as URIs (`file:/…/chk-3`); in-memory ones are not externally addressable. */
function externalPointer(dir: string): string {
  if (dir.startsWith(JOBMANAGER_LOCATION_PREFIX)) return '<checkpoint-not-externally-addressable>';
  return /^[a-z][a-z0-9+.-]*:/i.test(dir) ? dir : `file:${dir}`;
}

function checkpointType(e: CheckpointStatsEntry): CheckpointStatisticsBody['checkpoint_type'] {
  if (e.isSavepoint) return e.syncSavepoint ? 'SYNC_SAVEPOINT' : 'SAVEPOINT';
  return e.unaligned ? 'UNALIGNED_CHECKPOINT' : 'CHECKPOINT';
}

function taskStatsOf(e: CheckpointStatsEntry, t: TaskCheckpointStats): TaskCheckpointStatisticsBody {
  const latestAck = t.subtasks.reduce((m, s) => Math.max(m, s.ackTimestamp), -1);
  const sum = (k: 'stateSize' | 'checkpointedSize' | 'processedData' | 'persistedData') => t.subtasks.reduce((n, s) => n + s[k], 0);
  return {
    id: e.id,
    status: e.status,
    latest_ack_timestamp: latestAck,
    checkpointed_size: sum('checkpointedSize'),
    state_size: sum('stateSize'),
    end_to_end_duration: latestAck > 0 ? Math.max(0, latestAck - e.triggerTimestamp) : -1,
    alignment_buffered: 0,
    processed_data: sum('processedData'),
    persisted_data: sum('persistedData'),
    num_subtasks: t.numSubtasks,
    num_acknowledged_subtasks: t.subtasks.length,
  };
}

/**
 * One checkpoint as Flink's CheckpointStatistics. The list endpoint leaves `tasks` empty (as Flink does);
 * /checkpoints/details/:id fills it per job vertex.
 */
export function toCheckpointStatistics(e: CheckpointStatsEntry, withTasks = false): CheckpointStatisticsBody {
  const body: CheckpointStatisticsBody = {
    className: e.status === 'COMPLETED' ? 'completed' : e.status === 'FAILED' ? 'failed' : 'in_progress',
    id: e.id,
    status: e.status,
    is_savepoint: e.isSavepoint,
    savepointFormat: e.isSavepoint ? e.savepointFormat ?? 'CANONICAL' : null,
    trigger_timestamp: e.triggerTimestamp,
    latest_ack_timestamp: e.latestAckTimestamp,
    checkpointed_size: e.checkpointedSize,
    state_size: e.stateSize,
    end_to_end_duration: e.endToEndDuration,
    // Deprecated in Flink since 1.11 and always 0 there.
    alignment_buffered: 0,
    processed_data: e.processedData,
    persisted_data: e.persistedData,
    num_subtasks: e.numSubtasks,
    num_acknowledged_subtasks: e.numAcknowledgedSubtasks,
    checkpoint_type: checkpointType(e),
    tasks: withTasks ? Object.fromEntries(e.tasks.map((t) => [t.vertexId, taskStatsOf(e, t)])) : {},
  };
  if (e.status === 'COMPLETED') {
    if (e.externalPath !== undefined) body.external_path = externalPointer(e.externalPath);
    body.discarded = e.discarded;
  }
  if (e.status === 'FAILED') {
    body.failure_timestamp = e.failureTimestamp ?? e.latestAckTimestamp;
    body.failure_message = e.failureMessage ?? null;
  }
  return body;
}

export function toStatsSummary(s: StatsSummarySnapshot): StatsSummaryBody {
  return {
    min: s.min, max: s.max, avg: s.avg,
    p50: s.quantile(0.5), p90: s.quantile(0.9), p95: s.quantile(0.95), p99: s.quantile(0.99), p999: s.quantile(0.999),
  };
}

const NAN_QUANTILES = { p50: Number.NaN, p90: Number.NaN, p95: Number.NaN, p99: Number.NaN, p999: Number.NaN };

/** Flink reports the deprecated alignment_buffered summary as all zeros. */
const ZERO_SUMMARY: StatsSummaryBody = { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 };

export function toCheckpointingStatistics(s: CheckpointStats): CheckpointingStatisticsBody {
  return {
    counts: {
      restored: s.counts.restored,
      total: s.counts.total,
      in_progress: s.counts.inProgress,
      completed: s.counts.completed,
      failed: s.counts.failed,
    },
    summary: {
      checkpointed_size: toStatsSummary(s.summary.checkpointedSize),
      state_size: toStatsSummary(s.summary.stateSize),
      end_to_end_duration: toStatsSummary(s.summary.endToEndDuration),
      alignment_buffered: { ...ZERO_SUMMARY },
      processed_data: toStatsSummary(s.summary.processedData),
      persisted_data: toStatsSummary(s.summary.persistedData),
    },
    latest: {
      completed: s.latestCompleted ? toCheckpointStatistics(s.latestCompleted) : null,
      savepoint: s.latestSavepoint ? toCheckpointStatistics(s.latestSavepoint) : null,
      failed: s.latestFailed ? toCheckpointStatistics(s.latestFailed) : null,
      restored: s.restored
        ? {
          id: s.restored.id,
          restore_timestamp: s.restored.restoreTimestamp,
          is_savepoint: s.restored.isSavepoint,
          external_path: externalPointer(s.restored.externalPath),
        }
        : null,
    },
    history: s.history.map((e) => toCheckpointStatistics(e)),
  };
}

/** GET …/checkpoints/details/:checkpointid/subtasks/:vertexid (TaskCheckpointStatisticsWithSubtaskDetails). */
export function toTaskCheckpointStatisticsWithSubtasks(e: CheckpointStatsEntry, vertexId: string): Record<string, unknown> | undefined {
  const t = e.tasks.find((x) => x.vertexId === vertexId);
  if (!t) return undefined;
  const acked = new Map(t.subtasks.map((s) => [s.subtask, s]));
  // Flink keeps no histogram per task: min/max/avg only, the quantiles NaN.
  const summaryOf = (f: (s: SubtaskCheckpointStats) => number) => ({ ...toStatsSummary(StatsSummary.of(t.subtasks.map(f))), ...NAN_QUANTILES });
  return {
    ...taskStatsOf(e, t),
    summary: {
      checkpointed_size: summaryOf((s) => s.checkpointedSize),
      state_size: summaryOf((s) => s.stateSize),
      end_to_end_duration: summaryOf((s) => Math.max(0, s.ackTimestamp - e.triggerTimestamp)),
      checkpoint_duration: { sync: summaryOf((s) => s.syncMs), async: summaryOf((s) => s.asyncMs) },
      alignment: {
        buffered: { ...ZERO_SUMMARY },
        processed: summaryOf((s) => s.processedData),
        persisted: summaryOf((s) => s.persistedData),
        duration: summaryOf((s) => s.alignmentMs),
      },
      start_delay: summaryOf((s) => s.startDelayMs),
    },
    subtasks: Array.from({ length: t.numSubtasks }, (_, index) => {
      const s = acked.get(index);
      if (!s) return { className: 'pending_or_failed', index, status: 'pending_or_failed' };
      return {
        className: 'completed',
        index,
        status: 'completed',
        ack_timestamp: s.ackTimestamp,
        end_to_end_duration: Math.max(0, s.ackTimestamp - e.triggerTimestamp),
        checkpointed_size: s.checkpointedSize,
        state_size: s.stateSize,
        checkpoint: { sync: s.syncMs, async: s.asyncMs },
        alignment: { buffered: 0, processed: s.processedData, persisted: s.persistedData, duration: s.alignmentMs },
        start_delay: s.startDelayMs,
        unaligned_checkpoint: s.unaligned,
        aborted: false,
      };
    }),
  };
}

export interface CheckpointOperationResultBody {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' };
  operation?: { checkpointId: number | null; location?: string; failureCause?: SerializedThrowableBody };
}

/**
 * GET /jobs/:jobid/checkpoints/:triggerid: Flink's CheckpointInfo is {checkpointId, failureCause}; the
 * checkpoint's location is added, as savepoint results carry theirs.
 */
export function toCheckpointOperationResult(s: AsyncOperationStatus): CheckpointOperationResultBody {
  if (s.status === 'IN_PROGRESS') return { status: { id: 'IN_PROGRESS' } };
  if ('failureCause' in s) return { status: { id: 'COMPLETED' }, operation: { checkpointId: null, failureCause: toSerializedThrowable(s.failureCause, s.failureClass, s.failureKind) } };
  return { status: { id: 'COMPLETED' }, operation: { checkpointId: s.checkpointId ?? null, location: s.location } };
}

/** Flink's CheckpointConfigInfo (GET /jobs/:jobid/checkpoints/config). */
export const JAVA_LONG_MAX = 9223372036854775807n;

export interface CheckpointConfigInfo {
  mode: 'exactly_once' | 'at_least_once';
  interval: number | bigint;
  timeout: number;
  min_pause: number;
  max_concurrent: number;
  externalization: { enabled: boolean; delete_on_cancellation: boolean };
  state_backend: string;
  checkpoint_storage: string;
  unaligned_checkpoints: boolean;
  tolerable_failed_checkpoints: number;
  aligned_checkpoint_timeout: number;
  checkpoints_after_tasks_finish: boolean;
  state_changelog_enabled: boolean;
  changelog_periodic_materialization_interval: number;
  changelog_storage: string;
}

export function toCheckpointConfigInfo(c: CheckpointConfig): CheckpointConfigInfo {
  return {
    mode: c.mode === 'EXACTLY_ONCE' ? 'exactly_once' : 'at_least_once',
    // Flink reports Long.MAX_VALUE for a job without periodic checkpoints; a bigint keeps every digit on the wire.
    interval: c.interval ?? JAVA_LONG_MAX,
    timeout: c.timeout,
    min_pause: c.minPause,
    max_concurrent: c.maxConcurrent,
    externalization: { enabled: c.retention !== 'NO_EXTERNALIZED_CHECKPOINTS', delete_on_cancellation: c.retention !== 'RETAIN_ON_CANCELLATION' },
    state_backend: c.stateBackend ?? 'HashMapStateBackend',
    checkpoint_storage: c.checkpointStorage ?? 'FileSystemCheckpointStorage',
    unaligned_checkpoints: c.unaligned,
    tolerable_failed_checkpoints: c.tolerableFailures,
    aligned_checkpoint_timeout: c.alignedTimeout,
    checkpoints_after_tasks_finish: true,
    state_changelog_enabled: false,
    // Flink's defaults (state.changelog.*), reported although the changelog backend is off.
    changelog_periodic_materialization_interval: 600_000,
    changelog_storage: 'memory',
  };
}

// ---------------------------------------------------------------------------------------------------------
// Request validation (server side). Messages echo Flink's "Request did not match expected format" wording.
// ---------------------------------------------------------------------------------------------------------

function badRequest(type: string, why: string): FlinkError {
  return new FlinkError('invalid-argument', `Request did not match expected format ${type}: ${why}`);
}

function asObject(body: unknown, type: string): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest(type, 'expected a JSON object');
  return body as Record<string, unknown>;
}

function optString(o: Record<string, unknown>, key: string, type: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(type, `'${key}' must be a string`);
  return v;
}

function optBoolean(o: Record<string, unknown>, key: string, type: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(type, `'${key}' must be a boolean`);
  return v;
}

/** The request's formatType, read by the one parser the CLI uses too; a bad value is a bad request. */
function optFormatType(o: Record<string, unknown>, type: string): SavepointFormatType | undefined {
  try {
    return parseFormatType(o.formatType);
  } catch {
    throw badRequest(type, "'formatType' must be CANONICAL or NATIVE");
  }
}

/** Flink's TriggerId: 16 random bytes as 32 hex characters; anything else is a bad request. */
function withTriggerId(o: Record<string, unknown>, type: string): { triggerId?: string } {
  const triggerId = optTriggerId(o, type);
  return triggerId === undefined ? {} : { triggerId };
}

function optTriggerId(o: Record<string, unknown>, type: string): string | undefined {
  const v = optString(o, 'triggerId', type);
  if (v === undefined) return undefined;
  if (!/^[0-9a-fA-F]{32}$/.test(v)) throw badRequest(type, "'triggerId' must be 32 hexadecimal characters");
  return v.toLowerCase();
}

export function parseSavepointTriggerRequest(body: unknown): {
  targetDirectory?: string; cancelJob: boolean; formatType?: SavepointFormatType; triggerId?: string;
} {
  const T = 'SavepointTriggerRequestBody';
  const o = asObject(body, T);
  return {
    targetDirectory: optString(o, 'target-directory', T),
    cancelJob: optBoolean(o, 'cancel-job', T) ?? false,
    formatType: optFormatType(o, T),
    ...withTriggerId(o, T),
  };
}

export function parseStopWithSavepointRequest(body: unknown): {
  targetDirectory?: string; drain: boolean; formatType?: SavepointFormatType; triggerId?: string;
} {
  const T = 'StopWithSavepointRequestBody';
  const o = asObject(body, T);
  return {
    targetDirectory: optString(o, 'targetDirectory', T),
    drain: optBoolean(o, 'drain', T) ?? false,
    formatType: optFormatType(o, T),
    ...withTriggerId(o, T),
  };
}

export function parseSavepointDisposalRequest(body: unknown): { savepointPath: string } {
  const T = 'SavepointDisposalRequestBody';
  const p = optString(asObject(body, T), 'savepoint-path', T);
  if (p === undefined || p === '') throw badRequest(T, "'savepoint-path' is required");
  return { savepointPath: p };
}

/** POST /jobs/:jobid/checkpoints body (CheckpointTriggerRequestBody); an empty body means CONFIGURED. */
export function parseCheckpointTriggerRequest(body: unknown): { checkpointType: CheckpointType; triggerId?: string } {
  const T = 'CheckpointTriggerRequestBody';
  const o = body === undefined || body === null ? {} : asObject(body, T);
  const v = o.checkpointType;
  const triggerId = optTriggerId(o, T);
  if (v === undefined || v === null) return { checkpointType: 'CONFIGURED', triggerId };
  const t = typeof v === 'string' ? v.toUpperCase() : undefined;
  if (t !== 'FULL' && t !== 'INCREMENTAL' && t !== 'CONFIGURED') throw badRequest(T, "'checkpointType' must be CONFIGURED, FULL or INCREMENTAL");
  return { checkpointType: t, triggerId };
}
