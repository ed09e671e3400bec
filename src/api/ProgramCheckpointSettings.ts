/**
 * What a program sets of its checkpointing (env.getCheckpointConfig(), enableCheckpointing): plain values that
 * the StreamGraph and JobGraph carry to the cluster. Apart from CheckpointConfig, which reads the
 * configuration through the program context, so the graph can name them without importing the builders.
 */
import type { CheckpointingMode } from './CheckpointingMode.js';
import type { CheckpointStorage } from './checkpointStorage.js';

/** What stays of a job's retained checkpoints when it is cancelled (Flink 1.20+'s name). */
export const ExternalizedCheckpointRetention = {
  NO_EXTERNALIZED_CHECKPOINTS: 'NO_EXTERNALIZED_CHECKPOINTS',
  RETAIN_ON_CANCELLATION: 'RETAIN_ON_CANCELLATION',
  DELETE_ON_CANCELLATION: 'DELETE_ON_CANCELLATION',
} as const;
export type ExternalizedCheckpointRetention = (typeof ExternalizedCheckpointRetention)[keyof typeof ExternalizedCheckpointRetention];

/** The older name of the same choice (CheckpointConfig.ExternalizedCheckpointCleanup). */
export const ExternalizedCheckpointCleanup = ExternalizedCheckpointRetention;
export type ExternalizedCheckpointCleanup = ExternalizedCheckpointRetention;

/** What the program set; anything unset comes from the configuration (execution.checkpointing.*). */
export interface ProgramCheckpointSettings {
  interval?: number;
  mode?: CheckpointingMode;
  timeout?: number;
  minPause?: number;
  maxConcurrent?: number;
  unaligned?: boolean;
  alignedTimeout?: number;
  tolerableFailures?: number;
  retention?: ExternalizedCheckpointRetention;
  storage?: CheckpointStorage;
}
