import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { FlinkError } from '../core/FlinkError.js';
import { faultPoint } from '../core/FaultInjection.js';
import { fsyncDirectory } from '../core/files.js';
import type { SavepointFormatType } from '../core/SavepointFormatType.js';
import { verifyStateFile } from '../state/StateFile.js';
import type { ChannelStateHandle, StateFileHandle } from '../state/StateHandles.js';
import { metadataShapeProblem } from './MetadataValidation.js';

/**
 * The `_metadata` file of a checkpoint or savepoint: the only file whose presence says "this snapshot is
 * complete". It is written last, atomically (temp file, fsync, rename, fsync of the directory), and
 * carries a CRC32 of its payload so truncation or bit flips are detected instead of restored.
 *
 * Layout: "FLTSMETA" | u32 format version | u32 payload length | u32 CRC32(payload) | payload (UTF-8 JSON).
 * JSON keeps the file inspectable; the bulk of the state lives in the state files it points to.
 * File references are relative to the metadata's directory, so a savepoint folder can be moved.
 */
export const METADATA_FILE = '_metadata';
const MAGIC = Buffer.from('FLTSMETA', 'latin1');
const HEADER = 20;
export const METADATA_FORMAT_VERSION = 1;

export type SnapshotKind = 'CHECKPOINT' | 'SAVEPOINT';

export interface OperatorSubtaskStateHandle {
  subtask: number;
  state: StateFileHandle;
}

export interface OperatorStateMetadata {
  /** 32 hex characters: the hash of the uid, or the deterministic auto-generated id. */
  operatorId: string;
  uid?: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  subtasks: OperatorSubtaskStateHandle[];
}

export interface CheckpointMetadata {
  formatVersion: number;
  jobId: string;
  jobName: string;
  checkpointId: number;
  kind: SnapshotKind;
  /** CANONICAL for savepoints; checkpoints are in the backend's native format. */
  format: SavepointFormatType;
  triggerTimestamp: number;
  completionTimestamp: number;
  maxParallelism: number;
  operators: OperatorStateMetadata[];
  /**
   * Operators all of whose subtasks had finished when the snapshot was taken: restored as finished
   * (empty state) rather than as new, so a bounded source that was done is not read again.
   */
  finishedOperators?: string[];
  /**
   * In-flight data of an unaligned checkpoint, per task: keyed by the id of the task's head operator, one
   * file per subtask that had records in flight. Absent for aligned checkpoints and savepoints.
   */
  channelState?: { operatorId: string; parallelism: number; subtasks: { subtask: number; state: ChannelStateHandle }[] }[];
  /** The checkpoint ran unaligned (from the start, or after its alignment timed out) in some task. */
  unaligned?: boolean;
}

export function encodeMetadata(md: CheckpointMetadata): Buffer {
  const payload = Buffer.from(JSON.stringify(md), 'utf8');
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(METADATA_FORMAT_VERSION, 8);
  header.writeUInt32BE(payload.length, 12);
  header.writeUInt32BE(crc32(payload), 16);
  return Buffer.concat([header, payload]);
}

export function decodeMetadata(bytes: Buffer, where: string): CheckpointMetadata {
  const bad = (why: string) => new FlinkError('restore', `Corrupted checkpoint metadata ${where}: ${why}`);
  if (bytes.length < HEADER) throw bad(`file is ${bytes.length} bytes, shorter than its header`);
  if (!bytes.subarray(0, 8).equals(MAGIC)) throw bad('not a checkpoint metadata file (bad magic number)');
  const version = bytes.readUInt32BE(8);
  if (version !== METADATA_FORMAT_VERSION) throw bad(`unsupported format version ${version}`);
  const len = bytes.readUInt32BE(12);
  if (bytes.length !== HEADER + len) throw bad(`truncated (expected ${HEADER + len} bytes, found ${bytes.length})`);
  const payload = bytes.subarray(HEADER);
  if (crc32(payload) !== bytes.readUInt32BE(16)) throw bad('checksum mismatch');
  let md: unknown;
  try {
    md = JSON.parse(payload.toString('utf8'));
  } catch {
    throw bad('payload is not valid JSON');
  }
  const problem = metadataShapeProblem(md);
  if (problem) throw bad(problem);
  return md as CheckpointMetadata;
}

