import { join } from 'node:path';
import { FlinkError } from '../core/FlinkError.js';
import { userDataDir } from '../core/paths.js';
import {
  booleanOption, durationOption, enumOption, intOption, option, pathOption, stringOption,
  type ConfigOption,
} from './ConfigOption.js';
import type { Configuration } from './Configuration.js';

// Option groups are named after the Flink classes that declare the same keys.

export const CheckpointingOptions = {
  CHECKPOINTS_DIRECTORY: pathOption('state.checkpoints.dir', {
    description: 'Directory for checkpoint data and metadata.',
    fallbackKeys: ['execution.checkpointing.dir'], // Flink 2.x name
  }),
  SAVEPOINT_DIRECTORY: pathOption('state.savepoints.dir', {
    description: 'Default directory for savepoints.',
    fallbackKeys: ['execution.checkpointing.savepoint-dir'],
  }),
  CHECKPOINT_STORAGE: enumOption('state.checkpoint-storage', ['jobmanager', 'filesystem'], {
    description: 'Where checkpoints go: filesystem (chk-N folders under state.checkpoints.dir, or a temp dir) or jobmanager (the cluster process\'s memory; not restorable once it is gone).',
    default: 'filesystem',
    fallbackKeys: ['execution.checkpointing.storage'], // Flink 2.x name
  }),
  MAX_RETAINED_CHECKPOINTS: intOption('state.checkpoints.num-retained', {
    description: 'Number of completed checkpoints to keep.',
    default: 1, min: 1,
    fallbackKeys: ['execution.checkpointing.num-retained'],
  }),
  CHECKPOINTING_INTERVAL: durationOption('execution.checkpointing.interval', {
    description: 'Interval between checkpoints; checkpointing is disabled when unset.',
  }),
  CHECKPOINTING_TIMEOUT: durationOption('execution.checkpointing.timeout', {
    description: 'Time after which an unfinished checkpoint is aborted.',
    default: 10 * 60_000,
  }),
  MIN_PAUSE_BETWEEN_CHECKPOINTS: durationOption('execution.checkpointing.min-pause', {
    description: 'Minimal pause between the end of one checkpoint and the start of the next.',
    default: 0,
  }),
  MAX_CONCURRENT_CHECKPOINTS: intOption('execution.checkpointing.max-concurrent-checkpoints', {
    description: 'Maximum number of checkpoints in progress at once.',
    default: 1, min: 1,
  }),
  CHECKPOINTING_CONSISTENCY_MODE: enumOption('execution.checkpointing.mode', ['EXACTLY_ONCE', 'AT_LEAST_ONCE'], {
    description: 'Checkpointing guarantee.',
    default: 'EXACTLY_ONCE',
  }),
  EXTERNALIZED_CHECKPOINT_RETENTION: enumOption(
    'execution.checkpointing.externalized-checkpoint-retention',
    ['NO_EXTERNALIZED_CHECKPOINTS', 'RETAIN_ON_CANCELLATION', 'DELETE_ON_CANCELLATION'],
    {
      description: 'Whether checkpoints are kept when the job is cancelled.',
      default: 'NO_EXTERNALIZED_CHECKPOINTS',
    },
  ),
  TOLERABLE_FAILURE_NUMBER: intOption('execution.checkpointing.tolerable-failed-checkpoints', {
    description: 'Consecutive checkpoint failures tolerated before the job fails.',
    default: 0, min: 0,
  }),
  ENABLE_UNALIGNED: booleanOption('execution.checkpointing.unaligned', {
    description: 'Enables unaligned checkpoints (exactly-once only; savepoints stay aligned).',
    default: false,
    fallbackKeys: ['execution.checkpointing.unaligned.enabled'], // Flink 1.20+/2.x name
  }),
  ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH: booleanOption('execution.checkpointing.checkpoints-after-tasks-finish', {
    description: 'With checkpointing on, a task that reached the end of its bounded input waits for one more checkpoint (the final checkpoint, FLIP-147) before it finishes: two-phase-commit sinks commit their last data when it completes, and later checkpoints carry the finished tasks\' state.',
    default: true,
    fallbackKeys: ['execution.checkpointing.checkpoints-after-tasks-finish.enabled'], // Flink 1.14-1.19 name
  }),
  ALIGNED_CHECKPOINT_TIMEOUT: durationOption('execution.checkpointing.aligned-checkpoint-timeout', {
    description: 'With unaligned checkpoints: they start aligned and switch to unaligned after this long (0: start unaligned).',
    default: 0,
    deprecatedKeys: ['execution.checkpointing.alignment-timeout'],
  }),
} as const;

