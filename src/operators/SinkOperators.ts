import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomHex } from '../core/ids.js';
import type { ListState } from '../api/state.js';
import { formatValue, type FileSink } from '../api/sinks.js';
import { StreamOperator } from './StreamOperator.js';
import { fsyncDirectory } from '../core/files.js';
import { faultPoint } from '../core/FaultInjection.js';

/** print(): one line per record on the task's stdout, prefixed `<subtask>>` when parallel, as in Flink. */
export class PrintSinkOperator<T> extends StreamOperator<T> {
  private prefix = '';
  constructor(private readonly identifier?: string) {
    super();
  }
  override open(): void {
    const sub = this.ctx.parallelism > 1 ? String(this.ctx.subtask + 1) : '';
    this.prefix = this.identifier ? (sub ? `${this.identifier}:${sub}> ` : `${this.identifier}> `) : sub ? `${sub}> ` : '';
  }
  processElement(v: T): void {
    this.ctx.stdout(this.prefix + formatValue(v));
  }
}

interface PendingFile {
  checkpointId: number;
  tmp: string;
  final: string;
}
interface FileSinkState {
  counter: number;
  pending: PendingFile[];
}

const FLUSH_BYTES = 1 << 16;

export class FileSinkOperator<T> extends StreamOperator<T> {
  private state!: ListState<FileSinkState>;
  private counter = 0;
  private pending: PendingFile[] = [];
  private current?: { fd: number; tmp: string; final: string };
  private lines: string[] = [];
  private bytes = 0;

  constructor(private readonly sink: FileSink<T>) {
    super();
  }

  override initializeState(): void {
    mkdirSync(this.sink.basePath, { recursive: true });
    this.state = this.ctx.operatorState.getListState<FileSinkState>('FileSinkState');
    for (const s of this.state.get()) {
      this.counter = Math.max(this.counter, s.counter);
      // Files pending for a checkpoint that is part of the restored snapshot: that checkpoint completed.
      for (const p of s.pending) this.commit(p);
    }
    this.pending = [];
    this.state.update([{ counter: this.counter, pending: [] }]);
  }

  processElement(v: T): void {
    const line = this.sink.encoder(v) + '\n';
    this.lines.push(line);
    this.bytes += line.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
  }

  override snapshotState(checkpointId: number): void {
    const closed = this.closeCurrent();
    if (closed) {
      this.pending.push({ checkpointId, ...closed });
      faultPoint('file.pre-commit', closed.tmp);
    }
    this.state.update([{ counter: this.counter, pending: this.pending.map((p) => ({ ...p })) }]);
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    const done = this.pending.filter((p) => p.checkpointId <= checkpointId);
    if (done.length === 0) return;
    faultPoint('file.commit', this.sink.basePath);
    for (const p of done) this.commit(p);
    this.pending = this.pending.filter((p) => p.checkpointId > checkpointId);
    fsyncDirectory(this.sink.basePath);
  }

  /**
   * Bounded input is complete. With a final checkpoint (FLIP-147) the last data is only written: that
   * checkpoint pre-commits it and commits it when it completes. Without one, the last file is final now.
   */
  override endInput(): void {
    if (this.ctx.waitsForFinalCheckpoint) {
      this.flush();
      faultPoint('sink.end-input', this.sink.basePath);
      return;
    }
    const closed = this.closeCurrent();
    if (closed) this.commit({ checkpointId: Number.MAX_SAFE_INTEGER, ...closed });
    for (const p of this.pending) this.commit(p);
    this.pending = [];
    fsyncDirectory(this.sink.basePath);
    faultPoint('sink.end-input', this.sink.basePath);
  }

  override close(): void {
    // In-progress data of a cancelled or failed attempt stays in its hidden file and is never committed.
    if (this.current) closeSync(this.current.fd);
    this.current = undefined;
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    if (!this.current) {
      let final: string;
      do final = join(this.sink.basePath, `part-${this.ctx.subtask}-${this.counter++}`);
      while (existsSync(final));
      const tmp = join(this.sink.basePath, `.part-${this.ctx.subtask}-${this.counter - 1}.inprogress.${randomHex(8)}`);
      this.current = { fd: openSync(tmp, 'wx'), tmp, final };
    }
    writeSync(this.current.fd, this.lines.join(''));
    this.lines = [];
    this.bytes = 0;
  }

  private closeCurrent(): { tmp: string; final: string } | undefined {
    this.flush();
    const c = this.current;
    if (!c) return undefined;
    fsyncSync(c.fd);
    closeSync(c.fd);
    this.current = undefined;
    return { tmp: c.tmp, final: c.final };
  }

  /** See commitPendingFile. */
  private commit(p: PendingFile): void {
    commitPendingFile(p);
  }
}

/**
 * Commits one pending part file. Idempotent: a file already committed by an earlier attempt is left as it is.
 * Never overwrites: a committed file of the same name (written by another run into this directory) keeps its
 * data, and this one is committed under the next free name. The savepoint converter commits with it what a
 * restore would.
 */
export function commitPendingFile(p: { tmp: string; final: string }): void {
  if (!existsSync(p.tmp)) return;
  for (let final = p.final, n = 1; ; final = `${p.final}.${n++}`) {
    try {
      linkSync(p.tmp, final); // fails if final exists, unlike rename
      unlinkSync(p.tmp);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Linked before a crash, not yet unlinked: the same file, already committed.
      if (statSync(final).ino === statSync(p.tmp).ino) return unlinkSync(p.tmp);
    }
  }
}
