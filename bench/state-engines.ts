/**
 * Micro-benchmark of candidate storage engines for the embedded keyed state backend, run from a worker
 * thread (where task slots run): put (batched in transactions, as a write cache flush does), random get,
 * full ordered iteration, snapshot consistency while writing, and crash behaviour (SIGKILL mid-write).
 *
 *   node --import tsx bench/state-engines.ts [numKeys]
 *
 * better-sqlite3 is a dependency; lmdb and rocksdb-native are looked up in ENGINES_DIR (a scratch
 * `npm install lmdb rocksdb-native`) so that only the chosen engine is a dependency of flink-ts.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? workerData?.n ?? 200_000);
const BATCH = 10_000;
const VALUE = Buffer.alloc(64, 7);
const key = (i: number) => Buffer.from(`k${String(i).padStart(10, '0')}`);

function load(name: string): any {
  const dirs = [process.cwd(), process.env.ENGINES_DIR ?? '/tmp/i7-engines'];
  for (const d of dirs) {
    try {
      return createRequire(join(d, 'noop.js'))(name);
    } catch {
      /* next */
    }
  }
  return undefined;
}

interface Engine {
  putBatch(from: number, to: number, v: Buffer): void | Promise<void>;
  get(i: number): unknown;
  iterate(): number | Promise<number>;
  /** Starts a read snapshot, lets `write` change every key, then counts values still equal to the old one. */
  snapshotWhileWriting(write: () => Promise<void>): Promise<{ seenOld: number; total: number }>;
  count(): number | Promise<number>;
  close(): void | Promise<void>;
}

