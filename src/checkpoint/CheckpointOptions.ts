import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import type { ChannelStateHandle, StateFileHandle } from '../state/StateHandles.js';

/**
 * The checkpoint's shared vocabulary: what a checkpoint is asked to be (Flink's CheckpointOptions and
 * CheckpointType; the savepoint format is core's SavepointFormatType, as in Flink), the barrier that carries
 * that request through the job, and the acknowledgement a subtask sends back. The network, the task, the
 * coordinator and the REST layer all speak these words, so they live here, below all of them; the barrier
 * *describes* a checkpoint, the network only transports it.
 */

/** What a barrier stands for: a checkpoint, a savepoint, or a savepoint after which the sources stop. */
export type BarrierKind = 'CHECKPOINT' | 'SAVEPOINT' | 'SAVEPOINT_TERMINATE';

/** Flink's CheckpointType of a triggered checkpoint: CONFIGURED follows the backend's configuration. */
export type CheckpointType = 'FULL' | 'INCREMENTAL' | 'CONFIGURED';

/** Flink's ExternalizedCheckpointRetention: what happens to retained checkpoints when the job ends. */
export type RetentionPolicy = 'NO_EXTERNALIZED_CHECKPOINTS' | 'RETAIN_ON_CANCELLATION' | 'DELETE_ON_CANCELLATION';

export interface CheckpointBarrier {
  type: 'barrier';
  checkpointId: number;
  timestamp: number;
  kind: BarrierKind;
  /** Directory the subtasks write their state files into (Flink's CheckpointStorageLocationReference). */
  location: string;
  /** Stop-with-savepoint --drain: sources emit MAX_WATERMARK before this barrier (so all windows fire). */
  drain?: boolean;
  /**
   * Flink's CheckpointOptions, reduced. `unaligned`: a priority event that overtakes the data buffered
   * ahead of it (that data is persisted as channel state). `alignedTimeoutMs`: an aligned barrier that turns
   * unaligned once this long has passed since `timestamp`. Savepoints are always aligned.
   */
  unaligned?: boolean;
  alignedTimeoutMs?: number;
  /** Requested by `flink checkpoint [--full]`; the state backend decides what FULL/INCREMENTAL mean. */
  checkpointType?: CheckpointType;
  /** Savepoints: CANONICAL (default) or the backend's NATIVE format. */
  formatType?: SavepointFormatType;
  /** JobManagerCheckpointStorage: state goes back as bytes with the ack, each handle at most this many bytes. */
  maxInlineStateSize?: number;
}

/** Flink's AcknowledgeCheckpoint: one subtask's part of a checkpoint, sent once its state files are durable. */
export interface SubtaskAcknowledgement {
  checkpointId: number;
  vertexIndex: number;
  subtask: number;
  states: { operatorId: string; handle: StateFileHandle }[];
  syncMs: number;
  asyncMs: number;
  /** From the first barrier's arrival until the snapshot started (alignment), and from the trigger until then. */
  alignmentMs?: number;
  startDelayMs?: number;
  channelState?: ChannelStateHandle;
  unaligned?: boolean;
  /** Taken after the subtask's end of data (FLIP-147): its last state, carried into later checkpoints once it finished. */
  finalState?: true;
}
