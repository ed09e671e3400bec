import { describeError } from '../core/FlinkError.js';
import { loadSnapshot, verifySnapshotFiles, type LoadedSnapshot } from './Metadata.js';

/**
 * Picks what to recover from: the newest snapshot whose `_metadata` and every state file it lists are intact
 * (present, right size, right CRC32). A damaged one is reported through `onDamaged` and skipped, so recovery
 * falls back to an older retained checkpoint instead of failing on, or worse restoring, a broken one.
 */
export function newestIntact<T>(
  candidatesNewestFirst: readonly T[],
  dirOf: (c: T) => string,
  onDamaged: (c: T, why: string) => void,
): { candidate: T; snapshot: LoadedSnapshot } | undefined {
  for (const c of candidatesNewestFirst) {
    try {
      const snapshot = loadSnapshot(dirOf(c));
      verifySnapshotFiles(snapshot);
      return { candidate: c, snapshot };
    } catch (e) {
      onDamaged(c, describeError(e));
    }
  }
  return undefined;
}
