import { checkArgumentCount } from './arguments.js';
import { Configuration } from '../config/Configuration.js';
import { CheckpointingOptions } from '../config/ConfigOptions.js';
import { checkCheckpointingMode, type CheckpointingMode } from './CheckpointingMode.js';
import { FileSystemCheckpointStorage, JobManagerCheckpointStorage, type CheckpointStorage } from './checkpointStorage.js';
import { getProgramContext } from './ProgramContext.js';
import { ExternalizedCheckpointCleanup, ExternalizedCheckpointRetention, type ProgramCheckpointSettings } from './ProgramCheckpointSettings.js';

export { ExternalizedCheckpointCleanup, ExternalizedCheckpointRetention, type ProgramCheckpointSettings } from './ProgramCheckpointSettings.js';

/** Flink's minimal checkpoint interval. */
export const MINIMAL_CHECKPOINT_TIME = 10;

function checkMs(what: string, v: number, min: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`${what} must be ${min === 0 ? 'zero or positive' : `at least ${min} ms`}, got ${v}`);
  return v;
}

/**
 * Flink's CheckpointConfig (env.getCheckpointConfig()): the program's checkpointing settings. What the
 * program sets wins over the configuration; getters show the program's value, else the configured one
 * (flink-conf.yaml and -D of the run), else the default. Invalid values fail here, in the program.
 */
export class CheckpointConfig {
  constructor(private readonly s: ProgramCheckpointSettings) {}

  private configured(): Configuration {
    return Configuration.fromMap(getProgramContext()?.config ?? {});
  }

