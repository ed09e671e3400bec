import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Database, RootDatabase } from 'lmdb';
import { FlinkError } from '../core/FlinkError.js';
import { faultPoint } from '../core/FaultInjection.js';
import { sizeAndCrc32 } from '../core/files.js';
import { randomHex } from '../core/ids.js';
import { decodeKey, decodeRow } from './EmbeddedRows.js';
import { KeyGroupRange } from './KeyGroupRange.js';
import { formatOfBits, type TaggedFlat } from './StateCodec.js';
import { verifyStateFile } from './StateFile.js';
import type { FileRef } from './StateHandles.js';

/**
 * The embedded backend's own store as a snapshot file (Flink's RocksDB native savepoint / incremental
 * checkpoint ships SST files; ours is LMDB's data file): a copy of the environment, written by
 * LMDB itself, verified by size and CRC-32 from `_metadata` like every state file before anything opens it.
 */

/**
 * Not compacted: writing into an installed compacted copy (lmdb 3.5.6) aborts the process in
 * mdb_page_alloc ("Assertion 'key.mv_size > 0' failed", its free-list walk), found by bench/embedded-backend.ts.
 * A plain copy also holds the free pages, and is the faster one to write.
 */
const COMPACT = false;

/**
 * Writes a copy of `root`'s environment to the file `path`, fsynced, and returns its size and checksum.
 * LMDB's copy reads in a transaction of its own that starts on a thread-pool thread: the caller must commit
 * nothing until this settles, so that the copy is exactly the state at the barrier.
 */
export async function copyStore(root: RootDatabase<Buffer, Buffer>, path: string): Promise<{ size: number; crc32: number }> {
  faultPoint('state-file.write', path);
  const tmp = `${path}.copying`;
  mkdirSync(tmp, { recursive: true });
  try {
    await root.backup(tmp, COMPACT);
    renameSync(join(tmp, 'data.mdb'), path);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const fh = await openFile(path, 'r+');
  try {
    const written = await sizeAndCrc32(fh);
    faultPoint('state-file.fsync', path);
    await fh.sync();
    return written;
  } finally {
    await fh.close();
  }
}

/**
 * Copies the snapshot file `h` (relative to `dir`) to `dest`, checking its size before and its checksum
 * while copying (one pass, no buffer of the whole file); a file that fails is removed from `dest` and
 * refused with the same errors as verifyStateFile.
 */
export function copyVerified(dir: string, h: FileRef, dest: string): void {
  if (h.inline) {
    writeFileSync(dest, verifyStateFile(dir, h)); // JobManager storage: the bytes are in memory already
    return;
  }
  const file = join(dir, h.file);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new FlinkError('restore', `State file ${file} referenced by the snapshot's _metadata is missing`);
  }
  let out: number | undefined;
  try {
    const found = fstatSync(fd).size;
    if (found !== h.size) throw new FlinkError('restore', `State file ${file} is corrupted: expected ${h.size} bytes, found ${found}`);
    out = openSync(dest, 'w');
    const buf = Buffer.allocUnsafe(4 << 20);
    let crc = 0;
    for (let at = 0; at < h.size;) {
      const n = readSync(fd, buf, 0, buf.length, at);
      if (n === 0) break;
      crc = crc32(buf.subarray(0, n), crc);
      writeSync(out, buf, 0, n);
      at += n;
    }
    if (crc !== h.crc32) throw new FlinkError('restore', `State file ${file} is corrupted: checksum mismatch`);
  } catch (e) {
    if (out !== undefined) closeSync(out);
    out = undefined;
    rmSync(dest, { force: true });
    throw e;
  } finally {
    closeSync(fd);
    if (out !== undefined) closeSync(out);
  }
}

/** LMDB's module, loaded only when a store file is read (the CLI reads them too, and needs it for nothing else). */
let lmdb: typeof import('lmdb') | undefined;

/** A store file's (verified) bytes opened read-only from a scratch folder under `scratch`; `close()` removes it. */
export function openStoreBytes(bytes: Buffer, scratch: string): { rows: Database<Buffer, Buffer>; close(): void } {
  return openStoreCopy(scratch, (data) => writeFileSync(data, bytes));
}

/** The same for the store file `h` of the snapshot in `dir`, verified while it is copied. */
export function openStoreFile(dir: string, h: FileRef, scratch: string): { rows: Database<Buffer, Buffer>; close(): void } {
  return openStoreCopy(scratch, (data) => copyVerified(dir, h, data));
}

function openStoreCopy(scratch: string, put: (dataFile: string) => void): { rows: Database<Buffer, Buffer>; close(): void } {
  lmdb ??= createRequire(import.meta.url)('lmdb') as typeof import('lmdb');
  const dir = join(scratch, `store-${randomHex(8)}`);
  mkdirSync(dir, { recursive: true });
  try {
    put(join(dir, 'data.mdb'));
    const env = lmdb.open<Buffer, Buffer>({ path: dir, readOnly: true, maxDbs: 4, encoding: 'binary', keyEncoding: 'binary', compression: false });
    const rows = env.openDB<Buffer, Buffer>('rows', { encoding: 'binary', keyEncoding: 'binary' });
    return {
      rows,
      close: () => {
        void env.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The rows of the key groups of `range`, in key order (copies: they outlive the cursor). */
export function* storeRows(rows: Database<Buffer, Buffer>, range: KeyGroupRange): Generator<[key: Buffer, value: Buffer]> {
  if (range.size === 0) return;
  const start = Buffer.alloc(2);
  start.writeUInt16BE(range.start);
  const end = Buffer.alloc(2);
  end.writeUInt16BE(range.end + 1);
  for (const { key, value } of rows.getRange({ start, end: range.end + 1 > 0xffff ? undefined : end } as never) as Iterable<{ key: Buffer; value: Buffer }>) {
    if (key.readUInt16BE(0) > range.end) break;
    yield [Buffer.from(key), Buffer.from(value)];
  }
}

/** A key group's rows as snapshot chunks (per state, one chunk per run of equal format): what `flink state` reads. */
export function storeKeyGroupChunks(rows: Database<Buffer, Buffer>, kg: number, names: Map<number, string>, visit: (name: string, flat: TaggedFlat) => void): void {
  let sid = -1;
  let fmt = -1;
  let flat: TaggedFlat = [];
  const emit = () => {
    const name = names.get(sid);
    const f = formatOfBits(fmt);
    if (f) flat.format = f;
    if (flat.length > 0 && name !== undefined) visit(name, flat);
    flat = [];
  };
  for (const [key, value] of storeRows(rows, new KeyGroupRange(kg, kg))) {
    const s = key.readUInt16BE(2);
    if (s !== sid || value[0] !== fmt) {
      emit();
      sid = s;
      fmt = value[0];
    }
    const [, k, stored] = decodeRow(value, decodeKey(key.subarray(4)));
    flat.push(k, stored);
  }
  emit();
}
