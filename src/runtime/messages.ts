import type { CheckpointBarrier, SubtaskAcknowledgement } from '../checkpoint/CheckpointOptions.js';
import type { RestoreSpec } from '../checkpoint/StateAssignment.js';
import type { ChannelStateHandle } from '../state/StateHandles.js';
import type { TaskMetricsReport } from './TaskMetrics.js';

/** Flink's TaskDeploymentDescriptor, reduced: where a subtask reads, writes and restores from. */
export interface TaskDeployment {
  jobId: string;
  vertexIndex: number;
  subtask: number;
  attempt: number;
  checkpointMode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  inputChannels: { channelId: number; fromWorker: number; input: 1 | 2 }[];
  /** One entry per outgoing edge of the vertex (same order); channels indexed by target subtask. */
  outputs: { channels: { channelId: number; toWorker: number }[] }[];
  restore?: Record<string, RestoreSpec>;
  /** In-flight data of an unaligned checkpoint for this subtask (same parallelism only). */
  channelState?: { dir: string; handle: ChannelStateHandle };
  /** Checkpointing is on with checkpoints-after-tasks-finish: at end of input the task waits for a final checkpoint. */
  finalCheckpoint?: boolean;
  /** Every operator of the vertex is finished in the restored snapshot: the task finishes at once, running nothing. */
  finishedOnRestore?: boolean;
}

export interface WorkerInit {
  type: 'init';
  workerIndex: number;
  jobFile: string;
  programArgs: string[];
  config: Record<string, string>;
  fingerprint: string;
  bufferTimeoutMs: number;
  peers: Record<number, unknown>; // MessagePort per other worker (transferred)
}

export type JobManagerToWorker =
  | WorkerInit
  | { type: 'deploy'; tasks: TaskDeployment[] }
  | { type: 'trigger'; vertexIndex: number; subtask: number; barrier: CheckpointBarrier }
  | { type: 'notifyComplete'; checkpointId: number; ackId?: number }
  | { type: 'notifyAborted'; checkpointId: number }
  | { type: 'cancel' };

export type TaskToJobManager =
  | { type: 'taskState'; vertexIndex: number; subtask: number; state: 'RUNNING' | 'FINISHED' | 'CANCELED' | 'FAILED'; error?: { message: string; name: string; stack: string } }
  | ({ type: 'ack' } & SubtaskAcknowledgement)
  | { type: 'decline'; checkpointId: number; vertexIndex: number; subtask: number; reason: string; subsumed?: true }
  | { type: 'stdout'; text: string }
  /** A line for the JobManager's log (rare events of a task, never per record). */
  | { type: 'log'; level: 'INFO' | 'WARN'; message: string }
  /** Every second from each slot for its running tasks, and once from a task as it ends (never per record). */
  | { type: 'metrics'; reports: TaskMetricsReport[] };

export type WorkerToJobManager =
  | TaskToJobManager
  | { type: 'ready' }
  | { type: 'initFailed'; error: { message: string; name: string; stack: string } }
  | { type: 'notified'; ackId: number }
  | { type: 'cancelled' };
