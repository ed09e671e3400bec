import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValueStateDescriptor } from '../../src/api/state.js';
import type { StateFileHandle } from '../../src/state/StateHandles.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { StateFileWriter, verifyStateFile } from '../../src/state/StateFile.js';
import { median } from './median.js';

export interface CheckpointCost {
  keys: number;
  syncMs: number;
  asyncMs: number;
  bytes: number;
  /** Until the restored state is usable: read, checksum, index the key groups (decoding is lazy). */
  restoreMs: number;
  /** Decoding every key group afterwards, which a job pays as it first touches each group. */
  decodeAllMs: number;
  rawReadMs: number;
  heapBytesPerKey: number;
  serializedBytesPerKey: number;
  /** The same state as a canonical savepoint (row form, no fsync): its asynchronous part and size. */
  savepointAsyncMs: number;
  savepointBytes: number;
}

const MAX_PARALLELISM = 128;
const RESTORE_ROUNDS = 7;

/**
 * Scenario 3, measured on the code path a task runs: a heap keyed backend with `keys` running sums,
 * checkpointed (synchronous copy-on-write capture, then the asynchronous write of the state file in the
 * heap's native, columnar form), snapshotted again as a canonical savepoint (rows), and
 * restored (read, checksum, load), next to a plain read of the same file.
 */
export async function checkpointCost(keys: number): Promise<CheckpointCost> {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ts-bench-'));
  try {
    const desc = new ValueStateDescriptor<number>('sum');
    const range = new KeyGroupRange(0, MAX_PARALLELISM - 1);
    const heap0 = settledHeap();
    const backend = new HeapKeyedStateBackend(range, MAX_PARALLELISM);
    const sums = backend.getState(desc);
    for (let i = 0; i < keys; i++) {
      backend.setCurrentKey(`key-${i}`);
      sums.update(i);
    }
    const heapBytes = settledHeap() - heap0;

    let t = performance.now();
    const write = backend.snapshotKeyed({ checkpointId: 1, location: dir, format: 'NATIVE', filePrefix: 'bench' }).write!;
    const syncMs = performance.now() - t;
    t = performance.now();
    const w = new StateFileWriter();
    await write(w);
    const operatorStateOffset = w.size;
    w.writeOperatorState({});
    const file = 'state';
    const { size, crc32 } = await w.finish(join(dir, file));
    const asyncMs = performance.now() - t;
    const handle: StateFileHandle = {
      file, size, crc32, keyGroupRange: [range.start, range.end], keyGroupOffsets: w.keyGroupOffsets, operatorStateOffset,
      keyedStates: backend.stateKinds, operatorStates: {}, keyedEntries: w.keyedEntries,
    };

    // Both are a few milliseconds: alternated RESTORE_ROUNDS times, medians (one timing each moved the ratio by 0.5).
    const rawReads: number[] = [];
    const restores: number[] = [];
    let restored!: HeapKeyedStateBackend;
    let again!: ReturnType<HeapKeyedStateBackend['getState']>;
    for (let round = 0; round < RESTORE_ROUNDS; round++) {
      t = performance.now();
      readFileSync(join(dir, file));
      rawReads.push(performance.now() - t);
      t = performance.now();
      restored = new HeapKeyedStateBackend(range, MAX_PARALLELISM);
      restored.restore([{ bytes: verifyStateFile(dir, handle), handle }]);
      again = restored.getState(desc);
      restores.push(performance.now() - t);
    }
    const rawReadMs = median(rawReads);
    const restoreMs = median(restores);
    t = performance.now();
    restored.numEntries(); // decodes every key group
    const decodeAllMs = performance.now() - t;
    restored.setCurrentKey(`key-${keys - 1}`);
    if (again.value() !== keys - 1) throw new Error('restore check failed: the restored state differs');

    // Last, so that its garbage does not land in the restore's figures.
    t = performance.now();
    const sp = new StateFileWriter();
    await backend.snapshot()(sp);
    const savepointAsyncMs = performance.now() - t;

    return { keys, syncMs, asyncMs, bytes: size, restoreMs, decodeAllMs, rawReadMs, heapBytesPerKey: heapBytes / keys, serializedBytesPerKey: size / keys, savepointAsyncMs, savepointBytes: sp.size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** JS heap plus ArrayBuffer memory (where binary key groups keep their rows), after forced GCs. */
function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
