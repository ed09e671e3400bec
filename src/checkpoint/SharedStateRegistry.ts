import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { StateFileHandle } from '../state/StateHandles.js';
import { decodeMetadata, METADATA_FILE, type CheckpointMetadata } from './Metadata.js';

/** Absolute paths of the files a snapshot refers to outside its own folder (the checkpoints' shared/ files). */
export function sharedFilesOf(dir: string, md: CheckpointMetadata): string[] {
  return sharedFilesOfHandles(dir, md.operators.flatMap((op) => op.subtasks.map((st) => st.state)));
}

/** The same for the state handles of some subtasks (an aborted checkpoint has no `_metadata`). */
export function sharedFilesOfHandles(dir: string, handles: StateFileHandle[]): string[] {
  const out = new Set<string>();
  const own = resolve(dir) + sep;
  for (const h of handles) {
    for (const f of h.keyedStateFiles ?? []) {
      const abs = resolve(dir, f.file);
      if (!abs.startsWith(own)) out.add(abs);
    }
  }
  return [...out];
}

/**
 * Flink's SharedStateRegistry: which retained checkpoints refer to which shared files, so that a shared
 * file is deleted only when no retained checkpoint needs it any more. Savepoints never refer to shared
 * files (they are self-contained), so they never hold one.
 *
 * Deleting is crash-safe by order: the subsumed checkpoint's folder (its `_metadata` first) goes before
 * the shared files it alone used, so a crash in between leaks files and never leaves a checkpoint
 * pointing at deleted ones. And before a shared file is deleted, the `_metadata` files of every
 * checkpoint still on disk in that job folder are read again (the folders are the truth): a checkpoint
 * retained from an earlier run, or one this registry never saw, keeps its files.
 */
export class SharedStateRegistry {
  private readonly refs = new Map<string, Set<number>>();
  /** Files no registered checkpoint refers to any more, deleted when no checkpoint is in flight. */
  private readonly unreferenced = new Set<string>();

  register(checkpointId: number, files: string[]): void {
    for (const f of files) {
      let s = this.refs.get(f);
      if (!s) this.refs.set(f, (s = new Set()));
      s.add(checkpointId);
      this.unreferenced.delete(f);
    }
  }

  /** The checkpoint is gone (its folder already deleted): its files become candidates for deletion. */
  unregister(checkpointId: number, files: string[]): void {
    for (const f of files) {
      const s = this.refs.get(f);
      s?.delete(checkpointId);
      if (!s || s.size === 0) {
        this.refs.delete(f);
        this.unreferenced.add(f);
      }
    }
  }

  /**
   * Deletes the candidates that no `_metadata` on disk refers to. Call only while no checkpoint is in
   * flight: a pending one may build on files of the last completed one before its own `_metadata` exists.
   * Returns the deleted files.
   */
  deleteUnreferenced(): string[] {
    if (this.unreferenced.size === 0) return [];
    const stillUsed = new Set<string>();
    for (const jobDir of new Set([...this.unreferenced].map((f) => dirname(dirname(f))))) {
      for (const f of referencedOnDisk(jobDir)) stillUsed.add(f);
    }
    const deleted: string[] = [];
    for (const f of this.unreferenced) {
      if (stillUsed.has(f) || this.refs.has(f)) continue;
      rmSync(f, { force: true });
      deleted.push(f);
    }
    this.unreferenced.clear();
    return deleted;
  }
}

/** Shared files that the complete checkpoints (`chk-*` with `_metadata`) of a job folder refer to. */
export function referencedOnDisk(jobDir: string): Set<string> {
  const out = new Set<string>();
  let entries: string[];
  try {
    entries = readdirSync(jobDir);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.startsWith('chk-')) continue;
    const dir = join(jobDir, e);
    try {
      const md = decodeMetadata(readFileSync(join(dir, METADATA_FILE)), dir);
      for (const f of sharedFilesOf(dir, md)) out.add(f);
    } catch {
      /* incomplete or unreadable: refers to nothing we may keep for it */
    }
  }
  return out;
}

/** Files in a job's shared/ folder that no complete checkpoint refers to (leftovers of aborted ones). */
export function orphanedSharedFiles(jobDir: string): string[] {
  const used = referencedOnDisk(jobDir);
  try {
    return readdirSync(join(jobDir, 'shared')).map((f) => join(jobDir, 'shared', f)).filter((f) => !used.has(f));
  } catch {
    return [];
  }
}
