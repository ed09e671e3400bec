/**
 * Numbers of the embedded backend for docs/benchmarks.md: with N keys of value state and 1% of the keys
 * changed per checkpoint interval, the bytes and duration of a full and an incremental checkpoint, the
 * restore time of the chain against a raw read of the same bytes, and keyed aggregation (count per key)
 * throughput against the heap backend: a count per key over random keys after the restore, and the suite's
 * keyed running sum of records (2 per key) on fresh backends.
 *
 *   node --import tsx bench/embedded-backend.ts [numKeys ...]     (default 1000000)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValueStateDescriptor } from '../src/api/state.js';
import type { StateFileHandle } from '../src/state/StateHandles.js';
import { EmbeddedKeyedStateBackend } from '../src/state/EmbeddedKeyedStateBackend.js';
import { HeapKeyedStateBackend } from '../src/state/HeapKeyedStateBackend.js';
import type { KeyedStateBackend } from '../src/state/KeyedStateBackend.js';
import { KeyGroupRange } from '../src/state/KeyGroupRange.js';
import { StateFileWriter } from '../src/state/StateFile.js';
import { median } from './lib/median.js';

const MAXP = 128;
const RANGE = new KeyGroupRange(0, MAXP - 1);
const count = new ValueStateDescriptor<number>('count');
const ms = (t0: number) => Math.round(performance.now() - t0);
const round2 = (x: number) => Math.round(x * 100) / 100;
const ROUNDS = 5;
const minMax = (xs: number[]) => [Math.round(Math.min(...xs)), Math.round(Math.max(...xs))];

/** CPU time of this (single-threaded) process in ms: on a shared machine it varies far less than wall time. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Count per key: the keyed aggregation of the scenario (value state read, +1, write), then a flush (the
 * cache's writes belong to the work). Records per second of wall time and of CPU time.
 */
function aggregate(b: KeyedStateBackend, records: number, keys: number, seed: number): { wall: number; cpu: number } {
  const s = b.getState(count);
  let x = seed;
  const t0 = performance.now();
  const c0 = cpuMs();
  for (let i = 0; i < records; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b.setCurrentKey(`key-${x % keys}`);
    s.update((s.value() ?? 0) + 1);
  }
  if (b instanceof EmbeddedKeyedStateBackend) b.flush();
  return { wall: Math.round(records / ((performance.now() - t0) / 1000)), cpu: Math.round(records / ((cpuMs() - c0) / 1000)) };
}

/**
 * The suite's keyed running sum (bench/jobs/KeyedSum.ts) on the backend alone: records `{ key, sum, emitted }`
 * over keys `key-<i mod keys>`, reduced into a value state as StreamGroupedReduce does, on a fresh backend.
 */
function runningSum(b: KeyedStateBackend, records: number, keys: number): { wall: number; cpu: number } {
  type Rec = { key: string; sum: number; emitted: number | undefined };
  const s = b.getState(new ValueStateDescriptor<Rec>('_op_state'));
  const t0 = performance.now();
  const c0 = cpuMs();
  for (let i = 0; i < records; i++) {
    const r: Rec = { key: `key-${i % keys}`, sum: 1, emitted: undefined };
    b.setCurrentKey(r.key);
    const acc = s.value();
    s.update(acc === undefined ? r : { key: acc.key, sum: acc.sum + r.sum, emitted: r.emitted });
  }
  if (b instanceof EmbeddedKeyedStateBackend) b.flush();
  return { wall: Math.round(records / ((performance.now() - t0) / 1000)), cpu: Math.round(records / ((cpuMs() - c0) / 1000)) };
}

function fill(b: KeyedStateBackend, keys: number): void {
  const s = b.getState(count);
  for (let k = 0; k < keys; k++) {
    b.setCurrentKey(`key-${k}`);
    s.update(k);
  }
}

async function checkpoint(b: EmbeddedKeyedStateBackend, id: number, job: string): Promise<{ ms: number; bytes: number; handle: StateFileHandle; dir: string }> {
  const dir = join(job, `chk-${id}`);
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const s = b.snapshotKeyed({ checkpointId: id, location: dir, sharedDir: join(job, 'shared'), format: 'NATIVE', filePrefix: 'op-0' });
  const files = await s.files!();
  const took = ms(t0);
  b.notifyCheckpointComplete(id);
  const newBytes = files.at(-1)!.size; // what this checkpoint wrote; the rest it refers to
  const w = new StateFileWriter();
  w.writeOperatorState({});
  const { size, crc32 } = await w.finish(join(dir, 'state'));
  return {
    ms: took, bytes: newBytes, dir,
    handle: { file: 'state', size, crc32, keyGroupRange: RANGE.toJSON(), operatorStateOffset: 0, keyedStates: { count: 'value' }, operatorStates: {}, keyedEntries: 0, keyedStateFiles: files },
  };
}

