import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { FlinkError } from '../core/FlinkError.js';
import { decode, encode } from '../core/Serializer.js';
import type { FileRef, StateFileHandle } from './StateHandles.js';
import { KeyGroupRange } from './KeyGroupRange.js';
import { faultPoint } from '../core/FaultInjection.js';
import { columnarSize, isColumnar, unpackColumnar, type ColumnarChunk } from './ColumnarChunk.js';
import { packRows, type Rows } from './BinaryChunk.js';

/**
 * One operator subtask's snapshot: a key-group section per owned key group (so a restore at another
 * parallelism reads just the groups it now owns), then the operator state section.
 * A section is a run of chunks `u32 length | v8 payload`, closed by a zero length.
 * Keyed chunk payload: [stateName, [key0, value0, key1, value1, ...]], or [stateName, ColumnarChunk] in a
 * heap backend's checkpoint (see ColumnarChunk.ts).
 * Operator state payload: { [stateName]: { mode, entries } }.
 */
export interface OperatorStateSnapshot {
  [name: string]: { mode: string; entries: unknown[] };
}

/** A state file as written: its size and checksum (for `_metadata`), and where its sections begin. */
export interface WrittenStateFile {
  size: number;
  crc32: number;
  keyGroupOffsets: number[];
  operatorStateOffset: number;
}

/**
 * What a snapshot's asynchronous part writes one state file through, in file order: StateFileWriter on the
 * calling thread, or AsyncStateFileWriter (src/runtime), which encodes, checksums and writes on the task's
 * asynchronous-operations thread.
 */
export interface StateFileOutput {
  /** Keyed entries written so far. */
  readonly keyedEntries: number;
  beginKeyGroup(): void;
  writeKeyedChunk(stateName: string, flat: unknown[]): void;
  /** A keyed chunk in the columnar form (the heap backend's checkpoints); read back as rows by decodeKeyedChunk. */
  writeColumnarChunk(stateName: string, chunk: ColumnarChunk): void;
  /** A keyed chunk passed through as it was read (restored key groups nobody has touched since). */
  writeEncodedKeyedChunk(payload: Buffer, entries: number): void;
  /**
   * A binary key group's rows as a columnar chunk (packRows). The rows must be a copy nobody changes: their
   * buffers belong to the output from now on (the asynchronous-operations thread takes them over without a copy).
   */
  writeBinaryRows(stateName: string, rows: Rows, fields: string[] | undefined): void;
  endSection(): void;
  /** The operator state section, the file's last. */
  writeOperatorState(state: OperatorStateSnapshot): void;
  /** Writes and fsyncs the file at `path` (which must not exist). */
  finish(path: string): Promise<WrittenStateFile>;
  /** The whole file as bytes, for JobManagerCheckpointStorage, which keeps checkpoints in memory. */
  toBytes(): (WrittenStateFile & { bytes: Buffer }) | Promise<WrittenStateFile & { bytes: Buffer }>;
  /** Gives the file up (its snapshot failed): nothing of it is kept. */
  discard(): void;
}

export class StateFileWriter implements StateFileOutput {
  private readonly parts: Buffer[] = [];
  private offset = 0;
  /** CRC32 of the parts so far, computed as they come (between the asynchronous part's slices, not in one block at the end). */
  private crc = 0;
  readonly keyGroupOffsets: number[] = [];
  keyedEntries = 0;
  private operatorStateOffset = -1;

  beginKeyGroup(): void {
    this.keyGroupOffsets.push(this.offset);
  }

  writeKeyedChunk(stateName: string, flat: unknown[]): void {
    this.keyedEntries += flat.length / 2;
    this.push(encode([stateName, flat]));
  }

  writeColumnarChunk(stateName: string, chunk: ColumnarChunk): void {
    this.keyedEntries += columnarSize(chunk);
    this.push(encode([stateName, chunk]));
  }

  writeEncodedKeyedChunk(payload: Buffer, entries: number): void {
    this.keyedEntries += entries;
    this.push(payload);
  }

  writeBinaryRows(stateName: string, rows: Rows, fields: string[] | undefined): void {
    this.writeColumnarChunk(stateName, packRows(rows, fields));
  }

  endSection(): void {
    this.pushRaw(Buffer.alloc(4));
  }

  writeOperatorState(state: OperatorStateSnapshot): void {
    this.writeEncodedOperatorState(encode(state));
  }

  /** The operator state section from its encoded payload. */
  writeEncodedOperatorState(payload: Buffer): void {
    this.operatorStateOffset = this.offset;
    this.push(payload);
    this.endSection();
  }

  get size(): number {
    return this.offset;
  }

  private push(payload: Buffer): void {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(payload.length, 0);
    this.pushRaw(len);
    this.pushRaw(payload);
  }

  private pushRaw(b: Buffer): void {
    this.parts.push(b);
    this.offset += b.length;
    this.crc = crc32(b, this.crc);
  }

  discard(): void {
    this.parts.length = 0;
  }