  setCheckpointingMode(mode: CheckpointingMode): void {
    checkArgumentCount('setCheckpointingMode(mode)', 1, arguments.length);
    this.s.mode = checkCheckpointingMode(mode);
  }
  getCheckpointingMode(): CheckpointingMode {
    return this.s.mode ?? this.configured().get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE);
  }

  /** Periodic checkpoints every `interval` ms (enables checkpointing). */
  setCheckpointInterval(interval: number): void {
    checkArgumentCount('setCheckpointInterval(interval)', 1, arguments.length);
    if (!(typeof interval === 'number' && interval >= MINIMAL_CHECKPOINT_TIME)) {
      throw new RangeError(`Checkpoint interval must be larger than or equal to ${MINIMAL_CHECKPOINT_TIME} ms, got ${interval}`);
    }
    this.s.interval = interval;
  }
  /** -1 when checkpointing is disabled, as in Flink. */
  getCheckpointInterval(): number {
    return this.s.interval ?? this.configured().getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL) ?? -1;
  }
  isCheckpointingEnabled(): boolean {
    return this.getCheckpointInterval() > 0;
  }

  /** A checkpoint not complete after `timeout` ms is aborted (and counts as a failed one). */
  setCheckpointTimeout(timeout: number): void {
    checkArgumentCount('setCheckpointTimeout(timeout)', 1, arguments.length);
    this.s.timeout = checkMs('Checkpoint timeout', timeout, 1);
  }
  getCheckpointTimeout(): number {
    return this.s.timeout ?? this.configured().get(CheckpointingOptions.CHECKPOINTING_TIMEOUT);
  }

  setMinPauseBetweenCheckpoints(minPause: number): void {
    checkArgumentCount('setMinPauseBetweenCheckpoints(minPause)', 1, arguments.length);
    this.s.minPause = checkMs('The minimal pause between checkpoints', minPause, 0);
  }
  getMinPauseBetweenCheckpoints(): number {
    return this.s.minPause ?? this.configured().get(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS);
  }

  setMaxConcurrentCheckpoints(max: number): void {
    checkArgumentCount('setMaxConcurrentCheckpoints(max)', 1, arguments.length);
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`The maximum number of concurrent checkpoints must be at least one, got ${max}`);
    this.s.maxConcurrent = max;
  }
  getMaxConcurrentCheckpoints(): number {
    return this.s.maxConcurrent ?? this.configured().get(CheckpointingOptions.MAX_CONCURRENT_CHECKPOINTS);
  }

  /** Unaligned checkpoints (exactly-once only: with AT_LEAST_ONCE the job fails at submission). */
  enableUnalignedCheckpoints(enabled = true): void {
    checkArgumentCount('enableUnalignedCheckpoints(enabled = true)', 1, arguments.length);
    if (typeof enabled !== 'boolean') throw new TypeError(`enableUnalignedCheckpoints expects a boolean, got ${JSON.stringify(enabled)}`);
    this.s.unaligned = enabled;
  }
  isUnalignedCheckpointsEnabled(): boolean {
    return this.s.unaligned ?? this.configured().get(CheckpointingOptions.ENABLE_UNALIGNED);
  }

  /** With unaligned checkpoints: start aligned, switch to unaligned after `timeout` ms (0: start unaligned). */
  setAlignedCheckpointTimeout(timeout: number): void {
    checkArgumentCount('setAlignedCheckpointTimeout(timeout)', 1, arguments.length);
    this.s.alignedTimeout = checkMs('The aligned checkpoint timeout', timeout, 0);
  }
  getAlignedCheckpointTimeout(): number {
    return this.s.alignedTimeout ?? this.configured().get(CheckpointingOptions.ALIGNED_CHECKPOINT_TIMEOUT);
  }

  setTolerableCheckpointFailureNumber(n: number): void {
    checkArgumentCount('setTolerableCheckpointFailureNumber(n)', 1, arguments.length);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`The tolerable failure checkpoint number must be non-negative, got ${n}`);
    this.s.tolerableFailures = n;
  }
  getTolerableCheckpointFailureNumber(): number {
    return this.s.tolerableFailures ?? this.configured().get(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER);
  }

  setExternalizedCheckpointRetention(retention: ExternalizedCheckpointRetention): void {
    checkArgumentCount('setExternalizedCheckpointRetention(retention)', 1, arguments.length);
    if (!Object.values(ExternalizedCheckpointRetention).includes(retention)) {
      throw new TypeError(`Unknown externalized checkpoint retention ${JSON.stringify(retention)}: use ExternalizedCheckpointRetention.${Object.keys(ExternalizedCheckpointRetention).join(' | .')}`);
    }
    this.s.retention = retention;
  }
  /** The pre-1.20 name: RETAIN_ON_CANCELLATION or DELETE_ON_CANCELLATION. */
  enableExternalizedCheckpoints(cleanup: ExternalizedCheckpointCleanup): void {
    checkArgumentCount('enableExternalizedCheckpoints(cleanup)', 1, arguments.length);
    this.setExternalizedCheckpointRetention(cleanup);
  }
  setExternalizedCheckpointCleanup(cleanup: ExternalizedCheckpointCleanup): void {
    checkArgumentCount('setExternalizedCheckpointCleanup(cleanup)', 1, arguments.length);
    this.setExternalizedCheckpointRetention(cleanup);
  }
  getExternalizedCheckpointRetention(): ExternalizedCheckpointRetention {
    return this.s.retention ?? this.configured().get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION);
  }
  isExternalizedCheckpointsEnabled(): boolean {
    return this.getExternalizedCheckpointRetention() !== 'NO_EXTERNALIZED_CHECKPOINTS';
  }

  /** A directory (path or file:// URI) for FileSystemCheckpointStorage, or a CheckpointStorage. */
  setCheckpointStorage(storage: string | CheckpointStorage): void {
    checkArgumentCount('setCheckpointStorage(storage)', 1, arguments.length);
    if (typeof storage === 'string') this.s.storage = new FileSystemCheckpointStorage(storage);
    else if (storage instanceof FileSystemCheckpointStorage || storage instanceof JobManagerCheckpointStorage) this.s.storage = storage;
    else throw new TypeError('setCheckpointStorage expects a path, a FileSystemCheckpointStorage or a JobManagerCheckpointStorage');
  }
  /** The program's storage; undefined when the configuration decides (state.checkpoint-storage). */
  getCheckpointStorage(): CheckpointStorage | undefined {
    return this.s.storage;
  }
}
