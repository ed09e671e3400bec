import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { FlinkError } from '../core/FlinkError.js';
import { startWorker } from '../core/workerThread.js';
import type { JobManagerToWorker, WorkerInit, WorkerToJobManager } from './messages.js';

const SHUTDOWN_GRACE_MS = 2000;

/**
 * When the slots take every core, V8's concurrent recompilation hands each hot function to a platform thread that
 * has to preempt a busy slot to run, so optimized code arrives late and the warm-up drags (keyed sum, p=2 on 2
 * cores: +2–6% without it; p=1: equal either way). Compiled on the slot's own thread, it arrives at once. The flag
 * is read when an isolate starts, so it holds for the workers started after it; it stays set for the process.
 */
function compileOnTaskThreads(): void {
  setFlagsFromString('--no-concurrent-recompilation');
}

/**
 * The task slots of the local TaskManager: one worker thread each, connected pairwise by MessagePorts
 * for the data plane. With slot sharing, slot i runs subtask i of every vertex.
 */
export class TaskSlots {
  private closed = false;
  private readonly cancelled = new Set<number>();

  private constructor(
    private readonly workers: Worker[],
    private readonly onMessage: (slot: number, m: WorkerToJobManager) => void,
    private readonly onCrash: (slot: number, error: Error) => void,
  ) {
    workers.forEach((w, i) => {
      w.on('message', (m: WorkerToJobManager) => {
        if (m.type === 'cancelled') this.cancelled.add(i);
        if (!this.closed) this.onMessage(i, m);
      });
      w.on('error', (e) => {
        if (!this.closed) this.onCrash(i, e);
      });
      w.on('exit', (code) => {
        if (!this.closed) this.onCrash(i, new Error(`Task slot ${i} exited unexpectedly with code ${code}`));
      });
    });
  }

  static async start(
    count: number,
    init: Omit<WorkerInit, 'type' | 'workerIndex' | 'peers'>,
    onMessage: (slot: number, m: WorkerToJobManager) => void,
    onCrash: (slot: number, error: Error) => void,
  ): Promise<TaskSlots> {
    if (count >= availableParallelism()) compileOnTaskThreads();
    const workers = Array.from({ length: count }, () => startWorker(import.meta.url, 'TaskExecutorWorker'));
    const ports: Record<number, unknown>[] = workers.map(() => ({}));
    for (let a = 0; a < count; a++) {
      for (let b = a + 1; b < count; b++) {
        const { port1, port2 } = new MessageChannel();
        ports[a][b] = port1;
        ports[b][a] = port2;
      }
    }
    const cleanups: (() => void)[] = [];
    const ready = workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const onMsg = (m: WorkerToJobManager) => {
            if (m.type === 'ready') resolve();
            // The slot's message already says what failed while loading the program.
            else if (m.type === 'initFailed') reject(Object.assign(new FlinkError('invalid-argument', m.error.message), { stack: m.error.stack }));
          };
          const onExit = (code: number) => reject(new Error(`Task slot exited with code ${code} during start`));
          w.on('message', onMsg);
          w.on('error', reject);
          w.on('exit', onExit);
          cleanups.push(() => {
            w.off('message', onMsg);
            w.off('error', reject);
            w.off('exit', onExit);
          });
        }),
    );
    workers.forEach((w, i) => {
      const peers = ports[i];
      w.postMessage({ ...init, type: 'init', workerIndex: i, peers } satisfies WorkerInit, Object.values(peers) as never[]);
    });
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    for (const c of cleanups) c();
    return new TaskSlots(workers, onMessage, onCrash);
  }

  get size(): number {
    return this.workers.length;
  }

  send(slot: number, m: JobManagerToWorker): void {
    if (!this.closed) this.workers[slot].postMessage(m);
  }

  broadcast(m: JobManagerToWorker): void {
    for (let i = 0; i < this.workers.length; i++) this.send(i, m);
  }

  /** Cancels every task (so operators close their files), then ends the threads. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.broadcast({ type: 'cancel' });
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while (this.cancelled.size < this.workers.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
