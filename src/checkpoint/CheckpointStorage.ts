import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeError, FlinkError } from '../core/FlinkError.js';
import { randomHex } from '../core/ids.js';
import { mkdirs } from '../core/mkdirs.js';
import { METADATA_FILE, removeStaleTempMetadata, stripFileScheme } from './Metadata.js';

/** Flink's message when a savepoint has neither a target directory nor state.savepoints.dir. */
export const NO_SAVEPOINT_DIRECTORY_MESSAGE =
  'No savepoint directory configured. You can either specify a directory when triggering the savepoint or ' +
  "configure a cluster-wide default via key 'state.savepoints.dir'.";

/**
 * The directory a savepoint goes to: the one given (a path or file: URI), else the configured default
 * (state.savepoints.dir). It is created if missing and must be a writable directory; the error names it.
 * The one place that resolves, defaults and creates a savepoint target.
 */
export function resolveSavepointTarget(given: string | undefined, configuredDefault: string | undefined): string {
  const raw = given !== undefined && given !== '' ? given : configuredDefault;
  if (raw === undefined || raw === '') throw new FlinkError('invalid-argument', NO_SAVEPOINT_DIRECTORY_MESSAGE);
  const dir = resolve(stripFileScheme(raw));
  try {
    mkdirs(dir);
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'EEXIST' ? 'not a directory' : describeError(e);
    throw new FlinkError('io', `Savepoint directory '${dir}' is not writable: ${why}`, { cause: e });
  }
  return dir;
}

/** Location of a checkpoint kept in the JobManager's memory (MemoryCheckpointStorage): never a folder. */
export const JOBMANAGER_LOCATION_PREFIX = 'jobmanager://';
export const isJobManagerLocation = (location: string): boolean => location.startsWith(JOBMANAGER_LOCATION_PREFIX);

/**
 * File-system checkpoint storage (Flink's FsCheckpointStorage): `<dir>/<jobId>/chk-<N>/` per checkpoint
 * with `shared/` and `taskowned/` beside them, and `savepoint-<jobId[0:6]>-<12 hex>/` under a target
 * directory per savepoint. Every state file sits next to its `_metadata`, referenced by relative name.
 */
export class CheckpointStorage {
  readonly jobDir: string;

  constructor(readonly checkpointsDir: string, readonly jobId: string) {
    this.jobDir = join(checkpointsDir, jobId);
  }

  initialize(): void {
    try {
      for (const d of [this.jobDir, join(this.jobDir, 'shared'), join(this.jobDir, 'taskowned')]) mkdirs(d);
    } catch (e) {
      throw new FlinkError('io', `Cannot create checkpoint directory ${this.jobDir}: ${(e as Error).message}`);
    }
  }

  checkpointLocation(checkpointId: number): string {
    const dir = join(this.jobDir, `chk-${checkpointId}`);
    mkdirs(dir);
    removeStaleTempMetadata(dir);
    return dir;
  }

  /** A fresh savepoint folder under targetDir (see resolveSavepointTarget); never reuses an existing one. */
  savepointLocation(targetDir: string): string {
    const base = resolveSavepointTarget(targetDir, undefined);
    for (;;) {
      const dir = join(base, `savepoint-${this.jobId.slice(0, 6)}-${randomHex(6)}`);
      try {
        mkdirSync(dir); // fails if it exists: two savepoints never share a folder
        return dir;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new FlinkError('io', `Cannot create savepoint directory ${dir}: ${(e as Error).message}`);
      }
    }
  }

  /** Removes a snapshot folder this job wrote (an aborted checkpoint, a subsumed one, a failed savepoint). */
  static discard(dir: string): void {
    if (isJobManagerLocation(dir)) return; // dropped with its CompletedCheckpoint
    try {
      // A subtask's asynchronous write may still be adding its file to a pending checkpoint being aborted.
      rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
    } catch {
      /* a folder left without _metadata is never restored from */
    }
  }

  /** Removes the job's checkpoint folder when nothing in it is to be retained. */
  discardJobDirIfEmpty(): void {
    try {
      const left = readdirSync(this.jobDir).filter((f) => f !== 'shared' && f !== 'taskowned');
      if (left.length === 0) rmSync(this.jobDir, { recursive: true, force: true });
    } catch {
      /* already gone */
    }
  }

  static isComplete(dir: string): boolean {
    return existsSync(join(dir, METADATA_FILE));
  }
}
