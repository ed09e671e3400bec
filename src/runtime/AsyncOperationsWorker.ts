/**
 * The asynchronous-operations thread's side (AsyncOperationsThread.ts): a StateFileWriter per state file being
 * written, fed in file order. The first failing operation of a file is remembered and answers its next request.
 */
import type { FileHandle } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import type { Rows } from '../state/BinaryChunk.js';
import { StateFileWriter } from '../state/StateFile.js';
import type { AsyncOperation, AsyncReply, TransferredRows } from './AsyncOperationsThread.js';

interface OpenFile {
  w: StateFileWriter;
  error?: string;
  fh?: FileHandle;
}

const files = new Map<number, OpenFile>();
const port = parentPort!;

function rowsOf(t: TransferredRows): Rows {
  return {
    ...t,
    rowOff: t.rowOff ?? new Int32Array(0),
    rowNum: t.rowNum ?? new Float64Array(0),
    words: new Uint32Array(t.cells.buffer, t.cells.byteOffset, t.cells.length * 2),
  };
}

const bufferOf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function fileOf(id: number): OpenFile {
  let f = files.get(id);
  if (!f) files.set(id, (f = { w: new StateFileWriter() }));
  return f;
}

/** The operations that only add to a file, applied at once and in order. */
function apply(f: OpenFile, m: AsyncOperation): void {
  switch (m.op) {
    case 'begin': return f.w.beginKeyGroup();
    case 'part': return f.w.writeEncodedKeyedChunk(bufferOf(m.bytes), 0);
    // A new array: the clone (and a copy of it) serializes as a sparse array (same names, 4 bytes more per chunk).
    case 'rows': return f.w.writeBinaryRows(m.name, rowsOf(m.rows), m.fields?.map(String));
    case 'end': return f.w.endSection();
    case 'operator-state': return f.w.writeEncodedOperatorState(bufferOf(m.bytes));
    default:
  }
}

async function answer(f: OpenFile, m: Extract<AsyncOperation, { id: number }>): Promise<AsyncReply> {
  if (f.error !== undefined) {
    files.delete(m.file);
    await f.fh?.close();
    return { id: m.id, error: f.error };
  }
  switch (m.op) {
    case 'write':
      f.fh = await f.w.writeUnsynced(m.path);
      return { id: m.id };
    case 'sync': {
      files.delete(m.file);
      const fh = f.fh;
      if (!fh) return { id: m.id, error: 'state file synced before it was written' };
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { id: m.id, written: f.w.result };
    }
    case 'bytes': {
      files.delete(m.file);
      const { bytes, ...written } = f.w.toBytes();
      return { id: m.id, written, bytes };
    }
  }
}

port.on('message', (m: AsyncOperation) => {
  if (m.op === 'drop') {
    const f = files.get(m.file);
    files.delete(m.file);
    void f?.fh?.close().catch(() => {});
    return;
  }
  const f = fileOf(m.file);
  if (!('id' in m)) {
    if (f.error === undefined) {
      try {
        apply(f, m);
      } catch (e) {
        f.error = (e as Error).message;
      }
    }
    return;
  }
  answer(f, m).then(
    (r) => port.postMessage(r, r.bytes ? [r.bytes.buffer as ArrayBuffer] : []),
    (e: Error) => {
      files.delete(m.file);
      void f.fh?.close().catch(() => {});
      port.postMessage({ id: m.id, error: e.message } satisfies AsyncReply);
    },
  );
});
