import type { CheckpointType } from '../checkpoint/CheckpointOptions.js';
import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import type { CheckpointStats, CheckpointStatsEntry } from '../checkpoint/CheckpointStatsTracker.js';
import type { JobStatus } from '../core/JobStatus.js';
import type { ErrorKind } from '../core/FlinkError.js';

/**
 * What the REST endpoint needs from the cluster. The mini-cluster's JobManager implements it; the REST
 * server only translates HTTP to these calls, with Flink's paths and JSON shapes (messages.ts).
 * Methods throw FlinkError('not-found') for unknown jobs/triggers and FlinkError('conflict') when the
 * job's state does not allow the request (savepoint and checkpoint triggers of an unknown or not running job are
 * accepted and fail in their result, as in Flink). A client-supplied trigger id (Flink's `triggerId`)
 * names the operation; the same id again for the same job is the same operation.
 */
export interface TaskCounts {
  CREATED: number;
  SCHEDULED: number;
  DEPLOYING: number;
  RUNNING: number;
  FINISHED: number;
  CANCELING: number;
  CANCELED: number;
  FAILED: number;
  RECONCILING: number;
  INITIALIZING: number;
}

/** Flink's ExecutionState names, in the order its web UI lists them. */
export const TASK_STATES = [
  'CREATED', 'SCHEDULED', 'DEPLOYING', 'RUNNING', 'FINISHED', 'CANCELING', 'CANCELED', 'FAILED', 'RECONCILING',
  'INITIALIZING',
] as const satisfies ReadonlyArray<keyof TaskCounts>;

export function emptyTaskCounts(): TaskCounts {
  return Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as unknown as TaskCounts;
}

export interface JobSummary {
  id: string;
  name: string;
  status: JobStatus;
  startTime: number;
  endTime: number; // -1 while running
  lastModification: number;
  tasks: TaskCounts; // per subtask execution state
}

export interface VertexSummary {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  status: string;
  startTime: number;
  endTime: number;
  tasks: TaskCounts;
  /** Upstream vertices and how records are shipped (Flink's plan node inputs: HASH, FORWARD, REBALANCE, ...). */
  inputs?: Array<{ id: string; shipStrategy: string }>;
  /** Chained operators' names and kinds, for the plan's node descriptions. */
  operator?: string;
  /** Records and bytes in and out so far; absent where the cluster does not measure them. */
  metrics?: IOMetrics;
}

/** A vertex's I/O (Flink's IOMetricsInfo): counts summed over subtasks; times in ms, the maximum over subtasks. */
export interface IOMetrics {
  readRecords: number;
  writeRecords: number;
  readBytes: number;
  writeBytes: number;
  /** Every subtask reported. */
  complete: boolean;
  accumulatedBusyTime: number;
  accumulatedIdleTime: number;
  accumulatedBackPressuredTime: number;
}

/** One subtask's task metrics by Flink's names (numRecordsIn, busyTimeMsPerSecond, ...), and its input watermark. */
export interface SubtaskMetrics {
  subtask: number;
  attempt: number;
  values: Record<string, number>;
  /** currentInputWatermark, Number.MIN_SAFE_INTEGER before the first (Flink's Long.MIN_VALUE); absent for sources. */
  watermark?: number;
}

/** One failure of the job, for /jobs/:id/exceptions (Flink's exception history entry). */
export interface JobException {
  timestamp: number;
  /** Java-style class name of the cause (the JS error name when it has none). */
  exceptionName: string;
  message: string;
  stacktrace: string;
  /** The subtask that failed, "Name (i/p)", when a task failed. */
  taskName?: string;
}

export interface JobDetails extends JobSummary {
  isStoppable: boolean;
  /** Flink's numRestarts job metric (unknown when a cluster does not report it with the details). */
  numRestarts?: number;
  vertices: VertexSummary[];
  timestamps: Partial<Record<JobStatus, number>>;
  maxParallelism?: number;
  /** Root cause when FAILED. */
  failureCause?: string;
  /** Failures since the job started, oldest first (restarts and the final one). */
  exceptions?: JobException[];
  /** What /jobs/:id/config reports (Flink's ExecutionConfigInfo). */
  executionConfig?: { parallelism: number; restartStrategy: string; objectReuse: boolean; userConfig: Record<string, string> };
}

/** Status of an asynchronous operation (savepoint trigger, stop, disposal). */
export type AsyncOperationStatus =
  | { status: 'IN_PROGRESS' }
  | { status: 'COMPLETED'; location: string; checkpointId?: number }
  | { status: 'COMPLETED'; failureCause: string; failureClass?: string; failureKind?: ErrorKind };

export interface Dispatcher {
  /** Flink's cluster/dashboard version string reported by /config and /overview. */
  readonly flinkVersion: string;
  listJobs(): JobSummary[];
  jobDetails(jobId: string): JobDetails;
  cancelJob(jobId: string): void;
  /** Starts a savepoint (optionally cancelling the job after it completes); returns the trigger id. */
  triggerSavepoint(jobId: string, opts: { targetDirectory?: string; cancelJob: boolean; formatType?: SavepointFormatType; triggerId?: string }): string;
  /** Stop-with-savepoint: sources stop after the savepoint barrier, the job ends FINISHED. */
  stopWithSavepoint(jobId: string, opts: { targetDirectory?: string; drain: boolean; formatType?: SavepointFormatType; triggerId?: string }): string;
  savepointStatus(jobId: string, triggerId: string): AsyncOperationStatus;
  /** Disposes a savepoint directory (asynchronous, like Flink's /savepoint-disposal). */
  disposeSavepoint(savepointPath: string): string;
  disposalStatus(triggerId: string): AsyncOperationStatus;
  checkpointStats(jobId: string): CheckpointStats;
  /** Flink 1.19+'s manual checkpoint (POST /jobs/:jobid/checkpoints); returns the trigger id. */
  triggerCheckpoint(jobId: string, checkpointType: CheckpointType, triggerId?: string): string;
  checkpointStatus(jobId: string, triggerId: string): AsyncOperationStatus;
  /** GET /jobs/:jobid/checkpoints/config. */
  checkpointConfig(jobId: string): CheckpointConfig;
  /** GET /jobs/:jobid/checkpoints/details/:checkpointid; undefined when the history no longer holds it. */
  checkpointDetails?(jobId: string, checkpointId: number): CheckpointStatsEntry | undefined;
  /** Task slots of the cluster (taskmanager.numberOfTaskSlots) and how many jobs' tasks hold. */
  slots?(): { total: number; free: number };
  /** Task metrics of each subtask of a vertex (GET /jobs/:id/vertices/:vid/metrics and friends); undefined for an unknown vertex. */
  vertexMetrics?(jobId: string, vertexId: string): SubtaskMetrics[] | undefined;
  /** GET /jobmanager/config: the effective configuration, as key/value strings. */
  clusterConfiguration?(): Record<string, string>;
}

/** The job's checkpointing settings, as Flink's CheckpointConfigInfo reports them. */
export interface CheckpointConfig {
  mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  interval?: number;
  timeout: number;
  minPause: number;
  maxConcurrent: number;
  tolerableFailures: number;
  unaligned: boolean;
  alignedTimeout: number;
  retention: string;
  /** Flink's class names of the job's state backend and checkpoint storage. */
  stateBackend?: string;
  checkpointStorage?: string;
}
