import { MIN_WATERMARK } from '../api/eventtime.js';

/** Where a valve sends the combined watermark and status of its inputs. */
export interface ValveOutput {
  emitWatermark(watermark: number): void;
  emitWatermarkStatus(idle: boolean): void;
}

interface ChannelStatus {
  watermark: number;
  idle: boolean;
  /** Active and caught up with the last output watermark: takes part in the minimum. */
  aligned: boolean;
}

/**
 * Flink's StatusWatermarkValve: combines the watermarks of all input channels of a task (of every logical
 * input) into the task's watermark, the minimum over the active channels. Idle channels do not hold it
 * back; a channel that becomes active again only counts once its watermark has caught up with the output.
 * When every channel is idle the task goes idle (after emitting the highest watermark seen).
 */
export class StatusWatermarkValve {
  private readonly channels: ChannelStatus[];
  private lastOutputWatermark = MIN_WATERMARK;
  private lastOutputIdle = false;

  constructor(numChannels: number, private readonly output: ValveOutput) {
    this.channels = Array.from({ length: numChannels }, () => ({ watermark: MIN_WATERMARK, idle: false, aligned: true }));
  }

  get currentWatermark(): number {
    return this.lastOutputWatermark;
  }

  inputWatermark(watermark: number, channel: number): void {
    const c = this.channels[channel];
    if (c.idle || watermark <= c.watermark) return; // Flink ignores watermarks of idle channels
    c.watermark = watermark;
    if (!c.aligned && watermark >= this.lastOutputWatermark) c.aligned = true;
    this.findAndOutputNewMinWatermarkAcrossAlignedChannels();
  }

  inputWatermarkStatus(idle: boolean, channel: number): void {
    const c = this.channels[channel];
    if (idle === c.idle) return;
    if (idle) {
      c.idle = true;
      c.aligned = false;
      if (this.channels.every((x) => x.idle)) {
        // All idle: release the highest watermark any channel reached, then go idle downstream.
        this.findAndOutputMaxWatermarkAcrossAllChannels();
        this.lastOutputIdle = true;
        this.output.emitWatermarkStatus(true);
      } else if (c.watermark === this.lastOutputWatermark) {
        this.findAndOutputNewMinWatermarkAcrossAlignedChannels();
      }
    } else {
      c.idle = false;
      if (c.watermark >= this.lastOutputWatermark) c.aligned = true;
      if (this.lastOutputIdle) {
        this.lastOutputIdle = false;
        this.output.emitWatermarkStatus(false);
      }
    }
  }

  /** A finished channel sends nothing more: it can never hold the watermark back. */
  channelFinished(channel: number): void {
    const c = this.channels[channel];
    if (c.idle) this.inputWatermarkStatus(false, channel);
    this.inputWatermark(Number.MAX_SAFE_INTEGER, channel);
  }

  private findAndOutputNewMinWatermarkAcrossAlignedChannels(): void {
    let min = Infinity;
    let any = false;
    for (const c of this.channels) {
      if (c.aligned) {
        any = true;
        if (c.watermark < min) min = c.watermark;
      }
    }
    if (any && min > this.lastOutputWatermark) {
      this.lastOutputWatermark = min;
      this.output.emitWatermark(min);
    }
  }

  private findAndOutputMaxWatermarkAcrossAllChannels(): void {
    let max = MIN_WATERMARK;
    for (const c of this.channels) if (c.watermark > max) max = c.watermark;
    if (max > this.lastOutputWatermark) {
      this.lastOutputWatermark = max;
      this.output.emitWatermark(max);
    }
  }
}
