import { join } from 'node:path';
import { FlinkError } from '../core/FlinkError.js';
import { userDataDir } from '../core/paths.js';
import {
  booleanOption, doubleOption, durationOption, enumOption, intOption, option, pathOption, stringOption,
  type ConfigOption,
} from './ConfigOption.js';
import type { Configuration } from './Configuration.js';
import { parseSavepointSchedule } from '../checkpoint/PeriodicSavepoints.js';

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
  // Defaults are Flink 2.x's (FLIP-364 changed the multiplier from 2.0 to 1.5 and added the jitter and attempts keys).
  RESTART_STRATEGY_FAILURE_RATE_MAX_FAILURES_PER_INTERVAL: intOption('restart-strategy.failure-rate.max-failures-per-interval', {
    description: 'Failures within one failure-rate interval that are still restarted; one more fails the job (failure-rate).',
    default: 1, min: 1,
  }),
  RESTART_STRATEGY_FAILURE_RATE_FAILURE_RATE_INTERVAL: durationOption('restart-strategy.failure-rate.failure-rate-interval', {
    description: 'Time window in which failures are counted (failure-rate).',
    default: 60_000,
  }),
  RESTART_STRATEGY_FAILURE_RATE_DELAY: durationOption('restart-strategy.failure-rate.delay', {
    description: 'Delay between restart attempts (failure-rate).',
    default: 1000,
  }),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF: durationOption('restart-strategy.exponential-delay.initial-backoff', {
    description: 'Delay before the first restart (exponential-delay).',
    default: 1000,
  }),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF: durationOption('restart-strategy.exponential-delay.max-backoff', {
    description: 'Upper bound of the restart delay (exponential-delay).',
    default: 60_000,
  }),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER: doubleOption('restart-strategy.exponential-delay.backoff-multiplier', {
    description: 'Factor the delay grows by after each failure (exponential-delay).',
    default: 1.5, min: 1,
  }),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD: durationOption('restart-strategy.exponential-delay.reset-backoff-threshold', {
    description: 'Running this long without a failure resets the delay to the initial backoff and the attempt count to zero (exponential-delay).',
    default: 3_600_000,
  }),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR: doubleOption('restart-strategy.exponential-delay.jitter-factor', {
    description: 'Each delay varies randomly by up to this fraction of itself, so jobs failing together do not restart together (exponential-delay).',
    default: 0.1, min: 0, max: 1,
  }),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS: intOption('restart-strategy.exponential-delay.attempts-before-reset-backoff', {
    description: 'Restarts allowed before the reset threshold is reached; one more failure fails the job (exponential-delay).',
    default: 2 ** 31 - 1, min: 1,
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
    description: 'REST port clients connect to; when rest.bind-port is not set, a job\'s REST endpoint binds this port (else any free one).',
    default: 8081, min: 0, max: 65535,
  }),
} as const;

/** Flink's ClientOptions: how long the CLI waits for a cluster (savepoint, stop, cancel, checkpoint, each request). */
export const ClientOptions = {
  CLIENT_TIMEOUT: durationOption('client.timeout', {
    description: 'Timeout on the client side for waiting on the cluster: a request, or an operation such as a savepoint to complete.',
    default: 60_000,
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
    description: 'The catalog: SQLite index of jobs, checkpoints and savepoints; see indexPath().',
  }),
  // Modelled on web.checkpoints.history (the web UI's 10 entries), but for the catalog on disk.
  CHECKPOINT_HISTORY: intOption('index.checkpoints.history', {
    description: 'Discarded (subsumed) checkpoints, and failed ones, the catalog keeps per job, newest first; older rows are pruned as new checkpoints are recorded. Completed checkpoints, savepoints and restore sources are always kept.',
    default: 50, min: 1,
  }),
  // The Kubernetes operator's kubernetes.operator.savepoint.history.max.count / .max.age, in the state.savepoints.* family.
  SAVEPOINT_HISTORY_MAX_COUNT: intOption('state.savepoints.history.max-count', {
    description: 'flink savepoints --prune keeps this many newest completed savepoints per job name (at least 1).',
    default: 10, min: 1,
  }),
  SAVEPOINT_HISTORY_MAX_AGE: durationOption('state.savepoints.history.max-age', {
    description: 'flink savepoints --prune disposes completed savepoints older than this (the newest of each job name is always kept); unset: no age limit.',
  }),
  // The Kubernetes operator's key without its prefix; the operator's full name is read too.
  PERIODIC_SAVEPOINT_INTERVAL: option('string', parseSavepointSchedule, 'periodic.savepoint.interval', {
    description: "Savepoints the cluster takes on its own while the job runs, into state.savepoints.dir: a duration ('1 h') or a cron expression ('0 0 * * *', or 6 fields with seconds first); 0 or unset: none.",
    fallbackKeys: ['kubernetes.operator.periodic.savepoint.interval'],
  }),
  REST_ALLOWED_HOSTS: stringOption('rest.allowed-hosts', {
    description: 'Comma-separated host names the REST endpoint answers to besides IP addresses, localhost, rest.address and this machine\'s name (a proxy, a Kubernetes service).',
  }),
  REST_AUTH_TOKEN: stringOption('rest.auth.token', {
    description: 'When set, the REST endpoint requires "Authorization: Bearer <token>"; the CLI sends it from the same configuration.',
  }),
} as const;

