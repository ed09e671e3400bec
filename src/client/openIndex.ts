import type { Configuration } from '../config/Configuration.js';
import { CheckpointingOptions, FlinkTsOptions, indexPath, legacyIndexPath } from '../config/ConfigOptions.js';
import { stripFileScheme } from '../checkpoint/Metadata.js';
import { CheckpointIndex } from '../catalog/CheckpointIndex.js';

/**
 * Opens the job/snapshot catalog the configuration points at: the one way, for the CLI's verbs and the cluster.
 * An index an older flink-ts kept next to the configured checkpoints is merged in once.
 */
export function openIndex(config: Configuration): CheckpointIndex {
  const legacy = legacyIndexPath(config);
  return CheckpointIndex.open({
    path: indexPath(config),
    checkpointsDir: config.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY),
    savepointsDir: config.getOptional(CheckpointingOptions.SAVEPOINT_DIRECTORY),
    legacyIndexes: legacy ? [stripFileScheme(legacy)] : [],
    checkpointHistory: config.get(FlinkTsOptions.CHECKPOINT_HISTORY),
  });
}
