import { closeSync, fsyncSync, openSync } from 'node:fs';

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
