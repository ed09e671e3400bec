import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_STATE_SIZE } from '../api/checkpointStorage.js';
import type { Configuration } from '../config/Configuration.js';
import { CheckpointingOptions } from '../config/ConfigOptions.js';
import { FlinkError } from '../core/FlinkError.js';
import type { JobGraph } from '../graph/JobGraph.js';
import { stateBackendSpec } from '../state/StateBackendLoader.js';
import type { CheckpointSettings } from './CheckpointCoordinator.js';
import type { RetentionPolicy } from './CheckpointOptions.js';

export type EffectiveCheckpointStorage =
  | { type: 'filesystem'; dir: string; /** set by the program or state.checkpoints.dir (not the temp default) */ explicit: boolean }
  | { type: 'jobmanager'; maxStateSize: number };

export interface EffectiveCheckpointConfig {
  settings: CheckpointSettings;
  storage: EffectiveCheckpointStorage;
  /** Flink's class names, for GET /jobs/:id/checkpoints/config. */
  stateBackendName: 'HashMapStateBackend' | 'EmbeddedRocksDBStateBackend';
  storageName: 'FileSystemCheckpointStorage' | 'JobManagerCheckpointStorage';
  /** Said once in the job log (deprecated backends, overridden settings, what JobManager storage implies). */
  notices: string[];
}

/** The periodic checkpoint interval in ms (the program's wins); undefined or 0: no periodic checkpoints. */
export function checkpointInterval(cfg: Configuration, jg: JobGraph): number | undefined {
  return jg.checkpointInterval ?? cfg.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL);
}

const invalid = (msg: string) => new FlinkError('invalid-argument', msg);

/**
 * The checkpointing a job runs with. Precedence as in Flink: what the program set (env.enableCheckpointing,
 * env.getCheckpointConfig(), a legacy state backend's storage) wins over the configuration, which wins over
 * the defaults. Combinations that cannot be honoured fail the submission with a clear message, never silently.
 */
