import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/workerThread.js';
import type { Rows } from '../state/BinaryChunk.js';
import type { WrittenStateFile } from '../state/StateFile.js';

/** Rows as they cross to the thread: owned buffers only (`words` is a view of `cells`, rebuilt there). */
export type TransferredRows = Omit<Rows, 'words' | 'rowOff' | 'rowNum'> & { rowOff?: Int32Array; rowNum?: Float64Array };

/** What the task thread asks of its asynchronous-operations thread, per state file (`file`: an id of this thread's). */
export type AsyncOperation =
  | { op: 'begin'; file: number }
  | { op: 'part'; file: number; bytes: Uint8Array }
  | { op: 'rows'; file: number; name: string; rows: TransferredRows; fields: string[] | undefined }
  | { op: 'end'; file: number }
  | { op: 'operator-state'; file: number; bytes: Uint8Array }
  | { op: 'write'; file: number; id: number; path: string }
  | { op: 'sync'; file: number; id: number }
  | { op: 'bytes'; file: number; id: number }
  | { op: 'drop'; file: number };

/** The answer to a request (`write`, `sync`, `bytes`); `error` when it, or an earlier operation on its file, failed. */
export interface AsyncReply {
  id: number;
  error?: string;
  written?: WrittenStateFile;
  bytes?: Uint8Array;
}

type Request = Extract<AsyncOperation, { id: number }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Flink's asyncOperationsThreadPool, one thread per task slot: the asynchronous part of a snapshot packs binary
 * key groups, serializes, checksums and writes the state file there, so the task thread only hands over copies
 * and goes on with records. Started at its first use, or at deployment when the job checkpoints periodically; it
 * never keeps its slot's thread alive while idle. A
 * crash fails the requests under way (their checkpoints are declined); the next use starts a new thread.
 */
export class AsyncOperationsThread {
  private static instance: AsyncOperationsThread | undefined;
  private worker: Worker | undefined;
  private nextFile = 1;
  /** Files below this id were begun on a thread that failed since: the new thread never saw their first parts. */
  private liveFrom = 1;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: AsyncReply) => void; reject: (e: Error) => void }>();

  /** This thread's (the task slot's) asynchronous-operations thread. */
  static get(): AsyncOperationsThread {
    return (AsyncOperationsThread.instance ??= new AsyncOperationsThread());
  }

  /**
   * Starts the thread now (a job that checkpoints periodically, at deployment): its isolate and modules load
   * before the first record instead of at the first barrier, where they cost the first checkpoint 50-100 ms.
   */
  prestart(): void {
    this.started();
  }

  newFile(): number {
    return this.nextFile++;
  }

  /** An operation in file order; its failure is reported by the file's next request. */
  post(m: AsyncOperation, transfer: ArrayBuffer[] = []): void {
    this.alive(m.file);
    this.started().postMessage(m, transfer);
  }

  /** An operation that answers; rejects with the thread's error message. */
  request(m: DistributiveOmit<Request, 'id'>): Promise<AsyncReply> {
    try {
      this.alive(m.file);
    } catch (e) {
      return Promise.reject(e);
    }
    const id = this.nextId++;
    const w = this.started();
    return new Promise<AsyncReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) w.ref(); // an answer is awaited: keep the thread's event loop alive
      w.postMessage({ ...m, id });
    }).finally(() => {
      this.waiting.delete(id);
      if (this.waiting.size === 0) this.worker?.unref();
    }).then((r) => {
      if (r.error !== undefined) throw new Error(r.error);
      return r;
    });
  }

  /** Stops the thread (as a crash would, for the files under way); the next use starts a new one. */
  async terminate(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    await w.terminate();
    await exited;
  }

  private alive(file: number): void {
    if (file < this.liveFrom) throw new Error('The asynchronous-operations thread failed while this state file was written');
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker(import.meta.url, 'AsyncOperationsWorker');
    w.unref();
    w.on('message', (r: AsyncReply) => this.waiting.get(r.id)?.resolve(r));
    const fail = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.liveFrom = this.nextFile;
      for (const { reject } of this.waiting.values()) reject(e);
    };
    w.on('error', (e) => fail(new Error(`The asynchronous-operations thread failed: ${e.message}`)));
    w.on('exit', (code) => fail(new Error(`The asynchronous-operations thread exited with code ${code}`)));
    this.worker = w;
    return w;
  }
}
