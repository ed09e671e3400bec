import { closeSync, copyFileSync, fsyncSync, openSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { StateFileHandle } from '../state/StateHandles.js';
import { isJobManagerLocation } from './CheckpointStorage.js';

/**
 * The state of a finished subtask, carried from the checkpoint that holds it (`fromDir`) into a later one
 * (`toDir`), as Flink keeps a finished task's state in the checkpoints after it (FLIP-147). A snapshot's
 * folder must be complete by itself (a subsumed checkpoint's folder is deleted), so its own files are copied;
 * shared incremental files stay shared between checkpoints of the same job and are copied into a savepoint.
 * In-memory (JobManager) state travels inside the handle.
 */
export function carryStateHandle(fromDir: string, toDir: string, h: StateFileHandle): StateFileHandle {
  if (h.inline || isJobManagerLocation(toDir) || resolve(fromDir) === resolve(toDir)) return h;
  copyDurably(join(fromDir, h.file), join(toDir, h.file));
  if (!h.keyedStateFiles) return h;
  const own = resolve(fromDir) + sep;
  const sameJob = resolve(dirname(fromDir)) === resolve(dirname(toDir));
  return {
    ...h,
    keyedStateFiles: h.keyedStateFiles.map((f) => {
      const abs = resolve(fromDir, f.file);
      if (abs.startsWith(own)) {
        copyDurably(abs, join(toDir, f.file));
        return f;
      }
      if (sameJob) return f; // ../shared/… resolves the same from the new checkpoint's folder
      copyDurably(abs, join(toDir, basename(abs)));
      return { ...f, file: basename(abs) };
    }),
  };
}

function copyDurably(from: string, to: string): void {
  copyFileSync(from, to);
  const fd = openSync(to, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
