import { tmpdir } from 'node:os';
import { openStoreBytes, storeKeyGroupChunks } from './EmbeddedStoreFile.js';
import { KeyGroupRange } from './KeyGroupRange.js';
import { normalizeKey, type NormalizedKey } from './KeyGroupRangeAssignment.js';
import { chunkFormatOf, type ChunkFormat, type TaggedFlat } from './StateCodec.js';
import { readKeyGroups, verifyStateFile } from './StateFile.js';
import type { StateFileHandle } from './StateHandles.js';

/**
 * A subtask's keyed entries as a restore would see them, whichever format wrote them: the key-group sections of
 * its state file (canonical, heap), or the embedded backend's native files listed in `keyedStateFiles`, a full
 * file and then deltas applied in order (updated entries, and removals in chunks tagged `deleted`). Visits, per
 * key group of `wanted`, the net entries of each state as chunks (`flat` tagged with its ChunkFormat, as in a
 * file). `bytes` is the subtask's state file (verified); native files are read from `dir` and verified here.
 * This is what `flink state`, `--dump` and `--dry-run` read, so they see what the job would restore.
 */
export function readKeyedState(
  dir: string,
  handle: StateFileHandle,
  bytes: Buffer,
  wanted: KeyGroupRange,
  visit: (stateName: string, keyGroup: number, flat: TaggedFlat) => void,
): void {
  for (const [name, kg, flat] of keyedStateChunks(dir, handle, bytes, wanted)) visit(name, kg, flat);
}

/** The same, key group by key group as the caller pulls them (the files are read and verified once, up front). */
export function* keyedStateChunks(
  dir: string,
  handle: StateFileHandle,
  bytes: Buffer,
  wanted: KeyGroupRange,
): Generator<[stateName: string, keyGroup: number, flat: TaggedFlat]> {
  const chain = handle.keyedStateFiles;
  const range = handle.keyGroupRange ? KeyGroupRange.of(handle.keyGroupRange).intersection(wanted) : wanted;
  if (!chain) {
    for (let kg = range.start; kg <= range.end; kg++) {
      const out: [string, number, TaggedFlat][] = [];
      readKeyGroups(bytes, handle, new KeyGroupRange(kg, kg), (name, g, flat) => out.push([name, g, flat as TaggedFlat]));
      yield* out;
    }
    return;
  }
  const files = chain.map((kf) => ({ handle: kf, bytes: verifyStateFile(dir, kf) }));
  // A store file (the backend's own LMDB store) is opened read-only from a scratch copy.
  const stores = new Map(files.filter((f) => f.handle.store === 'lmdb').map((f) => [f, openStoreBytes(f.bytes, tmpdir())]));
  try {
    for (let kg = range.start; kg <= range.end; kg++) {
      // Per state: normalized key → [key, stored value, format of the chunk it came in].
      const live = new Map<string, Map<NormalizedKey, [unknown, unknown, ChunkFormat]>>();
      const one = new KeyGroupRange(kg, kg);
      for (const f of files) {
        const store = stores.get(f);
        const read = (visit: (name: string, kg: number, flat: unknown[]) => void) => store
          ? storeKeyGroupChunks(store.rows, kg, new Map(Object.entries(f.handle.stateIds ?? {}).map(([n, id]) => [id, n])), (name, flat) => visit(name, kg, flat))
          : readKeyGroups(f.bytes, { ...f.handle, operatorStates: {} }, one, visit);
        read((name, _kg, flat) => {
          const format = chunkFormatOf(flat);
          let m = live.get(name);
          if (!m) live.set(name, (m = new Map()));
          for (let i = 0; i < flat.length; i += 2) {
            if (format.deleted) m.delete(flat[i] as NormalizedKey); // removals carry the normalized key
            else m.set(normalizeKey(flat[i]), [flat[i], flat[i + 1], format]);
          }
        });
      }
      for (const [name, m] of live) {
        // One chunk per run of equal format, as the backend writes them.
        let flat: TaggedFlat = [];
        let fmt: ChunkFormat | undefined;
        const out: TaggedFlat[] = [];
        const emit = () => {
          if (flat.length === 0) return;
          if (fmt && (fmt.ttl || fmt.ser || fmt.keySer)) flat.format = fmt;
          out.push(flat);
          flat = [];
        };
        for (const [k, v, f] of m.values()) {
          if (fmt !== undefined && f !== fmt) emit();
          fmt = f;
          flat.push(k, v);
        }
        emit();
        for (const c of out) yield [name, kg, c];
      }
    }
  } finally {
    for (const s of stores.values()) s.close();
  }
}