  /** What finish returns, also for a writer whose file another party fsyncs (writeUnsynced). */
  get result(): WrittenStateFile {
    return { size: this.offset, crc32: this.crc, keyGroupOffsets: this.keyGroupOffsets, operatorStateOffset: this.operatorStateOffset };
  }

  /** The parts in one exact buffer of its own (not a slice of Node's pool): it may be handed to another thread whole. */
  toBytes(): WrittenStateFile & { bytes: Buffer } {
    const bytes = Buffer.from(new ArrayBuffer(this.offset));
    let at = 0;
    for (const p of this.parts) at += p.copy(bytes, at);
    return { ...this.result, bytes };
  }

  /** Writes and fsyncs the file; the checksum travels in the metadata, not in the file. */
  async finish(path: string): Promise<WrittenStateFile> {
    faultPoint('state-file.write', path);
    const fh = await this.writeUnsynced(path);
    try {
      faultPoint('state-file.fsync', path);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return this.result;
  }

  /** The first half of finish: the file created and its bytes written, not yet fsynced (the handle stays open). */
  async writeUnsynced(path: string): Promise<FileHandle> {
    const fh = await open(path, 'wx');
    try {
      await fh.writev(this.parts);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return fh;
  }
}

function* chunks(bytes: Buffer, offset: number): Generator<Buffer> {
  let pos = offset;
  for (;;) {
    const len = bytes.readUInt32BE(pos);
    pos += 4;
    if (len === 0) return;
    yield bytes.subarray(pos, pos + len);
    pos += len;
  }
}

/** Visits the entries of the key groups of `wanted` that this file holds. */
export function readKeyGroups(
  bytes: Buffer,
  handle: StateFileHandle,
  wanted: KeyGroupRange,
  visit: (stateName: string, keyGroup: number, flat: unknown[]) => void,
): void {
  readKeyGroupChunks(bytes, handle, wanted, (kg, chunk) => {
    const [name, flat] = decodeKeyedChunk(chunk);
    visit(name, kg, flat);
  });
}

/** Visits the still-encoded keyed chunks of the key groups of `wanted` that this file holds. */
export function readKeyGroupChunks(bytes: Buffer, handle: StateFileHandle, wanted: KeyGroupRange, visit: (keyGroup: number, chunk: Buffer) => void): void {
  if (!handle.keyGroupRange || !handle.keyGroupOffsets) return;
  const have = KeyGroupRange.of(handle.keyGroupRange);
  if (handle.keyGroupOffsets.length !== have.size) return; // no key-group sections were written
  const both = have.intersection(wanted);
  for (let kg = both.start; kg <= both.end; kg++) {
    for (const c of chunks(bytes, handle.keyGroupOffsets[kg - have.start])) visit(kg, c);
  }
}

export function decodeKeyedChunk(chunk: Buffer): [stateName: string, flat: unknown[]] {
  const [name, body] = decodeKeyedChunkBody(chunk);
  return [name, isColumnar(body) ? unpackColumnar(body) : body];
}

/** A keyed chunk as written: rows, or a columnar chunk not yet unpacked (a binary key group loads it as it is). */
export function decodeKeyedChunkBody(chunk: Buffer): [stateName: string, body: unknown[] | ColumnarChunk] {
  return decode<[string, unknown[] | ColumnarChunk]>(chunk);
}

/** The number of entries in a keyed chunk. */
export function keyedChunkEntries(chunk: Buffer): number {
  const body = decodeKeyedChunkBody(chunk)[1];
  return isColumnar(body) ? columnarSize(body) : body.length / 2;
}

export function readOperatorState(bytes: Buffer, handle: StateFileHandle & { operatorStateOffset?: number }): OperatorStateSnapshot {
  const off = handle.operatorStateOffset;
  if (off === undefined) return {};
  const out: OperatorStateSnapshot = {};
  for (const c of chunks(bytes, off)) Object.assign(out, decode<OperatorStateSnapshot>(c));
  return out;
}

/** Reads a file a snapshot refers to, checking presence, size and checksum before anything trusts it. */
export function verifyStateFile(dir: string, h: FileRef): Buffer {
  const file = h.inline ? `${dir}/${h.file}` : join(dir, h.file);
  let bytes: Buffer;
  try {
    // Across threads a Buffer arrives as a plain Uint8Array: wrap it again, without copying.
    bytes = h.inline ? Buffer.from(h.inline.buffer, h.inline.byteOffset, h.inline.byteLength) : readFileSync(file);
  } catch {
    throw new FlinkError('restore', `State file ${file} referenced by the snapshot's _metadata is missing`);
  }
  if (bytes.length !== h.size) {
    throw new FlinkError('restore', `State file ${file} is corrupted: expected ${h.size} bytes, found ${bytes.length}`);
  }
  if (crc32(bytes) !== h.crc32) throw new FlinkError('restore', `State file ${file} is corrupted: checksum mismatch`);
  return bytes;
}
