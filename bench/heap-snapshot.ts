/**
 * Issue 13: the heap backend's snapshot, its alternatives side by side in one process, on the code path a
 * task runs (HeapKeyedStateBackend.snapshotKeyed + StateFileWriter), alternating and repeated:
 *   rows        a canonical savepoint: V8's serializer over [key, value, ...] rows (every checkpoint before)
 *   columnar    a checkpoint (NATIVE): uniform chunks as columns (src/state/ColumnarChunk.ts)
 *   clone       what handing the captured rows to a helper worker would cost the task thread:
 *               structuredClone is the serialization postMessage does on the sending side
 * Each figure is the task thread's time for the whole snapshot of `keys` running sums (values as the
 * keyed benchmark holds them, { key, sum, emitted } records, and plain numbers).
 *
 *   npm run bench:heap-snapshot -- [keys=1000000] [repeats=5]
 */
import { uptime, loadavg } from 'node:os';
import { ValueStateDescriptor } from '../src/api/state.js';
import { HeapKeyedStateBackend } from '../src/state/HeapKeyedStateBackend.js';
import { KeyGroupRange } from '../src/state/KeyGroupRange.js';
import { StateFileWriter, type OperatorStateSnapshot } from '../src/state/StateFile.js';

const keys = Number(process.argv[2] ?? 1_000_000);
const repeats = Number(process.argv[3] ?? 5);
const MAX_PARALLELISM = 128;

type Variant = 'rows' | 'columnar' | 'clone';

async function once(backend: HeapKeyedStateBackend, v: Variant): Promise<{ ms: number; bytes: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const t = performance.now();
  if (v === 'clone') {
    // The captured rows of every key group, as the async part would post them to a helper.
    let n = 0;
    const tables = (backend as unknown as { tables: Map<string, { groups: Map<unknown, { k: unknown; v: unknown }>[] }> }).tables;
    for (const t of tables.values()) {
      for (const g of t.groups) {
        const flat: unknown[] = [];
        for (const e of g.values()) flat.push(e.k, e.v);
        n += (structuredClone(flat) as unknown[]).length;
      }
    }
    return { ms: performance.now() - t, bytes: n };
  }
  const w = new StateFileWriter();
  const snap = backend.snapshotKeyed({ checkpointId: 1, location: '', format: v === 'rows' ? 'CANONICAL' : 'NATIVE', filePrefix: '' });
  await snap.write!(w);
  if (w.keyedEntries !== keys) throw new Error(`${v}: wrote ${w.keyedEntries} entries, expected ${keys}`);
  w.writeOperatorState({} as OperatorStateSnapshot);
  const { size } = w.toBytes(); // checksum and one buffer, as JobManager storage does; a file write adds the fsync
  return { ms: performance.now() - t, bytes: size };
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0].toFixed(0)} / median ${s[Math.floor(s.length / 2)].toFixed(0)} / max ${s[s.length - 1].toFixed(0)} ms`;
}

for (const values of ['records', 'numbers'] as const) {
  const backend = new HeapKeyedStateBackend(new KeyGroupRange(0, MAX_PARALLELISM - 1), MAX_PARALLELISM);
  const sums = backend.getState(new ValueStateDescriptor<unknown>('sum'));
  for (let i = 0; i < keys; i++) {
    const key = `key-${i}`;
    backend.setCurrentKey(key);
    sums.update(values === 'records' ? { key, sum: i % 1000, emitted: undefined } : i);
  }
  const times: Record<Variant, number[]> = { rows: [], columnar: [], clone: [] };
  const bytes: Partial<Record<Variant, number>> = {};
  for (let r = 0; r < repeats; r++) {
    for (const v of ['rows', 'columnar', 'clone'] as Variant[]) {
      const { ms, bytes: b } = await once(backend, v);
      times[v].push(ms);
      bytes[v] = b;
    }
  }
  console.log(`${keys} keys, values: ${values}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (up ${Math.round(uptime())} s)`);
  for (const v of ['rows', 'columnar', 'clone'] as Variant[]) {
    console.log(`  ${v.padEnd(9)} ${stats(times[v])}${v === 'clone' ? '' : `, ${bytes[v]} B`}`);
  }
}
