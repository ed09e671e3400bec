/**
 * The embedded backend's snapshots: asynchronous and exact at the barrier, incremental chains in shared/
 * (after failed checkpoints too), forced full ones, native savepoints that copy instead of refer,
 * restore at the same and another parallelism, canonical files across backends, and the shared-file
 * registry's deletion rules.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from '../../src/api/state.js';
import { StateTtlConfig } from '../../src/api/StateTtlConfig.js';
import { writeMetadataAtomically, type CheckpointMetadata } from '../../src/checkpoint/Metadata.js';
import type { KeyedStateFileHandle, StateFileHandle } from '../../src/state/StateHandles.js';
import { SharedStateRegistry, sharedFilesOf } from '../../src/checkpoint/SharedStateRegistry.js';
import { EmbeddedKeyedStateBackend } from '../../src/state/EmbeddedKeyedStateBackend.js';
import { HeapKeyedStateBackend } from '../../src/state/HeapKeyedStateBackend.js';
import type { KeyedStateBackend } from '../../src/state/KeyedStateBackend.js';
import { KeyGroupRange } from '../../src/state/KeyGroupRange.js';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex } from '../../src/state/KeyGroupRangeAssignment.js';
import { StateFileWriter } from '../../src/state/StateFile.js';

const tmp = mkdtempSync(join(tmpdir(), 'flink-ts-incremental-'));
const backends: EmbeddedKeyedStateBackend[] = [];
after(() => {
  for (const b of backends) b.dispose();
  rmSync(tmp, { recursive: true, force: true });
});
const MAXP = 128;
const FULL = new KeyGroupRange(0, MAXP - 1);
let n = 0;

function embedded(range = FULL, incremental = true, maxDeltaChain?: number): EmbeddedKeyedStateBackend {
  const b = new EmbeddedKeyedStateBackend(range, MAXP, { localDir: join(tmp, `local-${++n}`), incremental, writeCacheEntries: 100, maxDeltaChain });
  backends.push(b);
  return b;
}

const count = new ValueStateDescriptor<number>('count');
const seen = new ListStateDescriptor<string>('seen');
const tags = new MapStateDescriptor<string, number>('tags');

/** A job folder as CheckpointStorage lays it out. */
function jobDir(): { dir: string; shared: string; chk: (id: number) => string } {
  const dir = join(tmp, `job-${++n}`);
  const shared = join(dir, 'shared');
  mkdirSync(shared, { recursive: true });
  return { dir, shared, chk: (id) => { const d = join(dir, `chk-${id}`); mkdirSync(d, { recursive: true }); return d; } };
}

interface Taken { dir: string; handle: StateFileHandle }

/** Sync part now; returns the async part, which writes the subtask's state file as StreamTask does. */
function start(b: KeyedStateBackend, o: { id: number; location: string; sharedDir?: string; format?: 'CANONICAL' | 'NATIVE'; full?: boolean }): () => Promise<Taken> {
  const s = b instanceof EmbeddedKeyedStateBackend
    ? b.snapshotKeyed({ checkpointId: o.id, location: o.location, sharedDir: o.sharedDir, format: o.format ?? 'NATIVE', full: o.full, filePrefix: `op-0` })
    : { write: b.snapshot() };
  const kinds = b.stateKinds;
  return async () => {
    const w = new StateFileWriter();
    if (s.write) await s.write(w);
    const files = s.files ? await s.files() : undefined;
    const operatorStateOffset = w.size;
    w.writeOperatorState({});
    const file = `state-${++n}`;
    const { size, crc32 } = await w.finish(join(o.location, file));
    return {
      dir: o.location,
      handle: {
        file, size, crc32, keyGroupRange: b.keyGroupRange.toJSON(), keyGroupOffsets: files ? undefined : w.keyGroupOffsets, operatorStateOffset,
        keyedStates: kinds, operatorStates: {}, keyedEntries: w.keyedEntries, ...(files ? { keyedStateFiles: files } : {}),
      },
    };
  };
}

function restoreInto(b: KeyedStateBackend, taken: Taken[]): void {
  b.restore(taken.map((t) => ({ bytes: readFileSync(join(t.dir, t.handle.file)), handle: t.handle, dir: t.dir })) as never);
}

