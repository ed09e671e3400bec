import type { CheckpointBarrier } from '../../checkpoint/CheckpointOptions.js';

/** What travels in-band on a channel besides record batches; the barrier's shape is the checkpoint's own. */
export interface EndOfPartition {
  type: 'eop';
}

/**
 * Flink's EndOfData: the producer reached the end of its input and emits nothing more, but its channel stays
 * open for the final checkpoint's barrier (FLIP-147); its EndOfPartition follows once that checkpoint completed.
 */
export interface EndOfData {
  type: 'endOfData';
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

export type ChannelEvent = CheckpointBarrier | EndOfPartition | EndOfData | WatermarkEvent | WatermarkStatusEvent;
