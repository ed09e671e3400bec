/**
 * The bookkeeping of Flink's TwoPhaseCommittingSink, shared by the sinks that commit with the checkpoint (the
 * Kafka and JDBC writers): the writer part writes records into an open transaction; at the barrier of checkpoint
 * N it is closed into a *committable* (prepareCommit), whose writes are made durable before the subtask
 * acknowledges (pre-commit); the committables are recorded in the checkpoint's state, and the committer part
 * commits those up to N when N completes. A committable leaves the pending list (and so the state of the
 * checkpoints after it) only once its commit succeeded: were it dropped before, a later checkpoint taken while
 * the commit fails could complete without it, and a restore from that checkpoint would lose it.
 *
 * At the end of a bounded input with a final checkpoint (FLIP-147) the open transaction only gets the last
 * records: the final checkpoint pre-commits and commits it. Without one, it is committed at end of input.
 *
 * Fault points `<sink>.pre-commit` (durable, not yet acknowledged) and `<sink>.commit` (about to commit a
 * completed checkpoint's committable). Recovery (commit the restored committables, abort lingering ones) is the
 * sink's own: it sets `recovery`, which every pre-commit waits for.
 */
import { faultPoint } from '../core/FaultInjection.js';
import { StreamOperator } from './StreamOperator.js';

export interface PendingCommittable<C> {
  checkpointId: number;
  committable: C;
}

export abstract class TwoPhaseCommittingSinkOperator<IN, C> extends StreamOperator<IN> {
  /** Committables of checkpoints that have not been committed yet, oldest first. */
  protected pending: PendingCommittable<C>[] = [];
  /** The first error of an asynchronous write or commit; the task fails with it on its next call. */
  protected error?: Error;
  /** Recovery of the restored committables; pre-commits wait for it. */
  protected recovery: Promise<void> = Promise.resolve();
  private readonly committing = new Set<PendingCommittable<C>>();
  private commits: Promise<unknown> = Promise.resolve();

  /** `kafka`, `jdbc`: the prefix of this sink's fault points. */
  protected abstract readonly faultPointPrefix: 'kafka' | 'jdbc';

  /** Whether this sink commits with checkpoints at all (else it only flushes at barriers: at least once). */
  protected abstract get twoPhase(): boolean;

  /** SinkWriter.write: buffers or sends one record. */
  protected abstract write(value: IN): void;

  /** Sends what is buffered (into the open transaction, when two-phase). */
  protected abstract flush(): void;

  /** At the barrier of `checkpointId`: closes the open transaction into a committable (undefined: none open). */
  protected abstract prepareCommit(checkpointId: number): C | undefined;

  /** Resolves once every write of `committable` (or, not two-phase, every write so far) is durable. */
  protected abstract preCommitted(committable: C | undefined): Promise<void>;

  /** Committer.commit: commits one committable; one that is committed already counts as done. */
  protected abstract commit(committable: C): Promise<void>;

  /** Without a final checkpoint: commits the open transaction at end of input (the pending ones are the base's). */
  protected abstract commitOpenAtEndOfInput(): Promise<void>;

  /** Records the pending committables (and the writer's own state) in the operator state. */
  protected abstract storeState(): void;

  /** How a committable is named in fault points and messages. */
  protected abstract describe(committable: C): string;

  /** The error a failed commit fails the task with. */
  protected commitFailed(committable: C, e: unknown): Error {
    return new Error(`Committing ${this.describe(committable)} failed: ${(e as Error).message}`, { cause: e });
  }

  protected setError(e: unknown): void {
    this.error ??= e instanceof Error ? e : new Error(String(e));
  }

  processElement(value: IN): void {
    if (this.error) throw this.error;
    this.write(value);
  }

  override snapshotState(checkpointId: number): void {
    if (this.error) throw this.error;
    this.flush();
    if (this.twoPhase) {
      const committable = this.prepareCommit(checkpointId);
      if (committable !== undefined) this.pending.push({ checkpointId, committable });
    }
    this.storeState();
  }

  /** Pre-commit: the subtask acknowledges the checkpoint only once this resolved, and declines it if it rejects. */
  override snapshotStateAsync(checkpointId: number): Promise<void> {
    const p = this.pending.find((x) => x.checkpointId === checkpointId);
    return Promise.all([this.recovery, this.preCommitted(p?.committable)]).then(() => {
      if (this.error) throw this.error;
      if (p) faultPoint(`${this.faultPointPrefix}.pre-commit`, this.describe(p.committable));
    });
  }

  /** Commits the committables of checkpoints up to `checkpointId`; rejects when a commit failed (the task fails). */
  override notifyCheckpointComplete(checkpointId: number): Promise<void> | undefined {
    const done = this.pending.filter((p) => p.checkpointId <= checkpointId && !this.committing.has(p));
    if (done.length === 0) return undefined;
    for (const p of done) this.committing.add(p);
    this.commits = this.commits.then(async () => {
      for (const p of done) {
        faultPoint(`${this.faultPointPrefix}.commit`, this.describe(p.committable));
        await this.commit(p.committable).catch((e: unknown) => { throw this.commitFailed(p.committable, e); });
        this.pending = this.pending.filter((x) => x !== p);
        this.committing.delete(p);
      }
    }).catch((e) => this.setError(e));
    return this.commits.then(() => { if (this.error) throw this.error; });
  }

  /**
   * End of a bounded input. With a final checkpoint (FLIP-147), or not two-phase: the last records are written
   * (into the open transaction) and nothing is committed here. Otherwise everything open and pending is
   * committed now.
   */
  override endInput(): Promise<void> {
    this.flush();
    if (!this.twoPhase || this.ctx.waitsForFinalCheckpoint) return this.preCommitted(undefined).then(() => { if (this.error) throw this.error; });
    const pending = this.pending;
    this.pending = [];
    const open = this.commitOpenAtEndOfInput();
    this.commits = Promise.all([this.commits, open]).then(async () => {
      for (const p of pending) await this.commit(p.committable);
    });
    return this.commits.then(() => { if (this.error) throw this.error; });
  }

  /** Settles once the commits under way are done (a connection may be closed after it). */
  protected get commitsSettled(): Promise<unknown> {
    return this.commits.catch(() => {});
  }
}
