import { faultPoint } from '../core/FaultInjection.js';
import { encode } from '../core/Serializer.js';
import type { Rows } from '../state/BinaryChunk.js';
import { columnarSize, type ColumnarChunk } from '../state/ColumnarChunk.js';
import type { OperatorStateSnapshot, StateFileOutput, WrittenStateFile } from '../state/StateFile.js';
import type { AsyncOperationsThread, TransferredRows } from './AsyncOperationsThread.js';

/**
 * A state file written on the task's asynchronous-operations thread: what the task thread encodes (JS objects)
 * crosses as bytes, a binary key group's rows cross as they are (their buffers moved, not copied) and are packed
 * there; the checksum and the file's I/O happen there too. The fault points are passed on the task thread, so
 * their per-thread counts mean what they meant before.
 */
export class AsyncStateFileWriter implements StateFileOutput {
  keyedEntries = 0;
  private readonly file: number;

  constructor(private readonly thread: AsyncOperationsThread) {
    this.file = thread.newFile();
  }

  beginKeyGroup(): void {
    this.thread.post({ op: 'begin', file: this.file });
  }

  writeKeyedChunk(stateName: string, flat: unknown[]): void {
    this.keyedEntries += flat.length / 2;
    this.part(encode([stateName, flat]));
  }

  writeColumnarChunk(stateName: string, chunk: ColumnarChunk): void {
    this.keyedEntries += columnarSize(chunk);
    this.part(encode([stateName, chunk]));
  }

  writeEncodedKeyedChunk(payload: Buffer, entries: number): void {
    this.keyedEntries += entries;
    this.part(payload);
  }

  writeBinaryRows(stateName: string, rows: Rows, fields: string[] | undefined): void {
    this.keyedEntries += rows.n;
    // Only the buffers the rows own: in-order rows need no offsets, and rows without number keys share an empty array.
    const { words: _, rowOff, rowNum, ...rest } = rows;
    const t: TransferredRows = { ...rest, ...(rows.inOrder ? {} : { rowOff }), ...(rowNum.length > 0 ? { rowNum } : {}) };
    const transfer = [t.cells.buffer, t.keyBytes.buffer, t.rowLen.buffer, t.rowOff?.buffer, t.rowNum?.buffer]
      .filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
    this.thread.post({ op: 'rows', file: this.file, name: stateName, rows: t, fields }, [...new Set(transfer)]);
  }

  endSection(): void {
    this.thread.post({ op: 'end', file: this.file });
  }

  writeOperatorState(state: OperatorStateSnapshot): void {
    const bytes = new Uint8Array(encode(state));
    this.thread.post({ op: 'operator-state', file: this.file, bytes }, [bytes.buffer]);
  }

  async finish(path: string): Promise<WrittenStateFile> {
    try {
      faultPoint('state-file.write', path);
      await this.thread.request({ op: 'write', file: this.file, path });
      faultPoint('state-file.fsync', path);
      return (await this.thread.request({ op: 'sync', file: this.file })).written!;
    } catch (e) {
      this.discard();
      throw e;
    }
  }

  async toBytes(): Promise<WrittenStateFile & { bytes: Buffer }> {
    const r = await this.thread.request({ op: 'bytes', file: this.file });
    return { ...r.written!, bytes: Buffer.from(r.bytes!.buffer, r.bytes!.byteOffset, r.bytes!.byteLength) };
  }

  discard(): void {
    try {
      this.thread.post({ op: 'drop', file: this.file });
    } catch {
      /* the thread that held it is gone */
    }
  }

  /** Encoded bytes in a buffer of their own, moved to the thread (a copy here is a memcpy; the checksum is not). */
  private part(payload: Buffer): void {
    const bytes = new Uint8Array(payload);
    this.thread.post({ op: 'part', file: this.file, bytes }, [bytes.buffer]);
  }
}
