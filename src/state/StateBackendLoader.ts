import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StateBackend } from '../api/stateBackends.js';
import type { Configuration } from '../config/Configuration.js';
import { StateBackendOptions } from '../config/ConfigOptions.js';
import { FlinkError } from '../core/FlinkError.js';
import { randomHex } from '../core/ids.js';
import { HeapKeyedStateBackend, type HeapKeyedStateBackendOptions } from './HeapKeyedStateBackend.js';
import type { KeyGroupRange } from './KeyGroupRange.js';
import type { KeyedStateBackend } from './KeyedStateBackend.js';

/** Which keyed state backend the tasks of a job use (Flink's StateBackendLoader). */
export interface StateBackendSpec {
  type: 'hashmap' | 'embedded';
  incremental: boolean;
  /** Root of the embedded backend's working directories. */
  localDir: string;
  /** The job checkpoints periodically: the embedded backend then keeps each barrier's flush short. */
  periodicCheckpoints?: boolean;
  /** Said once per job: what a Flink setting that names another backend got. */
  notice?: string;
}

/** The program's env.setStateBackend() wins over the configuration, as in Flink. */
export function stateBackendSpec(config: Configuration, fromProgram?: StateBackend): StateBackendSpec {
  const configured = config.get(StateBackendOptions.STATE_BACKEND);
  const type = fromProgram?.type ?? (configured === 'hashmap' ? 'hashmap' : 'embedded');
  return {
    type,
    incremental: fromProgram?.incremental ?? config.get(StateBackendOptions.INCREMENTAL_CHECKPOINTS),
    localDir: config.getOptional(StateBackendOptions.LOCAL_DIRECTORIES) ?? join(tmpdir(), 'flink-ts-state'),
    notice: !fromProgram && configured === 'rocksdb'
      ? "state.backend.type 'rocksdb': using flink-ts's embedded on-disk backend (LMDB), which has the same role and options."
      : undefined,
  };
}

/** The embedded backend's module (and LMDB's native addon), loaded only by jobs that use it. */
let embedded: typeof import('./EmbeddedKeyedStateBackend.js') | undefined;

/** Loads what a spec's backend needs; call before createKeyedStateBackend (task slots do it at start). */
export async function loadStateBackend(spec: StateBackendSpec): Promise<void> {
  if (spec.type === 'embedded') embedded ??= await import('./EmbeddedKeyedStateBackend.js');
}

export function createKeyedStateBackend(
  spec: StateBackendSpec | undefined, range: KeyGroupRange, maxParallelism: number, where: { jobId: string; operatorId: string; subtask: number },
  onDemote?: HeapKeyedStateBackendOptions['onDemote'],
): KeyedStateBackend {
  if (!spec || spec.type === 'hashmap') return new HeapKeyedStateBackend(range, maxParallelism, { onDemote });
  if (!embedded) throw new FlinkError('internal', 'The embedded state backend was not loaded (loadStateBackend)');
  const localDir = join(spec.localDir, `job_${where.jobId}_op_${where.operatorId.slice(0, 8)}_${where.subtask}_${randomHex(4)}`);
  return new embedded.EmbeddedKeyedStateBackend(range, maxParallelism, {
    localDir,
    incremental: spec.incremental,
    periodicCheckpoints: spec.periodicCheckpoints,
  });
}
