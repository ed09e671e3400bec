import type { CheckpointBarrier } from '../../checkpoint/CheckpointOptions.js';

/** What travels in-band on a channel besides record batches; the barrier's shape is the checkpoint's own. */
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