export const ALL_OPTIONS: readonly ConfigOption<unknown>[] = [
  CheckpointingOptions, StateBackendOptions, StateRecoveryOptions, RestartStrategyOptions, CoreOptions, PipelineOptions,
  TaskManagerOptions, RestOptions, ExecutionOptions, FlinkTsOptions, ClientOptions,
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
  | { type: 'fixed-delay'; attempts: number; delayMs: number }
  | { type: 'failure-rate'; maxFailuresPerInterval: number; intervalMs: number; delayMs: number }
  | {
    type: 'exponential-delay'; initialBackoffMs: number; maxBackoffMs: number; multiplier: number;
    resetThresholdMs: number; jitterFactor: number; attempts: number;
  };

/**
 * Flink 2.x's rule: an explicit restart-strategy.type wins; otherwise jobs with checkpointing restart by
 * exponential-delay (Flink 1.19+; before, fixed-delay with unlimited attempts) and jobs without it do not restart.
 */
export function restartStrategyFor(config: Configuration, checkpointingEnabled: boolean): RestartStrategy {
  const O = RestartStrategyOptions;
  const type = config.get(O.RESTART_STRATEGY) ?? (checkpointingEnabled ? 'exponential-delay' : 'none');
  switch (type) {
    case 'none':
      return { type: 'none' };
    case 'fixed-delay':
      return { type: 'fixed-delay', attempts: config.get(O.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS), delayMs: config.get(O.RESTART_STRATEGY_FIXED_DELAY_DELAY) };
    case 'failure-rate':
      return {
        type: 'failure-rate',
        maxFailuresPerInterval: config.get(O.RESTART_STRATEGY_FAILURE_RATE_MAX_FAILURES_PER_INTERVAL),
        intervalMs: config.get(O.RESTART_STRATEGY_FAILURE_RATE_FAILURE_RATE_INTERVAL),
        delayMs: config.get(O.RESTART_STRATEGY_FAILURE_RATE_DELAY),
      };
    case 'exponential-delay': {
      const initialBackoffMs = config.get(O.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF);
      const maxBackoffMs = config.get(O.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF);
      if (initialBackoffMs > maxBackoffMs) {
        throw new FlinkError('config',
          `restart-strategy.exponential-delay.initial-backoff (${initialBackoffMs} ms) must not exceed restart-strategy.exponential-delay.max-backoff (${maxBackoffMs} ms)`);
      }
      return {
        type: 'exponential-delay', initialBackoffMs, maxBackoffMs,
        multiplier: config.get(O.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER),
        resetThresholdMs: config.get(O.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD),
        jitterFactor: config.get(O.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR),
        attempts: config.get(O.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS),
      };
    }
  }
}

/**
 * Where the catalog lives: index.path, else one file per user and host in the user's data directory, whatever
 * state.checkpoints.dir says (so a job started with any -D is found without repeating it).
 */
export function indexPath(config: Configuration): string {
  return config.get(FlinkTsOptions.INDEX_PATH) ?? join(userDataDir(), 'flink-index.sqlite');
}

/** Where an older flink-ts kept the index of a checkpoint directory; merged into the catalog once. */
export function legacyIndexPath(config: Configuration): string | undefined {
  const checkpoints = config.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
  return checkpoints !== undefined ? join(checkpoints, 'flink-index.sqlite') : undefined;
}