function sqlite(dir: string): Engine {
  const Database = load('better-sqlite3');
  const db = new Database(join(dir, 'db.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID');
  const put = db.prepare('INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)');
  const get = db.prepare('SELECT v FROM kv WHERE k = ?').pluck();
  const all = db.prepare('SELECT k, v FROM kv ORDER BY k').raw();
  const tx = db.transaction((from: number, to: number, v: Buffer) => {
    for (let i = from; i < to; i++) put.run(key(i), v);
  });
  return {
    putBatch: (from, to, v) => tx(from, to, v),
    get: (i) => get.get(key(i)),
    iterate: () => {
      let n = 0;
      for (const _ of all.iterate()) n++;
      return n;
    },
    async snapshotWhileWriting(write) {
      const reader = new Database(join(dir, 'db.sqlite'), { readonly: true });
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM kv').get(); // the read snapshot starts with the first read
      await write();
      let seenOld = 0;
      let total = 0;
      for (const [, v] of reader.prepare('SELECT k, v FROM kv').raw().iterate()) {
        total++;
        if ((v as Buffer).equals(VALUE)) seenOld++;
      }
      reader.exec('COMMIT');
      reader.close();
      return { seenOld, total };
    },
    count: () => db.prepare('SELECT count(*) FROM kv').pluck().get() as number,
    close: () => db.close(),
  };
}

function lmdb(dir: string): Engine | undefined {
  const m = load('lmdb');
  if (!m) return undefined;
  const db = m.open({ path: join(dir, 'db.lmdb'), encoding: 'binary', keyEncoding: 'binary' });
  return {
    putBatch: (from, to, v) => db.transactionSync(() => {
      for (let i = from; i < to; i++) db.putSync(key(i), v);
    }),
    get: (i) => db.get(key(i)),
    iterate: () => {
      let n = 0;
      for (const _ of db.getRange({})) n++;
      return n;
    },
    async snapshotWhileWriting(write) {
      const txn = db.useReadTransaction();
      await write();
      let seenOld = 0;
      let total = 0;
      for (const { value } of db.getRange({ transaction: txn })) {
        total++;
        if ((value as Buffer).equals(VALUE)) seenOld++;
      }
      txn.done();
      return { seenOld, total };
    },
    count: () => db.getCount(),
    close: () => db.close(),
  };
}

function rocks(dir: string): Engine | undefined {
  const RocksDB = load('rocksdb-native');
  if (!RocksDB) return undefined;
  const db = new RocksDB(join(dir, 'db.rocks'));
  const iterate = async (session = db) => {
    let n = 0;
    let old = 0;
    for await (const { value } of session.iterator({})) {
      n++;
      if ((value as Buffer).equals(VALUE)) old++;
    }
    return { n, old };
  };
  return {
    async putBatch(from, to, v) {
      const w = db.write();
      for (let i = from; i < to; i++) w.put(key(i), v);
      await w.flush();
    },
    // rocksdb-native reads are asynchronous only: a get is a promise, which a synchronous state API cannot use.
    get: (i) => db.get(key(i)),
    iterate: async () => (await iterate()).n,
    async snapshotWhileWriting(write) {
      const snap = db.snapshot(); // a session reading at a RocksDB snapshot
      await write();
      const { n, old } = await iterate(snap);
      void snap.close(); // awaiting close() never settles with rocksdb-native 3.x (the process would exit)
      return { seenOld: old, total: n };
    },
    count: async () => (await iterate()).n,
    close: () => void db.close(),
  };
}

const ALL: Record<string, (dir: string) => Engine | undefined> = { 'better-sqlite3': sqlite, lmdb, 'rocksdb-native': rocks };

const ENGINES = process.env.ENGINES ? Object.fromEntries(Object.entries(ALL).filter(([k]) => process.env.ENGINES!.split(',').includes(k))) : ALL;

async function measure(name: string): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), `engine-${name}-`));
  const e = ENGINES[name](dir);
  if (!e) return { engine: name, error: 'not installed' };
  try {
    let t = performance.now();
    for (let i = 0; i < N; i += BATCH) await e.putBatch(i, Math.min(N, i + BATCH), VALUE);
    const putPerSec = N / ((performance.now() - t) / 1000);
    t = performance.now();
    const G = Math.min(N, 200_000);
    let x = 12345;
    for (let i = 0; i < G; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      await e.get(x % N);
    }
    const getPerSec = G / ((performance.now() - t) / 1000);
    t = performance.now();
    const n = await e.iterate();
    const iterPerSec = n / ((performance.now() - t) / 1000);
    const other = Buffer.alloc(64, 9);
    const snap = await e.snapshotWhileWriting(async () => {
      for (let i = 0; i < N; i += BATCH) await e.putBatch(i, Math.min(N, i + BATCH), other);
    });
    await e.close();
    return { engine: name, putPerSec: Math.round(putPerSec), getPerSec: Math.round(getPerSec), iterPerSec: Math.round(iterPerSec), snapshotConsistent: snap.seenOld === N && snap.total === N, syncGet: name !== 'rocksdb-native' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Child of the crash test: writes batches forever, reporting each committed batch; the parent SIGKILLs it. */
async function crashChild(name: string, dir: string): Promise<void> {
  const e = ENGINES[name](dir)!;
  for (let b = 0; ; b++) {
    await e.putBatch(b * BATCH, (b + 1) * BATCH, VALUE);
    process.send!({ committed: (b + 1) * BATCH });
  }
}

async function crash(name: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `engine-crash-${name}-`));
  if (!ENGINES[name](dir)) return 'not installed';
  try {
    const committed = await new Promise<number>((resolve) => {
      const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, CRASH_CHILD: name, CRASH_DIR: dir }, execArgv: ['--import', 'tsx'] });
      let last = 0;
      child.on('message', (m: { committed: number }) => {
        last = m.committed;
        if (last >= 5 * BATCH) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve(last));
    });
    const e = ENGINES[name](dir)!;
    const n = await e.count();
    await e.close();
    // Every batch reported committed must be there, and a batch is all or nothing.
    return n >= committed && n % BATCH === 0 ? `ok (${committed} committed, ${n} after reopen)` : `LOST/TORN (${committed} committed, ${n} after reopen)`;
  } catch (err) {
    return `reopen failed: ${(err as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.MAIN_THREAD) {
  console.log(JSON.stringify(await measure(process.env.MAIN_THREAD)));
} else if (process.env.CRASH_CHILD) {
  await crashChild(process.env.CRASH_CHILD, process.env.CRASH_DIR!);
} else if (isMainThread) {
  console.log(`# ${N} keys, 64-byte values, batches of ${BATCH}; measured in a worker thread`);
  for (const name of Object.keys(ENGINES)) {
    const r = await new Promise<Record<string, unknown>>((resolve, reject) => {
      // A worker does not inherit tsx's loader: register it in the worker, then load this file there.
      const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
      const w = new Worker(boot, { eval: true, workerData: { engine: name, n: N } });
      w.once('message', resolve);
      w.once('error', reject);
      // A worker whose event loop runs dry while awaiting a native promise exits without an answer.
      w.once('exit', (code) => resolve({ engine: name, error: `worker exited (code ${code}) before reporting` }));
    });
    r.crash = await crash(name);
    console.log(JSON.stringify(r));
  }
} else {
  parentPort!.postMessage(await measure(workerData.engine as string).catch((e) => ({ engine: workerData.engine, error: String(e) })));
}
