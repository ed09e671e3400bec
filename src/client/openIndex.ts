import type { Configuration } from '../config/Configuration.js';
import { CheckpointingOptions, indexPath } from '../config/ConfigOptions.js';
import { CheckpointIndex } from '../catalog/CheckpointIndex.js';

/** Opens the job/snapshot catalog the configuration points at: the one way, for the CLI's verbs and the cluster. */
export function openIndex(config: Configuration): CheckpointIndex {
  return CheckpointIndex.open({
    path: indexPath(config),
    checkpointsDir: config.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY),
    savepointsDir: config.getOptional(CheckpointingOptions.SAVEPOINT_DIRECTORY),
  });
}
