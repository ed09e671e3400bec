import { lstatSync, readFileSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FlinkError, isFlinkError } from '../core/FlinkError.js';
import type { SnapshotReport } from './CheckpointStatsTracker.js';
import { METADATA_FILE, decodeMetadata, resolveSnapshotPath, type CheckpointMetadata } from './Metadata.js';
import { fsyncDirectory, sizeAndCrc32 } from '../core/files.js';

/** What disposal needs from the index: find the snapshot's row and mark it discarded. */
export interface SnapshotIndexLike {
  findSnapshotByPath(path: string): SnapshotReport | undefined;
  updateSnapshot(path: string, patch: Partial<Omit<SnapshotReport, 'path'>>): void;
}

export interface DisposalResult {
  /** The savepoint directory. */
  dir: string;
  /** Files removed, `_metadata` last. */
  deletedFiles: string[];
  /** State files the metadata lists that were already gone. */
  missingFiles: string[];
  /** True when the directory was empty afterwards and has been removed. */
  removedDirectory: boolean;
  /** True when an index row was found and marked DISCARDED. */
  indexUpdated: boolean;
}

/**
 * Disposes a savepoint: accepts its directory or its `_metadata` file (with or without `file:`).
 *
 * Everything is checked before anything is deleted, so a refusal leaves the folder untouched: the path must
 * hold a readable, intact `_metadata` of kind SAVEPOINT whose state files all lie inside the folder, and every
 * one of them that is there must have the size and checksum the metadata records (a file that does not is not
 * this savepoint's, whatever its name). Then only the files the metadata lists are deleted, `_metadata` last
 * (a crash midway leaves a savepoint that still announces itself and can be disposed again), and the folder is removed only if nothing else is left in it.
 * Never deletes recursively: files we did not write stay where they are.
 */
export async function disposeSavepoint(path: string, index?: SnapshotIndexLike): Promise<DisposalResult> {
  const { dir, metadataFile } = resolveSnapshotPath(path);
  const metadata = readSavepointMetadata(path, metadataFile);

  // Operator state files, the embedded backend's store files of a native savepoint, and in-flight channel state.
  const refs: unknown[] = [];
  for (const op of metadata.operators ?? []) {
    for (const st of op.subtasks ?? []) refs.push(st?.state, ...(Array.isArray(st?.state?.keyedStateFiles) ? st.state.keyedStateFiles : []));
  }
  for (const cs of Array.isArray(metadata.channelState) ? metadata.channelState : []) for (const st of cs?.subtasks ?? []) refs.push(st?.state);
  const stateFiles = new Map<string, { size: unknown; crc32: unknown }>();
  for (const ref of refs) {
    const file = (ref as { file?: unknown } | undefined)?.file;
    if (typeof file !== 'string' || file === '') {
      throw refuse(path, 'its metadata lists a state file without a name');
    }
    stateFiles.set(insideDir(path, dir, file), ref as { size: unknown; crc32: unknown });
  }
  stateFiles.delete(metadataFile);

  const present: string[] = [];
  const missingFiles: string[] = [];
  for (const [f, ref] of stateFiles) {
    let st;
    try {
      st = lstatSync(f);
    } catch {
      missingFiles.push(f);
      continue;
    }
    if (st.isDirectory()) throw refuse(path, `its metadata lists '${f}', which is a directory, as a state file`);
    if (!st.isFile() || st.size !== ref.size || (await fileCrc32(f)) !== ref.crc32) {
      throw refuse(path, `'${f}' is not the state file its metadata describes (size or checksum differ)`);
    }
    present.push(f);
  }

  const deletedFiles: string[] = [];
  for (const f of [...present, metadataFile]) {
    try {
      unlinkSync(f);
      deletedFiles.push(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new FlinkError('io', `Could not delete '${f}' while disposing savepoint '${path}': ${(e as Error).message}`, { cause: e });
    }
  }

  // State files may live in sub-folders of the savepoint; drop those that are now empty, deepest first.
  const subdirs = new Set<string>();
  for (const f of present) {
    for (let d = dirname(f); d !== dir && d.startsWith(dir + sep); d = dirname(d)) subdirs.add(d);
  }
  for (const d of [...subdirs].sort((a, b) => b.length - a.length)) removeIfEmpty(d);
  fsyncDirectory(dir);
  const removedDirectory = removeIfEmpty(dir);

  let indexUpdated = false;
  if (index) indexUpdated = markDiscarded(index, dir);
  return { dir, deletedFiles, missingFiles, removedDirectory, indexUpdated };
}

function refuse(path: string, why: string, kind: 'invalid-argument' | 'not-found' = 'invalid-argument'): FlinkError {
  return new FlinkError(kind, `Refusing to dispose '${path}': ${why}. Nothing was deleted.`);
}

function readSavepointMetadata(path: string, metadataFile: string): CheckpointMetadata {
  let bytes: Buffer;
  try {
    bytes = readFileSync(metadataFile);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw refuse(path, `it has no ${METADATA_FILE} file`, 'not-found');
    if (code === 'EISDIR') throw refuse(path, `its ${METADATA_FILE} is a directory, not a savepoint metadata file`);
    throw new FlinkError('io', `Cannot read '${metadataFile}': ${(e as Error).message}`, { cause: e });
  }
  let md: CheckpointMetadata;
  try {
    md = decodeMetadata(bytes, metadataFile);
  } catch (e) {
    // decodeMetadata reports corruption as a restore error; here it means "not a savepoint we recognise".
    throw refuse(path, isFlinkError(e) ? e.message : `its ${METADATA_FILE} cannot be decoded`);
  }
  if (typeof md !== 'object' || md === null || !Array.isArray(md.operators)) {
    throw refuse(path, `its ${METADATA_FILE} does not describe a snapshot`);
  }
  if (md.kind === 'CHECKPOINT') {
    throw refuse(path, 'it is a checkpoint, not a savepoint (checkpoints are owned and cleaned up by their job)');
  }
  if (md.kind !== 'SAVEPOINT') throw refuse(path, `its ${METADATA_FILE} has an unknown snapshot kind`);
  return md;
}

/** Resolves a state file name against the savepoint folder, refusing names that escape it. */
function insideDir(path: string, dir: string, file: string): string {
  const abs = resolve(dir, file);
  const rel = relative(dir, abs);
  if (isAbsolute(file) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw refuse(path, `its metadata refers to '${file}', which is outside the savepoint directory`);
  }
  return join(dir, rel);
}

/** A file's CRC-32, read asynchronously: the event loop (the JobManager's, over REST) runs between slices (0.5 s per GiB). */
async function fileCrc32(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    return (await sizeAndCrc32(fh)).crc32;
  } finally {
    await fh.close();
  }
}

/** rmdir (never recursive): succeeds only on an empty directory. */
function removeIfEmpty(dir: string): boolean {
  try {
    if (readdirSync(dir).length > 0) return false;
    rmdirSync(dir);
    fsyncDirectory(dirname(dir));
    return true;
  } catch {
    return false;
  }
}

function markDiscarded(index: SnapshotIndexLike, dir: string): boolean {
  // The index keys snapshots by their absolute folder.
  const row = index.findSnapshotByPath(dir);
  if (!row) return false;
  index.updateSnapshot(row.path, { status: 'DISCARDED' });
  return true;
}