/** Everything the three states hold for keys 0..keys-1. */
function contents(b: KeyedStateBackend, keys: number): unknown[] {
  const c = b.getState(count);
  const l = b.getListState(seen);
  const m = b.getMapState(tags);
  const out: unknown[] = [];
  for (let k = 0; k < keys; k++) {
    b.setCurrentKey(`key-${k}`);
    // A copy: a list the backend hands out may be the live one, which later adds change (as on the heap).
    out.push(structuredClone([c.value() ?? null, l.get(), m.entries()]));
  }
  return out;
}

function fill(b: KeyedStateBackend, keys: number, round: number, every = 1): void {
  const c = b.getState(count);
  const l = b.getListState(seen);
  const m = b.getMapState(tags);
  for (let k = 0; k < keys; k += every) {
    b.setCurrentKey(`key-${k}`);
    c.update((c.value() ?? 0) + round);
    l.add(`r${round}`);
    m.put(`t${round % 3}`, round);
  }
}

const keyedFiles = (t: Taken): KeyedStateFileHandle[] => t.handle.keyedStateFiles ?? [];

describe('embedded backend snapshots', () => {
  test('the asynchronous part writes exactly the state at the barrier while processing changes it', async () => {
    for (const format of ['CANONICAL', 'NATIVE'] as const) {
      const b = embedded();
      fill(b, 500, 1);
      const atBarrier = contents(b, 500);
      const loc = jobDir();
      const finish = start(b, { id: 1, location: loc.chk(1), sharedDir: loc.shared, format });
      fill(b, 500, 2); // after the synchronous part
      b.setCurrentKey('key-3');
      b.getState(count).clear();
      b.setCurrentKey('new-key');
      b.getState(count).update(7);
      b.flush();
      const taken = await finish();
      const r = embedded();
      restoreInto(r, [taken]);
      assert.deepEqual(contents(r, 500), atBarrier, format);
      r.setCurrentKey('new-key');
      assert.equal(r.getState(count).value(), undefined);
    }
  });

  test('a delta is the state at its barrier while later changes are flushed and a later checkpoint completes before it is written', async () => {
    const KEYS = 500;
    const b = embedded();
    const job = jobDir();
    fill(b, KEYS, 1);
    await start(b, { id: 1, location: job.chk(1), sharedDir: job.shared })();
    b.notifyCheckpointComplete(1);
    fill(b, KEYS, 2, 10);
    b.setCurrentKey('key-3');
    b.getState(count).clear();
    const atBarrier = contents(b, KEYS);
    const finish2 = start(b, { id: 2, location: job.chk(2), sharedDir: job.shared }); // its write comes last
    // After the barrier: the same keys again, a key removed, a new one, flushed; then checkpoint 3 completes,
    // which makes the change records up to its barrier (checkpoint 2's among them) due for removal.
    fill(b, KEYS, 3, 10);
    b.setCurrentKey('key-10');
    b.getState(count).clear();
    b.setCurrentKey('new-key');
    b.getState(count).update(9);
    b.flush();
    await start(b, { id: 3, location: job.chk(3), sharedDir: job.shared })();
    b.notifyCheckpointComplete(3);
    fill(b, KEYS, 4, 10);
    b.flush();
    const c2 = await finish2();
    assert.equal(keyedFiles(c2)[1]?.delta, true, 'checkpoint 2 is a delta');
    const r = embedded();
    restoreInto(r, [c2]);
    assert.deepEqual(contents(r, KEYS), atBarrier);
    r.setCurrentKey('new-key');
    assert.equal(r.getState(count).value(), undefined);
  });

  test('incremental: a full file, then deltas in shared/ that refer back; after a failed checkpoint the next delta carries its changes', async () => {
    const KEYS = 2000;
    const b = embedded();
    const job = jobDir();
    fill(b, KEYS, 1);
    const c1 = await start(b, { id: 1, location: job.chk(1), sharedDir: job.shared })();
    b.notifyCheckpointComplete(1);
    assert.equal(keyedFiles(c1).length, 1);
    assert.match(keyedFiles(c1)[0].file, /^\.\.\/shared\/op-0-full-/);

    fill(b, KEYS, 2, 100); // 1% of the keys
    b.setCurrentKey('key-1');
    b.getState(count).clear();
    b.getListState(seen).clear();
    b.getMapState(tags).clear();
    const c2 = await start(b, { id: 2, location: job.chk(2), sharedDir: job.shared })();
    assert.deepEqual(keyedFiles(c2).map((f) => f.file).slice(0, 1), keyedFiles(c1).map((f) => f.file), 'refers to the full file of checkpoint 1');
    const delta2 = keyedFiles(c2)[1];
    assert.equal(delta2.delta, true);
    assert.ok(delta2.size * 20 < keyedFiles(c1)[0].size, `delta ${delta2.size} bytes vs full ${keyedFiles(c1)[0].size}`);
    b.notifyCheckpointAborted(2); // checkpoint 2 failed

    fill(b, KEYS, 3, 50);
    const c3 = await start(b, { id: 3, location: job.chk(3), sharedDir: job.shared })();
    assert.equal(keyedFiles(c3).length, 2, 'based on checkpoint 1, the last completed one');
    assert.equal(keyedFiles(c3)[0].file, keyedFiles(c1)[0].file);
    b.notifyCheckpointComplete(3);
    const expected3 = contents(b, KEYS);

    fill(b, KEYS, 4, 100);
    const c4 = await start(b, { id: 4, location: job.chk(4), sharedDir: job.shared })();
    assert.deepEqual(keyedFiles(c4).slice(0, 2).map((f) => f.file), keyedFiles(c3).map((f) => f.file));
    const expected4 = contents(b, KEYS);

    const r3 = embedded();
    restoreInto(r3, [c3]);
    assert.deepEqual(contents(r3, KEYS), expected3, 'checkpoint 3 has the changes of failed checkpoint 2');
    const r4 = embedded();
    restoreInto(r4, [c4]);
    assert.deepEqual(contents(r4, KEYS), expected4);
    // Rescaled: each half reads only its key groups from every file of the chain.
    const halves = [0, 1].map((i) => embedded(computeKeyGroupRangeForOperatorIndex(MAXP, 2, i)));
    for (const h of halves) restoreInto(h, [c4]);
    const merged = expected4.map((_, k) => {
      const h = halves.find((x) => x.keyGroupRange.contains(assignKg(`key-${k}`)))!;
      return contents1(h, k);
    });
    assert.deepEqual(merged, expected4);
    // A restored backend has no completed checkpoint of its own: its first checkpoint is a full one.
    const job2 = jobDir();
    const first = await start(r4, { id: 5, location: job2.chk(5), sharedDir: job2.shared })();
    assert.deepEqual(keyedFiles(first).map((f) => f.delta ?? false), [false]);
    assert.ok(keyedFiles(first)[0].file.startsWith('../shared/'));
    // What operators read back to rebuild derived structures (timer heaps) comes from the store.
    const stored = new Map<unknown, unknown>();
    r4.forEachStoredEntry('count', (k, v) => stored.set(k, v));
    assert.equal(stored.size, KEYS - 1, 'key-1 was cleared');
    assert.equal(stored.get('key-200'), (expected4[200] as unknown[])[0]);
    // Files in shared/ are immutable and uniquely named: one full, three deltas.
    assert.equal(readdirSync(job.shared).length, 4);
  });

  test('full: true writes a full file even with a base; the chain is materialized after maxDeltaChain deltas', async () => {
    const b = embedded(FULL, true, 2);
    const job = jobDir();
    fill(b, 300, 1);
    let id = 0;
    const take = async (full = false) => {
      const t = await start(b, { id: ++id, location: job.chk(id), sharedDir: job.shared, full })();
      b.notifyCheckpointComplete(id);
      return keyedFiles(t).map((f) => (f.delta ? 'delta' : 'full'));
    };
    assert.deepEqual(await take(), ['full']);
    fill(b, 300, 2, 30);
    assert.deepEqual(await take(), ['full', 'delta']);
    fill(b, 300, 3, 30);
    assert.deepEqual(await take(true), ['full'], 'forced full (flink checkpoint --full)');
    fill(b, 300, 4, 30);
    assert.deepEqual(await take(), ['full', 'delta']);
    fill(b, 300, 5, 30);
    assert.deepEqual(await take(), ['full', 'delta', 'delta']);
    fill(b, 300, 6, 30);
    assert.deepEqual(await take(), ['full'], 'materialized after 2 deltas');
  });

  test('a native savepoint copies the chain into its own folder: nothing refers to shared/', async () => {
    const b = embedded();
    const job = jobDir();
    fill(b, 400, 1);
    await start(b, { id: 1, location: job.chk(1), sharedDir: job.shared })();
    b.notifyCheckpointComplete(1);
    fill(b, 400, 2, 10);
    const spDir = join(tmp, `savepoint-${++n}`);
    mkdirSync(spDir);
    const sp = await start(b, { id: 2, location: spDir, format: 'NATIVE' })();
    const expected = contents(b, 400);
    assert.deepEqual(keyedFiles(sp).map((f) => f.delta ?? false), [false, true]);
    for (const f of keyedFiles(sp)) assert.ok(!f.file.includes('/'), `${f.file} is inside the savepoint folder`);
    b.notifyCheckpointComplete(2); // a savepoint never becomes the base of the next checkpoint
    rmSync(job.dir, { recursive: true, force: true }); // the job's checkpoints are gone
    const r = embedded();
    restoreInto(r, [sp]);
    assert.deepEqual(contents(r, 400), expected);
  });

  test('TTL across an incremental chain, in a native savepoint and in a canonical one on the heap backend: expired stays expired, live entries keep their write time', async () => {
    const clock = { t: 1_000_000, currentTimestamp(): number { return this.t; } };
    const t0 = clock.t;
    const mk = () => {
      const b = new EmbeddedKeyedStateBackend(FULL, MAXP, { localDir: join(tmp, `local-${++n}`), incremental: true, writeCacheEntries: 7, ttlTimeProvider: clock });
      backends.push(b);
      return b;
    };
    const ttl = <D extends ValueStateDescriptor<number> | ListStateDescriptor<number> | MapStateDescriptor<string, number>>(d: D): D => {
      d.enableTimeToLive(StateTtlConfig.newBuilder(100).build()); // OnCreateAndWrite: reads do not renew
      return d;
    };
    const states = (b: KeyedStateBackend) => ({
      v: b.getState(ttl(new ValueStateDescriptor<number>('v'))),
      l: b.getListState(ttl(new ListStateDescriptor<number>('l'))),
      m: b.getMapState(ttl(new MapStateDescriptor<string, number>('m'))),
    });
    const b = mk();
    const s = states(b);
    const job = jobDir();
    for (let k = 0; k < 10; k++) {
      b.setCurrentKey(k);
      s.v.update(k);
      s.l.add(k);
      s.m.put('early', k);
    }
    const c1 = await start(b, { id: 1, location: job.chk(1), sharedDir: job.shared })();
    b.notifyCheckpointComplete(1);
    clock.t = t0 + 60;
    for (let k = 5; k < 15; k++) {
      b.setCurrentKey(k);
      s.v.update(100 + k);
      s.l.add(100 + k);
      s.m.put('late', k);
    }
    const c2 = await start(b, { id: 2, location: job.chk(2), sharedDir: job.shared })();
    assert.deepEqual(keyedFiles(c2).map((f) => f.delta ?? false), [false, true], 'a delta on top of checkpoint 1');
    void c1;
    const spDir = join(tmp, `savepoint-${++n}`);
    mkdirSync(spDir);
    const native = await start(b, { id: 3, location: spDir, format: 'NATIVE' })();
    const canonicalDir = join(tmp, `savepoint-${++n}`);
    mkdirSync(canonicalDir);
    const canonical = await start(b, { id: 4, location: canonicalDir, format: 'CANONICAL' })();

    const view = (r: KeyedStateBackend) => {
      const x = states(r);
      return Array.from({ length: 15 }, (_, k) => {
        r.setCurrentKey(k);
        return [k, x.v.value() ?? null, x.l.get(), x.m.entries()];
      });
    };
    const restored: [string, KeyedStateBackend][] = [];
    for (const [what, taken] of [['incremental chain', c2], ['native savepoint', native]] as const) {
      const r = mk();
      restoreInto(r, [taken]);
      restored.push([what, r]);
    }
    const heap = new HeapKeyedStateBackend(FULL, MAXP, { ttlTimeProvider: clock });
    restoreInto(heap, [canonical]);
    restored.push(['canonical savepoint on the heap backend', heap]);
    clock.t = t0 + 120; // the writes at t0 have expired, those at t0 + 60 live until t0 + 160
    for (const [what, r] of restored) {
      assert.deepEqual(view(r), Array.from({ length: 15 }, (_, k) => k < 5
        ? [k, null, [], []]
        : [k, 100 + k, [100 + k], [['late', k]]]), `${what}, at t0 + 120`);
    }
    clock.t = t0 + 170; // write times came through the snapshots: nothing was renewed by the restore
    for (const [what, r] of restored) {
      assert.deepEqual(view(r), Array.from({ length: 15 }, (_, k) => [k, null, [], []]), `${what}, at t0 + 170`);
    }
  });

  test('canonical snapshots restore across backends in both directions; native ones are refused by the heap backend', async () => {
    const heap = new HeapKeyedStateBackend(FULL, MAXP);
    fill(heap, 300, 1);
    fill(heap, 300, 2, 3);
    const expected = contents(heap, 300);
    const d1 = jobDir().chk(1);
    const fromHeap = await start(heap, { id: 1, location: d1 })();
    const e = embedded();
    restoreInto(e, [fromHeap]);
    assert.deepEqual(contents(e, 300), expected, 'heap → embedded');
    const d2 = jobDir().chk(1);
    const fromEmbedded = await start(e, { id: 1, location: d2, format: 'CANONICAL' })();
    assert.equal(fromEmbedded.handle.keyedStateFiles, undefined);
    const h2 = new HeapKeyedStateBackend(FULL, MAXP);
    restoreInto(h2, [fromEmbedded]);
    assert.deepEqual(contents(h2, 300), expected, 'embedded → heap');
    const job = jobDir();
    const native = await start(e, { id: 2, location: job.chk(2), sharedDir: job.shared })();
    assert.throws(() => restoreInto(new HeapKeyedStateBackend(FULL, MAXP), [native]), /native format/);
  });
});