async function scenario(keys: number): Promise<Record<string, unknown>> {
  const root = mkdtempSync(join(tmpdir(), 'bench-embedded-'));
  const job = join(root, 'job');
  mkdirSync(join(job, 'shared'), { recursive: true });
  try {
    const b = new EmbeddedKeyedStateBackend(RANGE, MAXP, { localDir: join(root, 'local'), incremental: true });
    let t0 = performance.now();
    fill(b, keys);
    b.flush();
    const fillMs = ms(t0);
    const full = await checkpoint(b, 1, job);
    // 1% of the keys change in the interval.
    const s = b.getState(count);
    for (let k = 0; k < keys; k += 100) {
      b.setCurrentKey(`key-${k}`);
      s.update(-k);
    }
    const incr = await checkpoint(b, 2, job);
    b.dispose();

    // Restore against a raw read of the same files, alternately, ROUNDS times (both are short: medians).
    const files = incr.handle.keyedStateFiles!.map((f) => join(incr.dir, f.file));
    const rawReads: number[] = [];
    const restores: number[] = [];
    const fullRestores: number[] = [];
    let raw = 0;
    let r!: EmbeddedKeyedStateBackend;
    for (let round = 0; round < ROUNDS; round++) {
      t0 = performance.now();
      raw = 0;
      for (const f of files) raw += readFileSync(f).length;
      rawReads.push(performance.now() - t0);
      // The full file alone (the first checkpoint), to tell the store copy from the delta's rows.
      const f = new EmbeddedKeyedStateBackend(RANGE, MAXP, { localDir: join(root, `full-${round}`), incremental: true });
      t0 = performance.now();
      f.restore([{ bytes: readFileSync(join(full.dir, 'state')), handle: full.handle, dir: full.dir } as never]);
      fullRestores.push(performance.now() - t0);
      f.dispose();
      if (round > 0) r.dispose();
      r = new EmbeddedKeyedStateBackend(RANGE, MAXP, { localDir: join(root, `restored-${round}`), incremental: true });
      t0 = performance.now();
      r.restore([{ bytes: readFileSync(join(incr.dir, 'state')), handle: incr.handle, dir: incr.dir } as never]);
      restores.push(performance.now() - t0);
    }
    const rawReadMs = Math.round(median(rawReads));
    const restoreMs = Math.round(median(restores));
    r.setCurrentKey('key-100');
    if (r.getState(count).value() !== -100) throw new Error('restore lost the incremental change');
    const embeddedAgg = aggregate(r, 1_000_000, keys, 7);
    r.dispose();

    let heapAgg: { wall: number; cpu: number } | string = 'skipped (heap too small)';
    let sumEmbedded: { wall: number; cpu: number } | undefined;
    let sumHeap: { wall: number; cpu: number } | undefined;
    if (keys <= 2_000_000) {
      const h = new HeapKeyedStateBackend(RANGE, MAXP);
      fill(h, keys);
      heapAgg = aggregate(h, 1_000_000, keys, 7);
      // The running sum of records, 2 per key, embedded then heap, each on a fresh backend.
      const e = new EmbeddedKeyedStateBackend(RANGE, MAXP, { localDir: join(root, 'sum'), incremental: true });
      sumEmbedded = runningSum(e, 2 * keys, keys);
      e.dispose();
      sumHeap = runningSum(new HeapKeyedStateBackend(RANGE, MAXP), 2 * keys, keys);
    }
    return {
      keys, fillMs, fullCheckpointBytes: full.bytes, fullCheckpointMs: full.ms, incrementalCheckpointBytes: incr.bytes, incrementalCheckpointMs: incr.ms,
      incrementalPercentOfFull: Number(((100 * incr.bytes) / full.bytes).toFixed(2)), chainBytes: raw, rawReadMs, restoreMs,
      rawReadMsMinMax: minMax(rawReads), restoreMsMinMax: minMax(restores), restoreFullFileOnlyMs: Math.round(median(fullRestores)),
      aggregationPerSecEmbedded: embeddedAgg, aggregationPerSecHeap: heapAgg,
      aggregationEmbeddedToHeap: typeof heapAgg === 'string' ? null : { wall: round2(embeddedAgg.wall / heapAgg.wall), cpu: round2(embeddedAgg.cpu / heapAgg.cpu) },
      runningSumPerSecEmbedded: sumEmbedded ?? null, runningSumPerSecHeap: sumHeap ?? null,
      runningSumEmbeddedToHeap: sumEmbedded && sumHeap ? { wall: round2(sumEmbedded.wall / sumHeap.wall), cpu: round2(sumEmbedded.cpu / sumHeap.cpu) } : null,
      restoreToRawRead: round2(median(restores) / median(rawReads)),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const sizes = process.argv.slice(2).map(Number);
for (const keys of sizes.length > 0 ? sizes : [1_000_000]) console.log(JSON.stringify(await scenario(keys)));
