/** What travels in-band on a channel besides record batches. */
export type BarrierKind = 'CHECKPOINT' | 'SAVEPOINT' | 'SAVEPOINT_TERMINATE';

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
  formatType?: 'CANONICAL' | 'NATIVE';
  /** JobManagerCheckpointStorage: state goes back as bytes with the ack, each handle at most this many bytes. */
  maxInlineStateSize?: number;
}

/** Flink's CheckpointType of a triggered checkpoint: CONFIGURED follows the backend's configuration. */
export type CheckpointType = 'FULL' | 'INCREMENTAL' | 'CONFIGURED';

export interface EndOfPartition {
  type: 'eop';
}

/** Event time has reached `timestamp` on this channel (Flink's Watermark stream element). */
export interface WatermarkEvent {
  type: 'watermark';
  timestamp: number;
}

/** Flink's WatermarkStatus: an IDLE channel does not hold back the downstream watermark. */
export interface WatermarkStatusEvent {
  type: 'watermarkStatus';
  idle: boolean;
}

export type ChannelEvent = CheckpointBarrier | EndOfPartition | WatermarkEvent | WatermarkStatusEvent;