export const StateBackendOptions = {
  STATE_BACKEND: enumOption('state.backend.type', ['hashmap', 'rocksdb', 'embedded'], {
    description: 'State backend: hashmap (JS heap) or embedded (on local disk, LMDB); rocksdb selects embedded.',
    default: 'hashmap',
    deprecatedKeys: ['state.backend'],
    // Pre-1.13 names of the heap backend.
    aliases: { filesystem: 'hashmap', jobmanager: 'hashmap' },
  }),
  INCREMENTAL_CHECKPOINTS: booleanOption('execution.checkpointing.incremental', {
    description: 'Embedded backend: checkpoints write only what changed since the last completed one into shared/.',
    default: false,
    deprecatedKeys: ['state.backend.incremental'],
  }),
  LOCAL_DIRECTORIES: pathOption('state.backend.rocksdb.localdir', {
    description: 'Working directory of the embedded backend (one subdirectory per job, operator and subtask); default under the OS temp dir.',
  }),
} as const;

export const StateRecoveryOptions = {
  CLAIM_MODE: enumOption('execution.state-recovery.claim-mode', ['CLAIM', 'NO_CLAIM'], {
    description: 'Who owns a restored checkpoint: CLAIM (the new job may delete it once subsumed) or NO_CLAIM (never deleted by it; its first checkpoint is full).',
    default: 'NO_CLAIM',
    deprecatedKeys: ['execution.savepoint-restore-mode'],
  }),
} as const;

export const RestartStrategyOptions = {
  RESTART_STRATEGY: enumOption(
    'restart-strategy.type', ['none', 'fixed-delay', 'failure-rate', 'exponential-delay'], {
      description: 'Restart strategy; when unset it depends on whether checkpointing is enabled.',
      deprecatedKeys: ['restart-strategy'],
      aliases: {
        off: 'none', disable: 'none',
        fixeddelay: 'fixed-delay', failurerate: 'failure-rate', exponentialdelay: 'exponential-delay',
      },
    },
  ),
  RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS: intOption('restart-strategy.fixed-delay.attempts', {
    description: 'Restart attempts before the job fails (fixed-delay).',
    default: 1, min: 0,
  }),
  RESTART_STRATEGY_FIXED_DELAY_DELAY: durationOption('restart-strategy.fixed-delay.delay', {
    description: 'Delay between restart attempts (fixed-delay).',
    default: 1000,
  }),
} as const;

export const CoreOptions = {
  DEFAULT_PARALLELISM: intOption('parallelism.default', {
    description: 'Parallelism of operators that do not set one.',
    default: 1, min: 1,
  }),
  FLINK_LOG_DIR: pathOption('env.log.dir', {
    description: 'Directory for log files.',
    default: join(userDataDir(), 'log'),
  }),
} as const;

export const PipelineOptions = {
  NAME: stringOption('pipeline.name', { description: 'Job name.' }),
  MAX_PARALLELISM: intOption('pipeline.max-parallelism', {
    // Flink derives the default from the parallelism; a fixed default keeps key groups stable across rescaling.
    description: 'Maximum parallelism (number of key groups).',
    default: 128, min: 1, max: 32768,
  }),
  AUTO_WATERMARK_INTERVAL: durationOption('pipeline.auto-watermark-interval', {
    description: 'Interval of periodic watermark emission.',
    default: 200,
  }),
} as const;

export const TaskManagerOptions = {
  NUM_TASK_SLOTS: intOption('taskmanager.numberOfTaskSlots', {
    description: 'Task slots of the local cluster.',
    default: 1, min: 1,
  }),
} as const;

const PORT_SPEC_EXPECTED = "a port (0-65535), a range such as '50100-50200', or a comma-separated list of these";

/** Port ranges of a Flink port spec such as `0`, `8081`, `50100-50200` or `50100,50200-50210`. */
export function parsePortSpec(spec: string): Array<[number, number]> {
  return spec.split(',').map((part) => {
    const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(part);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? lo : Number(m[2]);
    if (!m || hi > 65535 || lo > hi) throw new FlinkError('config', `expected ${PORT_SPEC_EXPECTED}`);
    return [lo, hi];
  });
}