/** A small seeded generator: the same sequence of operations on every run. */
const rng = (seed: number) => () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);

describe('the write cache under constant flushes', () => {
  // Three changed entries between flushes with every key kept across them, the same with a cache of five
  // evicting all the time, and a cache of five flushed only because it is full (the default without checkpoints).
  const caches = [{ writeCacheEntries: 3, cacheEntries: 1_000_000 }, { writeCacheEntries: 3, cacheEntries: 5 }, { writeCacheEntries: undefined, cacheEntries: 5 }];
  for (const { writeCacheEntries, cacheEntries } of caches) test(`random operations against a Map model, cache of ${cacheEntries}, flushes every ${writeCacheEntries ?? 'full cache'}: every read, every checkpoint restored (also continued on), exact`, async () => {
    const KEYS = 40;
    const model = { count: new Map<string, number>(), seen: new Map<string, string[]>(), tags: new Map<string, Map<string, number>>() };
    const expected = () => {
      const out: unknown[] = [];
      for (let k = 0; k < KEYS; k++) {
        const key = `key-${k}`;
        out.push([model.count.get(key) ?? null, model.seen.get(key) ?? [], [...(model.tags.get(key) ?? new Map())]]);
      }
      return out;
    };
    const byName = (m: Iterable<[string, number]>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const sorted = (rows: unknown[]) => (rows as [unknown, unknown, Iterable<[string, number]>][]).map(([c, l, m]) => [c, l, byName(m)]);
    const random = rng(13);
    const job = jobDir();
    // Nearly every record boundary flushes the cache into the store.
    const local = () => new EmbeddedKeyedStateBackend(FULL, MAXP, { localDir: join(tmp, `local-${++n}`), incremental: true, writeCacheEntries, cacheEntries });
    let b = local();
    backends.push(b);
    let id = 0;
    for (let step = 0; step < 3000; step++) {
      const key = `key-${Math.floor(random() * KEYS)}`;
      b.setCurrentKey(key);
      const c = b.getState(count);
      const l = b.getListState(seen);
      const m = b.getMapState(tags);
      const op = random();
      if (op < 0.3) {
        const v = (c.value() ?? 0) + 1;
        c.update(v);
        model.count.set(key, v);
      } else if (op < 0.4) {
        c.clear();
        model.count.delete(key);
      } else if (op < 0.55) {
        l.add(`s${step}`);
        model.seen.set(key, [...(model.seen.get(key) ?? []), `s${step}`]);
      } else if (op < 0.6) {
        l.clear();
        model.seen.delete(key);
      } else if (op < 0.75) {
        const t = `t${step % 5}`;
        m.put(t, step);
        model.tags.set(key, new Map(model.tags.get(key) ?? []).set(t, step));
      } else if (op < 0.8) {
        const t = `t${step % 5}`;
        m.remove(t);
        const tm = new Map(model.tags.get(key) ?? []);
        tm.delete(t);
        if (tm.size > 0) model.tags.set(key, tm);
        else model.tags.delete(key);
      }
      // Every operation is checked by a read of the key's three states.
      assert.deepEqual(c.value() ?? null, model.count.get(key) ?? null, `count of ${key} at step ${step}`);
      assert.deepEqual(l.get(), model.seen.get(key) ?? [], `list of ${key} at step ${step}`);
      assert.deepEqual(byName(m.entries()), byName(model.tags.get(key) ?? new Map()), `map of ${key} at step ${step}`);
      if (step % 250 === 249) {
        const atBarrier = sorted(expected());
        const taken = await start(b, { id: ++id, location: job.chk(id), sharedDir: job.shared })();
        b.notifyCheckpointComplete(id);
        const r = local();
        backends.push(r);
        restoreInto(r, [taken]);
        assert.deepEqual(sorted(contents(r, KEYS)), atBarrier, `checkpoint ${id} restored`);
        // Go on from the restored backend now and then: a restored store under constant flushes.
        if (id % 3 === 0) b = r;
      }
    }
    assert.deepEqual(sorted(contents(b, KEYS)), sorted(expected()));
  });
});

describe('the write cache bounded by its size', () => {
  test('without a bound on changed entries, a full cache is flushed and evicted before a new key, and nothing before', () => {
    const b = new EmbeddedKeyedStateBackend(FULL, MAXP, { localDir: join(tmp, `local-${++n}`), cacheEntries: 100 });
    backends.push(b);
    const model = new Map<string, number>();
    const random = rng(7);
    let [most, flushes, cached] = [0, 0, 0];
    for (let step = 0; step < 3000; step++) {
      // First 100 new keys (they fit), then random ones over 150: two in three hit the cache.
      const key = `key-${step < 100 ? step : Math.floor(random() * 150)}`;
      b.setCurrentKey(key);
      const c = b.getState(count);
      assert.equal(c.value(), model.get(key), `${key} at step ${step}`);
      c.update(step);
      model.set(key, step);
      // The cache shrinks only at a flush that evicts.
      if (b.cachedEntries() < cached) flushes++;
      cached = b.cachedEntries();
      most = Math.max(most, cached);
      if (step === 99) assert.equal(b.storedEntries(), 0, 'rows stored before the cache was full');
    }
    assert.ok(most <= 101, `the cache held ${most} entries, its bound is 100`);
    // A flush leaves room in the cache (a tenth at least; a share of every key group's): not one flush per miss.
    assert.ok(flushes >= 5 && flushes <= 150, `${flushes} evicting flushes for 2900 records with about 1000 misses`);
    assert.equal(b.numEntries(), 150);
  });
});

describe('shared state registry', () => {
  const md = (files: string[]): CheckpointMetadata => ({
    formatVersion: 1, jobId: 'j', jobName: 'j', checkpointId: 1, kind: 'CHECKPOINT', format: 'NATIVE', triggerTimestamp: 0, completionTimestamp: 0, maxParallelism: MAXP,
    operators: [{ operatorId: 'o', name: 'o', parallelism: 1, maxParallelism: MAXP, subtasks: [{ subtask: 0, state: {
      file: 'x', size: 0, crc32: 0, keyedStates: {}, operatorStates: {}, keyedEntries: 0,
      keyedStateFiles: files.map((f) => ({ file: `../shared/${f}`, size: 0, crc32: 0, keyedStates: {}, keyedEntries: 0 })),
    } }] }],
  });

  test('a shared file is deleted only when no retained checkpoint refers to it, also one the registry never saw', () => {
    const job = jobDir();
    for (const f of ['a', 'b', 'c', 'd']) writeFileSync(join(job.shared, f), f);
    const reg = new SharedStateRegistry();
    const c1 = job.chk(1);
    writeMetadataAtomically(c1, md(['a', 'b']));
    const c2 = job.chk(2);
    writeMetadataAtomically(c2, md(['a', 'c']));
    // A retained checkpoint of an earlier run, unknown to this registry, uses d.
    writeMetadataAtomically(job.chk(7), md(['d']));
    reg.register(1, sharedFilesOf(c1, md(['a', 'b'])));
    reg.register(2, sharedFilesOf(c2, md(['a', 'c'])));
    assert.deepEqual(sharedFilesOf(c1, md(['a', 'b'])), [resolve(job.shared, 'a'), resolve(job.shared, 'b')]);

    // Subsume 1: its folder first, then b (a is still used by 2).
    rmSync(c1, { recursive: true });
    reg.unregister(1, sharedFilesOf(c1, md(['a', 'b'])));
    assert.deepEqual(reg.deleteUnreferenced(), [resolve(job.shared, 'b')]);
    assert.deepEqual(readdirSync(job.shared).sort(), ['a', 'c', 'd']);

    // A crash between deleting checkpoint 2's folder and its files leaks them; a checkpoint still on disk keeps its own.
    reg.unregister(7, [resolve(job.shared, 'd')]);
    assert.deepEqual(reg.deleteUnreferenced(), [], 'chk-7/_metadata still refers to d');
    assert.ok(existsSync(join(job.shared, 'd')));
  });
});

const assignKg = (k: string) => assignToKeyGroup(k, MAXP);
function contents1(b: KeyedStateBackend, k: number): unknown {
  b.setCurrentKey(`key-${k}`);
  return [b.getState(count).value() ?? null, b.getListState(seen).get(), b.getMapState(tags).entries()];
}

describe('shipped store files (a native full snapshot is a copy of the LMDB store)', () => {
  const storeFile = (t: Taken) => keyedFiles(t).find((f) => f.store === 'lmdb')!;

  test('a native savepoint is one store file; restoring installs it (no row replayed) and the state is exactly equal', async () => {
    const b = embedded(FULL, false);
    fill(b, 1000, 1);
    fill(b, 1000, 2, 7);
    const expected = contents(b, 1000);
    const sp = join(tmp, `savepoint-${++n}`);
    mkdirSync(sp);
    const t = await start(b, { id: 1, location: sp })();
    assert.deepEqual(keyedFiles(t).map((f) => [f.store, f.delta ?? false]), [['lmdb', false]]);
    assert.ok(!keyedFiles(t)[0].file.includes('/'), 'inside the savepoint folder');
    const r = embedded(FULL, false);
    restoreInto(r, [t]);
    assert.ok(existsSync(join(r.options.localDir, 'db-1', 'data.mdb')), 'the shipped file became the store');
    assert.deepEqual(contents(r, 1000), expected);
    // The installed store is a working one: updates and a second generation of snapshots.
    fill(r, 1000, 3, 10);
    const expected2 = contents(r, 1000);
    const sp2 = join(tmp, `savepoint-${++n}`);
    mkdirSync(sp2);
    const t2 = await start(r, { id: 2, location: sp2 })();
    const r2 = embedded(FULL, false);
    restoreInto(r2, [t2]);
    assert.deepEqual(contents(r2, 1000), expected2);
  });

  test('an incremental chain on a store file restores exactly, also at another parallelism (rows of the key groups copied)', async () => {
    const b = embedded();
    const job = jobDir();
    fill(b, 2000, 1);
    const c1 = await start(b, { id: 1, location: job.chk(1), sharedDir: job.shared })();
    b.notifyCheckpointComplete(1);
    assert.equal(storeFile(c1).store, 'lmdb');
    fill(b, 2000, 2, 100);
    b.setCurrentKey('key-5');
    b.getState(count).clear();
    const c2 = await start(b, { id: 2, location: job.chk(2), sharedDir: job.shared })();
    assert.deepEqual(keyedFiles(c2).map((f) => f.store ?? (f.delta ? 'delta' : 'full')), ['lmdb', 'delta']);
    const expected = contents(b, 2000);
    const r = embedded();
    restoreInto(r, [c2]);
    assert.deepEqual(contents(r, 2000), expected);
    const thirds = [0, 1, 2].map((i) => embedded(computeKeyGroupRangeForOperatorIndex(MAXP, 3, i)));
    for (const h of thirds) restoreInto(h, [c2]);
    const merged = expected.map((_, k) => contents1(thirds.find((x) => x.keyGroupRange.contains(assignKg(`key-${k}`)))!, k));
    assert.deepEqual(merged, expected);
    // Scale in: one backend takes both halves' store files.
    const halves = [0, 1].map((i) => embedded(computeKeyGroupRangeForOperatorIndex(MAXP, 2, i)));
    for (const h of halves) restoreInto(h, [c2]);
    const hjob = jobDir();
    const taken = await Promise.all(halves.map((h, i) => start(h, { id: 3, location: hjob.chk(3 + i), sharedDir: hjob.shared })()));
    const one = embedded();
    restoreInto(one, taken);
    assert.deepEqual(contents(one, 2000), expected);
  });

  test('a snapshot taken while an earlier store copy still runs is exact too (rows + the write cache)', async () => {
    const b = embedded();
    const job = jobDir();
    fill(b, 1500, 1);
    const first = start(b, { id: 1, location: job.chk(1), sharedDir: job.shared }); // store copy running
    fill(b, 1500, 2, 3); // held back in the cache: nothing commits during the copy
    const atSecond = structuredClone(contents(b, 1500)); // live objects: the cache was not flushed
    const second = start(b, { id: 2, location: job.chk(2), sharedDir: job.shared, format: 'CANONICAL' });
    fill(b, 1500, 3, 2);
    const [t1, t2] = await Promise.all([first(), second()]);
    const r1 = embedded();
    restoreInto(r1, [t1]);
    const r2 = embedded();
    restoreInto(r2, [t2]);
    assert.deepEqual(contents(r2, 1500), atSecond);
    const r1c = contents(r1, 1500) as [unknown, string[], unknown][];
    assert.ok(r1c.every(([, seenList]) => seenList.length === 1), 'the first copy holds only round 1');
  });

  test('a truncated or corrupted store file is refused, never installed', async () => {
    const b = embedded(FULL, false);
    fill(b, 500, 1);
    const sp = join(tmp, `savepoint-${++n}`);
    mkdirSync(sp);
    const t = await start(b, { id: 1, location: sp })();
    const file = join(sp, storeFile(t).file);
    const good = readFileSync(file);
    writeFileSync(file, good.subarray(0, good.length - 4096));
    const r = embedded(FULL, false);
    assert.throws(() => restoreInto(r, [t]), /corrupted: expected \d+ bytes/);
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)] ^= 0xff;
    writeFileSync(file, bad);
    assert.throws(() => restoreInto(r, [t]), /corrupted: checksum mismatch/);
    rmSync(file);
    assert.throws(() => restoreInto(r, [t]), /is missing/);
    assert.ok(!existsSync(join(r.options.localDir, 'db-1')), 'nothing was installed');
    r.setCurrentKey('key-1');
    assert.equal(r.getState(count).value(), undefined);
  });
});
