import { FlinkError } from '../core/FlinkError.js';
import { JOB_STATUSES, type JobStatus } from '../core/JobStatus.js';
import {
  emptyTaskCounts, TASK_STATES, type AsyncOperationStatus, type CheckpointConfig, type JobDetails, type JobSummary,
  type TaskCounts, type VertexSummary,
} from './Dispatcher.js';
import type { CheckpointStats, CheckpointStatsEntry } from '../checkpoint/CheckpointStatsTracker.js';
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
}

export interface MultipleJobsDetailsBody {
  jobs: JobOverviewBody[];
}

export interface VertexBody {
  id: string;
  name: string;
  maxParallelism: number;
  parallelism: number;
  status: string;
  'start-time': number;
  'end-time': number;
  duration: number;
  tasks: Record<keyof TaskCounts, number>;
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
  plan: { jid: string; name: string; type: 'STREAMING'; nodes: Array<{ id: string; parallelism: number; description: string }> };
}

export interface TriggerResponseBody {
  'request-id': string;
}

/**
 * Flink serializes the Java throwable; we have no Java object to ship, so the cause travels as its class and
 * a Java-style "Class: message" stack trace, which is what a reader of Flink's JSON looks at anyway.
 */
export interface SerializedThrowableBody {
  class: string;
  'stack-trace': string;
}

export interface AsynchronousOperationResultBody {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' };
  operation?: { location?: string; 'failure-cause'?: SerializedThrowableBody };
}

export interface CheckpointStatisticsBody {
  className: 'completed' | 'in_progress' | 'failed';
  id: number;
  status: CheckpointStatsEntry['status'];
  is_savepoint: boolean;
  trigger_timestamp: number;
  latest_ack_timestamp: number;
  state_size: number;
  end_to_end_duration: number;
  num_subtasks: number;
  num_acknowledged_subtasks: number;
  checkpoint_type: 'CHECKPOINT' | 'UNALIGNED_CHECKPOINT' | 'SAVEPOINT';
  tasks: Record<string, never>;
  external_path?: string;
  discarded?: boolean;
  failure_message?: string;
}