export const RestOptions = {
  ADDRESS: stringOption('rest.address', {
    description: 'Address clients use to reach the REST endpoint.',
    default: 'localhost',
  }),
  BIND_ADDRESS: stringOption('rest.bind-address', {
    description: 'Address the REST server binds to.',
    default: '127.0.0.1',
  }),
  BIND_PORT: option('string', (raw) => {
    parsePortSpec(raw);
    return raw.trim();
  }, 'rest.bind-port', {
    description: 'Port or port range the REST server binds to; 0 picks any free port.',
    default: '0',
  }),
  PORT: intOption('rest.port', {
    description: 'REST port (informational; the server binds per rest.bind-port).',
    default: 8081, min: 0, max: 65535,
  }),
} as const;

export const ExecutionOptions = {
  BUFFER_TIMEOUT: durationOption('execution.buffer-timeout', {
    description: 'Maximum time records wait in an output buffer before being flushed.',
    default: 100,
    fallbackKeys: ['execution.buffer-timeout.interval'], // Flink 1.19+ name
  }),
} as const;

/** Keys of our own, not Flink's. */
export const FlinkTsOptions = {
  INDEX_PATH: pathOption('index.path', {
    description: 'SQLite index of jobs, checkpoints and savepoints; see indexPath().',
  }),
  REST_AUTH_TOKEN: stringOption('rest.auth.token', {
    description: 'When set, the REST endpoint requires "Authorization: Bearer <token>"; the CLI sends it from the same configuration.',
  }),
} as const;

export const ALL_OPTIONS: readonly ConfigOption<unknown>[] = [
  CheckpointingOptions, StateBackendOptions, StateRecoveryOptions, RestartStrategyOptions, CoreOptions, PipelineOptions,
  TaskManagerOptions, RestOptions, ExecutionOptions, FlinkTsOptions,
].flatMap((group) => Object.values(group) as ConfigOption<unknown>[]);

/** Common keys of a stock Flink configuration that are accepted without effect on a local mini-cluster. */
export const IGNORED_FLINK_KEYS: readonly string[] = [
  'jobmanager.rpc.address', 'jobmanager.rpc.port', 'jobmanager.bind-host',
  'jobmanager.memory.process.size', 'jobmanager.memory.flink.size', 'jobmanager.memory.heap.size',
  'jobmanager.execution.failover-strategy',
  'taskmanager.bind-host', 'taskmanager.host',
  'taskmanager.memory.process.size', 'taskmanager.memory.flink.size', 'taskmanager.memory.task.heap.size',
  'taskmanager.memory.managed.size', 'taskmanager.memory.network.fraction',
  'high-availability', 'high-availability.type', 'high-availability.storageDir',
  'high-availability.zookeeper.quorum', 'high-availability.cluster-id',
  'web.submit.enable', 'web.cancel.enable', 'web.upload.dir', 'web.tmpdir',
  'state.backend.local-recovery',
  'execution.target', 'classloader.resolve-order', 'io.tmp.dirs', 'blob.server.port',
  'env.java.home', 'env.java.opts', 'env.java.opts.all', 'env.java.opts.jobmanager', 'env.java.opts.taskmanager',
  'jobstore.cache-size', 'jobstore.expiration-time', 'historyserver.archive.fs.dir',
];

export type RestartStrategy =
  | { type: 'none' }
  | { type: 'fixed-delay'; attempts: number; delayMs: number };

/**
 * Flink's rule: an explicit restart-strategy.type wins; otherwise jobs with checkpointing restart
 * (practically) forever and jobs without it do not restart at all.
 */
export function restartStrategyFor(config: Configuration, checkpointingEnabled: boolean): RestartStrategy {
  const type = config.get(RestartStrategyOptions.RESTART_STRATEGY);
  const delayMs = config.get(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY);
  switch (type) {
    case undefined:
      return checkpointingEnabled ? { type: 'fixed-delay', attempts: Number.MAX_SAFE_INTEGER, delayMs } : { type: 'none' };
    case 'none':
      return { type: 'none' };
    case 'fixed-delay':
      return { type: 'fixed-delay', attempts: config.get(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS), delayMs };
    default:
      throw new FlinkError('config',
        `Restart strategy '${type}' (configuration key 'restart-strategy.type') is not supported yet; use 'fixed-delay' or 'none'`);
  }
}

/** Where the SQLite index lives: index.path, else next to the checkpoints, else in the user's data directory. */
export function indexPath(config: Configuration): string {
  const explicit = config.get(FlinkTsOptions.INDEX_PATH);
  if (explicit !== undefined) return explicit;
  const checkpoints = config.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
  return checkpoints !== undefined
    ? join(checkpoints, 'flink-index.sqlite')
    : join(userDataDir(), 'flink-index.sqlite');
}
