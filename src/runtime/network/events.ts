/** What travels in-band on a channel besides record batches. */
export type BarrierKind = 'CHECKPOINT' | 'SAVEPOINT' | 'SAVEPOINT_TERMINATE';

export interface CheckpointBarrier {
  type: 'barrier';
  checkpointId: number;
  timestamp: number;
  kind: BarrierKind;
  /** Directory the subtasks write their state files into (Flink's CheckpointStorageLocationReference). */
  location: string;
  /** Savepoints: CANONICAL (default) or the backend's NATIVE format. */
  formatType?: 'CANONICAL' | 'NATIVE';
}

export interface EndOfPartition {
  type: 'eop';
}

export type ChannelEvent = CheckpointBarrier | EndOfPartition;