export interface CheckpointingStatisticsBody {
  counts: { restored: number; total: number; in_progress: number; completed: number; failed: number };
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

export function toClusterOverview(flinkVersion: string, jobs: JobSummary[], slots = 1): ClusterOverviewBody {
  const count = (...ss: JobStatus[]) => jobs.filter((j) => ss.includes(j.status)).length;
  const running = jobs.length - count('FINISHED', 'CANCELED', 'FAILED');
  return {
    taskmanagers: 1,
    'slots-total': slots,
    'slots-available': Math.max(0, slots - running),
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
  };
}

function toVertex(v: VertexSummary, now: number): VertexBody {
  return {
    id: v.id,
    name: v.name,
    maxParallelism: v.maxParallelism,
    parallelism: v.parallelism,
    status: v.status,
    'start-time': v.startTime,
    'end-time': v.endTime,
    duration: durationOf(v.startTime, v.endTime, now),
    tasks: { ...emptyTaskCounts(), ...v.tasks },
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
    maxParallelism: -1,
    now,
    timestamps: Object.fromEntries(JOB_STATUSES.map((s) => [s, d.timestamps[s] ?? 0])),
    vertices: d.vertices.map((v) => toVertex(v, now)),
    'status-counts': statusCounts,
    numRestarts: d.numRestarts ?? 0,
    plan: {
      jid: d.id,
      name: d.name,
      type: 'STREAMING',
      nodes: d.vertices.map((v) => ({ id: v.id, parallelism: v.parallelism, description: v.name })),
    },
  };
}

/** GET /jobs/:jobid/metrics[?get=a,b]: Flink's job metrics list; numRestarts is the one a mini-cluster job has. */
export function toJobMetrics(d: JobDetails, get: string | null): Array<{ id: string; value?: string }> {
  const metrics: Record<string, string> = { numRestarts: String(d.numRestarts ?? 0) };
  if (get === null) return Object.keys(metrics).map((id) => ({ id }));
  return get.split(',').map((id) => id.trim()).filter((id) => id in metrics).map((id) => ({ id, value: metrics[id] }));
}

export function toSerializedThrowable(message: string, className = 'FlinkError'): SerializedThrowableBody {
  return { class: className, 'stack-trace': `${className}: ${message}` };
}

export function toAsyncOperationResult(s: AsyncOperationStatus, withLocation = true): AsynchronousOperationResultBody {
  if (s.status === 'IN_PROGRESS') return { status: { id: 'IN_PROGRESS' } };
  if ('failureCause' in s) return { status: { id: 'COMPLETED' }, operation: { 'failure-cause': toSerializedThrowable(s.failureCause) } };
  // Disposal results carry no location in Flink (AsynchronousOperationInfo), savepoint results do (SavepointInfo).
  return { status: { id: 'COMPLETED' }, operation: withLocation ? { location: s.location } : {} };
}

function toCheckpointStatistics(e: CheckpointStatsEntry): CheckpointStatisticsBody {
  const body: CheckpointStatisticsBody = {
    className: e.status === 'COMPLETED' ? 'completed' : e.status === 'FAILED' ? 'failed' : 'in_progress',
    id: e.id,
    status: e.status,
    is_savepoint: e.isSavepoint,
    trigger_timestamp: e.triggerTimestamp,
    latest_ack_timestamp: e.latestAckTimestamp,
    state_size: e.stateSize,
    end_to_end_duration: e.endToEndDuration,
    num_subtasks: e.numSubtasks,
    num_acknowledged_subtasks: e.numAcknowledgedSubtasks,
    checkpoint_type: e.isSavepoint ? 'SAVEPOINT' : e.unaligned ? 'UNALIGNED_CHECKPOINT' : 'CHECKPOINT',
    tasks: {},
  };
  if (e.status === 'COMPLETED') {
    if (e.externalPath !== undefined) body.external_path = e.externalPath;
    body.discarded = e.discarded;
  }
  if (e.status === 'FAILED' && e.failureMessage !== undefined) body.failure_message = e.failureMessage;
  return body;
}

export function toCheckpointingStatistics(s: CheckpointStats): CheckpointingStatisticsBody {
  return {
    counts: {
      restored: s.counts.restored,
      total: s.counts.total,
      in_progress: s.counts.inProgress,
      completed: s.counts.completed,
      failed: s.counts.failed,
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
          external_path: s.restored.externalPath,
        }
        : null,
    },
    history: s.history.map(toCheckpointStatistics),
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
  if ('failureCause' in s) return { status: { id: 'COMPLETED' }, operation: { checkpointId: null, failureCause: toSerializedThrowable(s.failureCause) } };
  return { status: { id: 'COMPLETED' }, operation: { checkpointId: s.checkpointId ?? null, location: s.location } };
}

/** Flink's CheckpointConfigInfo (GET /jobs/:jobid/checkpoints/config). */
export interface CheckpointConfigInfo {
  mode: 'exactly_once' | 'at_least_once';
  interval: number;
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
}

export function toCheckpointConfigInfo(c: CheckpointConfig): CheckpointConfigInfo {
  return {
    mode: c.mode === 'EXACTLY_ONCE' ? 'exactly_once' : 'at_least_once',
    interval: c.interval ?? 0x7fffffffffffffff,
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

export function parseSavepointTriggerRequest(body: unknown): {
  targetDirectory?: string; cancelJob: boolean; formatType?: SavepointFormatType;
} {
  const T = 'SavepointTriggerRequestBody';
  const o = asObject(body, T);
  return {
    targetDirectory: optString(o, 'target-directory', T),
    cancelJob: optBoolean(o, 'cancel-job', T) ?? false,
    formatType: optFormatType(o, T),
  };
}

export function parseStopWithSavepointRequest(body: unknown): {
  targetDirectory?: string; drain: boolean; formatType?: SavepointFormatType;
} {
  const T = 'StopWithSavepointRequestBody';
  const o = asObject(body, T);
  return {
    targetDirectory: optString(o, 'targetDirectory', T),
    drain: optBoolean(o, 'drain', T) ?? false,
    formatType: optFormatType(o, T),
  };
}

export function parseSavepointDisposalRequest(body: unknown): { savepointPath: string } {
  const T = 'SavepointDisposalRequestBody';
  const p = optString(asObject(body, T), 'savepoint-path', T);
  if (p === undefined || p === '') throw badRequest(T, "'savepoint-path' is required");
  return { savepointPath: p };
}

/** POST /jobs/:jobid/checkpoints body (CheckpointTriggerRequestBody); an empty body means CONFIGURED. */
export function parseCheckpointTriggerRequest(body: unknown): { checkpointType: CheckpointType } {
  const T = 'CheckpointTriggerRequestBody';
  const o = body === undefined || body === null ? {} : asObject(body, T);
  const v = o.checkpointType;
  if (v === undefined || v === null) return { checkpointType: 'CONFIGURED' };
  const t = typeof v === 'string' ? v.toUpperCase() : undefined;
  if (t !== 'FULL' && t !== 'INCREMENTAL' && t !== 'CONFIGURED') throw badRequest(T, "'checkpointType' must be CONFIGURED, FULL or INCREMENTAL");
  return { checkpointType: t };
}