export function effectiveCheckpointConfig(cfg: Configuration, jg: JobGraph): EffectiveCheckpointConfig {
  const p = jg.checkpointing ?? {};
  const notices: string[] = [];
  const backend = stateBackendSpec(cfg, jg.stateBackend);
  if (jg.stateBackend?.deprecationNotice) notices.push(jg.stateBackend.deprecationNotice);

  // Storage: a legacy backend's own storage wins over setCheckpointStorage (Flink's backward compatibility).
  const legacy = jg.stateBackend?.checkpointStorage;
  if (legacy && p.storage) {
    notices.push(`The checkpoint storage set with setCheckpointStorage() (${p.storage.constructor.name}) is overridden by the legacy state backend ${jg.stateBackend!.constructor.name}, which brings its own storage (as in Flink).`);
  }
  const chosen = legacy ?? p.storage;
  const configuredDir = cfg.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
  let storage: EffectiveCheckpointStorage;
  if (chosen?.type === 'filesystem') storage = { type: 'filesystem', dir: chosen.path, explicit: true };
  else if (chosen?.type === 'jobmanager') storage = { type: 'jobmanager', maxStateSize: chosen.maxStateSize };
  else if (cfg.get(CheckpointingOptions.CHECKPOINT_STORAGE) === 'jobmanager') storage = { type: 'jobmanager', maxStateSize: DEFAULT_MAX_STATE_SIZE };
  else storage = { type: 'filesystem', dir: configuredDir ?? join(tmpdir(), 'flink-ts-checkpoints'), explicit: configuredDir !== undefined };

  const mode = p.mode ?? (cfg.get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE) as CheckpointSettings['mode']);
  const unaligned = p.unaligned ?? cfg.get(CheckpointingOptions.ENABLE_UNALIGNED);
  if (unaligned && mode === 'AT_LEAST_ONCE' && (p.unaligned !== undefined || p.mode !== undefined)) {
    throw invalid('Unaligned checkpoints need CheckpointingMode.EXACTLY_ONCE, but the program asks for AT_LEAST_ONCE: drop enableUnalignedCheckpoints() or use EXACTLY_ONCE.');
  }

  if (p.alignedTimeout !== undefined && !(unaligned && mode === 'EXACTLY_ONCE')) {
    throw invalid('setAlignedCheckpointTimeout() only applies to unaligned checkpoints (when alignment takes longer, a checkpoint turns unaligned): call enableUnalignedCheckpoints() too, with EXACTLY_ONCE.');
  }

  let retention: RetentionPolicy;
  if (storage.type === 'jobmanager') {
    // Nothing of an in-memory checkpoint outlives the job: there is nothing to retain (Flink, too, refuses
    // externalized checkpoints without a checkpoint directory).
    if (p.retention !== undefined && p.retention !== 'NO_EXTERNALIZED_CHECKPOINTS') {
      throw invalid(`The program asks to retain checkpoints (${p.retention}), but JobManagerCheckpointStorage keeps them in memory only, so nothing can outlive the job: use FileSystemCheckpointStorage to retain checkpoints.`);
    }
    const configured = cfg.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION);
    if (p.retention === undefined && configured !== 'NO_EXTERNALIZED_CHECKPOINTS') {
      notices.push(`execution.checkpointing.externalized-checkpoint-retention: ${configured} does not apply to JobManagerCheckpointStorage: its checkpoints are gone with the job.`);
    }
    retention = 'NO_EXTERNALIZED_CHECKPOINTS';
  } else if (p.retention !== undefined) {
    if (p.retention !== 'NO_EXTERNALIZED_CHECKPOINTS' && storage.type === 'filesystem' && !storage.explicit) {
      throw invalid(`The program asks to retain checkpoints (${p.retention}), but no checkpoint directory is configured: set one with env.getCheckpointConfig().setCheckpointStorage('file:///...') or state.checkpoints.dir.`);
    }
    retention = p.retention;
  } else {
    // Checkpoints in the temp default directory are never kept: nobody asked for a place to keep them.
    retention = storage.type === 'filesystem' && !storage.explicit ? 'NO_EXTERNALIZED_CHECKPOINTS' : cfg.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION);
  }

  if (storage.type === 'jobmanager') {
    if (unaligned && mode === 'EXACTLY_ONCE') {
      throw invalid('Unaligned checkpoints write in-flight data as files, which JobManagerCheckpointStorage does not keep in flink-ts: use FileSystemCheckpointStorage, or aligned checkpoints.');
    }
    if (backend.type === 'embedded' && backend.incremental) {
      throw invalid('Incremental checkpoints share files between checkpoints, which JobManagerCheckpointStorage does not keep: use FileSystemCheckpointStorage, or a non-incremental backend.');
    }
    notices.push(`Checkpoints of this job are kept in the memory of the cluster process (JobManagerCheckpointStorage, at most ${storage.maxStateSize} bytes per state handle): they serve failover only and cannot be restored with 'flink run -s' once the cluster is gone. Savepoints are still written as files.`);
  }

  const settings: CheckpointSettings = {
    interval: checkpointInterval(cfg, jg),
    timeout: p.timeout ?? cfg.get(CheckpointingOptions.CHECKPOINTING_TIMEOUT),
    minPause: p.minPause ?? cfg.get(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS),
    maxConcurrent: p.maxConcurrent ?? cfg.get(CheckpointingOptions.MAX_CONCURRENT_CHECKPOINTS),
    numRetained: cfg.get(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS),
    tolerableFailures: p.tolerableFailures ?? cfg.get(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER),
    retention,
    mode,
    unaligned,
    alignedTimeout: p.alignedTimeout ?? cfg.get(CheckpointingOptions.ALIGNED_CHECKPOINT_TIMEOUT),
  };
  return {
    settings,
    storage,
    stateBackendName: backend.type === 'embedded' ? 'EmbeddedRocksDBStateBackend' : 'HashMapStateBackend',
    storageName: storage.type === 'jobmanager' ? 'JobManagerCheckpointStorage' : 'FileSystemCheckpointStorage',
    notices,
  };
}
