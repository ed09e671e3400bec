import { closeSync, fsyncSync, openSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

/** The size and CRC-32 of an open file, read in 1 MB slices (a state file may be larger than memory should hold). */
export async function sizeAndCrc32(fh: FileHandle): Promise<{ size: number; crc32: number }> {
  const buf = Buffer.allocUnsafe(1 << 20);
  let crc = 0;
  let size = 0;
  for (let n; (n = (await fh.read(buf, 0, buf.length, size)).bytesRead) > 0; size += n) crc = crc32(buf.subarray(0, n), crc);
  return { size, crc32: crc };
}

/** Makes a rename or a new file in `dir` durable (the directory entry itself), where the filesystem allows it. */
export function fsyncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
