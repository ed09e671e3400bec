/** Flink's TimeDomain: which clock a timer follows. */
export type TimeDomain = 'EVENT_TIME' | 'PROCESSING_TIME';

/**
 * Flink's TimerService, as a process function sees it: the current times and the timers of the current key.
 * The runtime's InternalTimerService implements it.
 */
export interface TimerService {
  currentProcessingTime(): number;
  currentWatermark(): number;
  registerProcessingTimeTimer(time: number): void;
  registerEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
}
