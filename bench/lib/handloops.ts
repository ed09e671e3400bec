import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Query } from './nexmark.js';

/**
 * The limit each scenario is compared with: the fastest plain code for the same computation, with no
 * framework and no serialization, on as many threads as the job has subtasks (each thread does its share:
 * a range of the input for Nexmark, its half of the keys for the keyed sum, so no record crosses threads).
 * Returns records per second over all threads. bench/run.ts takes the best of these on up to p threads as the
 * limit at parallelism p: two threads can be slower than one (cores shared with other work).
 *
 * "Fastest" means: the generator's arithmetic of bench/lib/nexmark.ts inlined in 32-bit integers (the same
 * values, checked against bid()/toEuro()/selectedAuction() in test/unit/bench-generators.test.ts), no record
 * object, and for the keyed sum one Map lookup per record into a mutable per-key counter, where the engine
 * must build each record, route it and run the user's reduce. An engine can only approach these loops.
 */
export async function nexmarkLoop(query: Query, records: number, threads = 1): Promise<number> {
  return threads === 1 ? rate(records, [timed(() => nexmarkRange(query, 0, records))]) : inWorkers({ kind: 'nexmark', query, records, threads });
}

export async function keyedSumLoop(keys: number, records: number, threads = 1): Promise<number> {
  return threads === 1 ? rate(records, [timed(() => keyedSum(keys, records, 0, 1))]) : inWorkers({ kind: 'keyed', keys, records, threads });
}

/** The low 16 bits of nexmark.ts's BASE_TIME: (BASE_TIME + i) & 0xffff stays in int32 as (BASE_LOW + i) & 0xffff. */
const BASE_LOW = Date.UTC(2026, 0, 1) % 65_536;

/** Murmur3's finalizer, as nexmark.ts's mix(), kept in int32 (the unsigned reading is `>>> 0` at each use). */
function mix(i: number): number {
  let h = Math.imul(i ^ (i >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Records [from, to) through one query; returns a checksum of every field that reaches the sink. */
export function nexmarkRange(query: Query, from: number, to: number): number {
  return query === 'q0' ? q0(from, to) : query === 'q1' ? q1(from, to) : q2(from, to);
}

// One loop per query, so that each is as tight as a hand-written program would be (no per-record branch).
function q0(from: number, to: number): number {
  let checksum = 0;
  for (let i = from; i < to; i++) {
    const h = mix(i);
    checksum = (checksum + 1000 + (h >>> 0) % 10_000 + 1000 + (h >>> 7) % 100_000 + 100 + (h >>> 11) + ((BASE_LOW + i) & 0xffff)) | 0;
  }
  return checksum;
}

function q1(from: number, to: number): number {
  let checksum = 0;
  for (let i = from; i < to; i++) {
    const h = mix(i);
    const euro = ((100 + (h >>> 11)) * 0.908) | 0; // Math.floor of a positive value below 2^31
    checksum = (checksum + 1000 + (h >>> 0) % 10_000 + 1000 + (h >>> 7) % 100_000 + euro + ((BASE_LOW + i) & 0xffff)) | 0;
  }
  return checksum;
}

function q2(from: number, to: number): number {
  let checksum = 0;
  for (let i = from; i < to; i++) {
    const h = mix(i);
    const auction = 1000 + (h >>> 0) % 10_000;
    if (auction % 123 === 0) checksum = (checksum + auction + 1000 + (h >>> 7) % 100_000 + 100 + (h >>> 11) + ((BASE_LOW + i) & 0xffff)) | 0;
  }
  return checksum;
}

/**
 * The running sum per key of the records i ≡ part (mod parts) (with an even key count, thread `part` owns the
 * keys ≡ part (mod parts)): the record's string key is built as the generator builds it, one Map lookup finds a
 * mutable counter, and the emitted (key, sum) is folded into the checksum.
 */
export function keyedSum(keys: number, records: number, part: number, parts: number): number {
  const sums = new Map<string, { sum: number }>();
  let checksum = 0;
  for (let i = part; i < records; i += parts) {
    const key = `key-${i % keys}`;
    const acc = sums.get(key);
    let sum: number;
    if (acc === undefined) {
      sums.set(key, { sum: 1 });
      sum = 1;
    } else sum = ++acc.sum;
    checksum = (checksum + sum + key.length) | 0;
  }
  return checksum;
}

interface Timed { start: number; end: number; checksum: number }

function timed(f: () => number): Timed {
  const start = performance.timeOrigin + performance.now();
  const checksum = f();
  return { start, end: performance.timeOrigin + performance.now(), checksum };
}

function rate(records: number, parts: Timed[]): number {
  // The checksum is used, so the loop cannot be optimised away.
  if (parts.some((p) => Number.isNaN(p.checksum))) throw new Error('unreachable');
  return records / ((Math.max(...parts.map((p) => p.end)) - Math.min(...parts.map((p) => p.start))) / 1000);
}

type Job = { kind: 'nexmark'; query: Query; records: number; threads: number } | { kind: 'keyed'; keys: number; records: number; threads: number };

/**
 * One worker thread per share; each warms up, then waits on a shared flag so that all start together; the
 * time is from the first start to the last end.
 */
async function inWorkers(job: Job): Promise<number> {
  const go = new Int32Array(new SharedArrayBuffer(4));
  const self = import.meta.url;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(self)}); })`;
  const workers = Array.from({ length: job.threads }, (_, part) => new Worker(boot, { eval: true, workerData: { handLoop: job, part, go } }));
  try {
    const ready = workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    }));
    await Promise.all(ready);
    const done = workers.map((w) => new Promise<Timed>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }));
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    return rate(job.records, await Promise.all(done));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function share(job: Job, part: number): () => number {
  if (job.kind === 'keyed') return () => keyedSum(job.keys, job.records, part, job.threads);
  const per = Math.ceil(job.records / job.threads);
  return () => nexmarkRange(job.query, part * per, Math.min(job.records, (part + 1) * per));
}

if (!isMainThread && workerData?.handLoop) {
  const { handLoop, part, go } = workerData as { handLoop: Job; part: number; go: Int32Array };
  // Warm up the JIT on a small input of the same shape, as the main thread's loops are.
  if (handLoop.kind === 'keyed') keyedSum(10_000, 200_000, part, handLoop.threads);
  else nexmarkRange(handLoop.query, 0, 200_000);
  parentPort!.postMessage('ready');
  Atomics.wait(go, 0, 0);
  parentPort!.postMessage(timed(share(handLoop, part)));
}