/** Writes `_metadata` into dir so that it either exists complete or not at all. */
export function writeMetadataAtomically(dir: string, md: CheckpointMetadata): string {
  const target = join(dir, METADATA_FILE);
  const tmp = join(dir, `.${METADATA_FILE}.inprogress`);
  const bytes = encodeMetadata(md);
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    const half = bytes.length >> 1;
    while (off < half) off += writeSync(fd, bytes, off, half - off);
    faultPoint('metadata.write', tmp);
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    faultPoint('metadata.fsync', tmp);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  faultPoint('metadata.rename', tmp);
  renameSync(tmp, target);
  faultPoint('metadata.dir-fsync', dir);
  fsyncDirectory(dir);
  return target;
}

/** Strips Flink's `file:` scheme (file:/x, file:///x) from a path. */
export function stripFileScheme(p: string): string {
  if (p.startsWith('file://')) return p.slice('file://'.length) || '/';
  if (p.startsWith('file:')) return p.slice('file:'.length);
  return p;
}

/**
 * Accepts what `flink run -s` accepts: a savepoint directory, a `chk-N` directory, or the `_metadata`
 * file itself (with or without `file:`), and returns the snapshot directory and metadata file.
 */
export function resolveSnapshotPath(p: string): { dir: string; metadataFile: string } {
  const abs = resolve(stripFileScheme(p));
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new FlinkError('not-found', `Checkpoint/savepoint path '${p}' does not exist`);
  }
  if (st.isDirectory()) {
    const metadataFile = join(abs, METADATA_FILE);
    try {
      statSync(metadataFile);
    } catch {
      throw new FlinkError('not-found', `Cannot find meta data file '${METADATA_FILE}' in directory '${abs}'. Please try to load the checkpoint/savepoint directly from the metadata file instead of the directory.`);
    }
    return { dir: abs, metadataFile };
  }
  if (basename(abs) !== METADATA_FILE) {
    throw new FlinkError('not-found', `'${p}' is neither a checkpoint/savepoint directory nor a ${METADATA_FILE} file`);
  }
  return { dir: dirname(abs), metadataFile: abs };
}

export interface LoadedSnapshot {
  dir: string;
  metadataFile: string;
  metadata: CheckpointMetadata;
}

export function loadSnapshot(p: string): LoadedSnapshot {
  if (p.startsWith('jobmanager://')) {
    throw new FlinkError('not-found', `Checkpoint ${p} was kept in the memory of its cluster process (JobManagerCheckpointStorage) and cannot be restored from outside it; use FileSystemCheckpointStorage (state.checkpoint-storage: filesystem) for checkpoints to resume from, or a savepoint.`);
  }
  const { dir, metadataFile } = resolveSnapshotPath(p);
  let bytes: Buffer;
  try {
    bytes = readFileSync(metadataFile);
  } catch (e) {
    throw new FlinkError('io', `Cannot read ${metadataFile}: ${(e as Error).message}`);
  }
  return { dir, metadataFile, metadata: decodeMetadata(bytes, metadataFile) };
}

/** Checks every state file a snapshot refers to for presence, size and checksum. */
export function verifySnapshotFiles(snap: LoadedSnapshot): void {
  for (const op of snap.metadata.operators) {
    for (const st of op.subtasks) {
      verifyStateFile(snap.dir, st.state);
      for (const kf of st.state.keyedStateFiles ?? []) verifyStateFile(snap.dir, kf);
    }
  }
  for (const cs of snap.metadata.channelState ?? []) {
    for (const st of cs.subtasks) verifyStateFile(snap.dir, st.state);
  }
}

/** Removes a leftover temp metadata file (a crash during the write); it never counts as complete. */
export function removeStaleTempMetadata(dir: string): void {
  try {
    unlinkSync(join(dir, `.${METADATA_FILE}.inprogress`));
  } catch {
    /* none */
  }
}
