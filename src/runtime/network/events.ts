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
}

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
