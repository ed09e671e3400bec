/**
 * The JdbcSink in a subtask. Records become statements (JdbcStatement), executed a batch at a time, in order,
 * on one connection:
 * - at least once: a batch is executed when full, every batch interval, at every barrier (the checkpoint is
 *   acknowledged only after it) and at the end of input; a failed batch is retried up to maxRetries times on
 *   a new connection.
 * - exactly once: the batches since the last barrier form one transaction; at the barrier of checkpoint N it is
 *   prepared as `<prefix>-<job>-<subtask>-<N>` and its gid recorded in the checkpoint; a second connection runs
 *   COMMIT PREPARED when N completes (it cannot run on a connection inside a transaction). A restore commits
 *   the recorded gids still prepared and rolls back every other prepared transaction of the prefix that one of
 *   the subtasks it takes over (old subtask s with s % parallelism == this subtask) left behind.
 */
import type { Client } from 'pg';
import type { ListState } from '../../api/state.js';
import { faultPoint } from '../../core/FaultInjection.js';
import { FlinkError } from '../../core/FlinkError.js';
import { StreamOperator } from '../../operators/StreamOperator.js';
import type { JdbcSink } from './JdbcSink.js';
import { connect, describePgError } from './PostgresClients.js';
import { literal } from './JdbcStatement.js';

/** Beyond this many statements not yet executed the task stops feeding the sink. */
const MAX_IN_FLIGHT_BATCHES = 4;

interface PendingCommit {
  checkpointId: number;
  gid: string;
}

/** Union list state: every subtask sees every entry, so a rescaled restore finds all prepared transactions. */
interface JdbcWriterState {
  subtask: number;
  pending: PendingCommit[];
}

export class JdbcWriterOperator<T> extends StreamOperator<T> {
  private state?: ListState<JdbcWriterState>;
  private buffer: string[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private client?: Promise<Client>;
  private admin?: Promise<Client>;
  private adminChain: Promise<unknown> = Promise.resolve();
  private inTransaction = false;
  private pending: PendingCommit[] = [];
  /** Gids whose COMMIT PREPARED is under way (they stay pending until it succeeded). */
  private readonly committing = new Set<string>();
  private inFlight = 0;
  private error?: Error;
  private recovery: Promise<void> = Promise.resolve();
  private timerArmed = false;

  constructor(private readonly sink: JdbcSink<T>) {
    super();
  }

  private get prefix(): string {
    return this.sink.exactlyOnce!.transactionIdPrefix;
  }

  private gid(checkpointId: number): string {
    return `${this.prefix}-${this.ctx.jobId.slice(0, 12)}-${this.ctx.subtask}-${checkpointId}`;
  }

  private setError(e: unknown): void {
    this.error ??= describePgError(e, this.sink.connectionOptions);
  }

  private connection(): Promise<Client> {
    if (!this.client) {
      this.client = connect(this.sink.connectionOptions, `flink-ts-${this.sink.name}-${this.ctx.subtask}`);
      this.client.catch(() => {});
    }
    return this.client;
  }

  private adminConnection(): Promise<Client> {
    if (!this.admin) {
      this.admin = connect(this.sink.connectionOptions, `flink-ts-${this.sink.name}-${this.ctx.subtask}-commit`);
      this.admin.catch(() => {});
    }
    return this.admin;
  }

  override initializeState(): void {
    if (!this.sink.exactlyOnce) return;
    const state = this.ctx.operatorState.getUnionListState<JdbcWriterState>('JdbcWriterState');
    this.state = state;
    const { subtask, parallelism } = this.ctx;
    const mine = state.get().filter((e) => e.subtask % parallelism === subtask);
    const recorded = new Set(mine.flatMap((e) => e.pending.map((p) => p.gid)));
    const rollback = this.sink.exactlyOnce.recoveredAndRollback;
    const pattern = new RegExp(`^${this.prefix.replace(/[.]/g, '\\.')}-[0-9a-f]+-(\\d+)-(\\d+)$`);
    this.recovery = (async () => {
      const admin = await this.adminConnection();
      const r = await admin.query<{ gid: string }>(`SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE ${literal(`${this.prefix}-%`)}`);
      for (const { gid } of r.rows) {
        const m = pattern.exec(gid);
        if (!m || Number(m[1]) % parallelism !== subtask) continue;
        if (recorded.has(gid)) await admin.query(`COMMIT PREPARED ${literal(gid)}`); // pre-committed: its checkpoint counts as complete
        else if (rollback) await admin.query(`ROLLBACK PREPARED ${literal(gid)}`); // a later attempt's, never completed
      }
    })();
    this.recovery.catch((e) => this.setError(e));
    state.update([{ subtask, pending: [] }]);
  }

  override open(): void {
    this.chain = Promise.all([this.recovery, this.connection()]);
    this.chain.catch((e) => this.setError(e));
  }

  override get backpressured(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT_BATCHES;
  }

  processElement(v: T): void {
    if (this.error) throw this.error;
    this.buffer.push(this.sink.template.render(this.sink.statementBuilder, v));
    const { batchSize, batchIntervalMs } = this.sink.executionOptions;
    if (this.buffer.length >= batchSize) this.flush();
    else if (batchIntervalMs > 0 && !this.timerArmed) {
      this.timerArmed = true;
      this.ctx.processingTimeService.schedule(Date.now() + batchIntervalMs, () => {
        this.timerArmed = false;
        this.flush();
      });
    }
  }

  /** Executes the buffered statements as one batch, after the ones before it. */
  private flush(): void {
    if (this.buffer.length === 0) return;
    const sql = this.buffer.join(';\n');
    this.buffer = [];
    const exactlyOnce = !!this.sink.exactlyOnce;
    const begin = exactlyOnce && !this.inTransaction;
    if (exactlyOnce) this.inTransaction = true;
    this.inFlight++;
    this.chain = this.chain.then(async () => {
      if (this.error) throw this.error;
      if (exactlyOnce) {
        const c = await this.connection();
        if (begin) await c.query('BEGIN');
        await c.query(sql);
      } else await this.executeWithRetries(sql);
    });
    this.chain.then(
      () => this.released(),
      (e) => { this.released(); this.setError(e); },
    );
  }

  private released(): void {
    const was = this.backpressured;
    this.inFlight--;
    if (was && !this.backpressured) this.ctx.processingTimeService.schedule(Date.now(), () => {}); // feed us again
  }

  /** At least once: a multi-statement text runs as one implicit transaction, so a retry repeats it whole. */
  private async executeWithRetries(sql: string): Promise<void> {
    const max = this.sink.executionOptions.maxRetries;
    for (let attempt = 0; ; attempt++) {
      try {
        await (await this.connection()).query(sql);
        return;
      } catch (e) {
        const sqlState = (e as { code?: string }).code;
        // A statement PostgreSQL rejects (syntax, constraint) fails again: only connection trouble is retried.
        if (attempt >= max || (sqlState && /^(22|23|28|3D|42)/.test(sqlState))) throw e;
        const old = this.client;
        this.client = undefined;
        void old?.then((c) => c.end()).catch(() => {});
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
  }

  override snapshotState(checkpointId: number): void {
    if (this.error) throw this.error;
    this.flush();
    if (!this.sink.exactlyOnce) return;
    if (this.inTransaction) {
      const gid = this.gid(checkpointId);
      this.inTransaction = false;
      this.chain = this.chain.then(async () => {
        await (await this.connection()).query(`PREPARE TRANSACTION ${literal(gid)}`);
        faultPoint('jdbc.pre-commit', gid);
      });
      this.chain.catch((e) => this.setError(e));
      this.pending.push({ checkpointId, gid });
    }
    this.state!.update([{ subtask: this.ctx.subtask, pending: [...this.pending] }]);
  }

  /** Pre-commit: every batch up to the barrier is executed (and, exactly once, its transaction prepared). */
  override snapshotStateAsync(): Promise<void> {
    return Promise.all([this.recovery, this.chain]).then(() => { if (this.error) throw this.error; });
  }

  /**
   * Commits the prepared transactions of checkpoints up to `checkpointId`. A gid leaves `pending` (and so the
   * checkpoints after this one) only once COMMIT PREPARED succeeded: were it dropped before, a later checkpoint
   * taken while the commit fails (the database down, a barrier with no rows and so no PREPARE to fail) would
   * complete without it, and a restore from that checkpoint would roll the completed transaction back.
   */
  override notifyCheckpointComplete(checkpointId: number): Promise<void> | undefined {
    const done = this.pending.filter((p) => p.checkpointId <= checkpointId && !this.committing.has(p.gid));
    if (done.length === 0) return undefined;
    for (const p of done) this.committing.add(p.gid);
    this.adminChain = this.adminChain.then(async () => {
      const admin = await this.adminConnection();
      for (const p of done) {
        faultPoint('jdbc.commit', p.gid);
        await this.commitPrepared(admin, p.gid);
        this.pending = this.pending.filter((x) => x.gid !== p.gid);
        this.committing.delete(p.gid);
      }
    }).catch((e) => this.setError(new FlinkError('job-failed', `Committing prepared transaction failed: ${describePgError(e, this.sink.connectionOptions).message}`, { cause: e })));
    // Rejects when the commit failed: after the final checkpoint the task must fail, not finish.
    return this.adminChain.then(() => { if (this.error) throw this.error; });
  }

  /** COMMIT PREPARED; a gid no longer prepared was committed already (this sink never rolls back a recorded one). */
  private async commitPrepared(admin: Client, gid: string): Promise<void> {
    try {
      await admin.query(`COMMIT PREPARED ${literal(gid)}`);
    } catch (e) {
      if ((e as { code?: string }).code !== '42704') throw e; // undefined_object: no such prepared transaction
    }
  }

  /**
   * End of a bounded input. Exactly once with a final checkpoint (FLIP-147): the last batches are executed in
   * the open transaction, which that checkpoint prepares and commits. Without one, it is committed now.
   */
  override endInput(): Promise<void> {
    this.flush();
    if (!this.sink.exactlyOnce || this.ctx.waitsForFinalCheckpoint) return this.chain.then(() => { if (this.error) throw this.error; });
    const open = this.inTransaction;
    this.inTransaction = false;
    const pending = this.pending;
    this.pending = [];
    this.chain = this.chain.then(async () => {
      if (open) await (await this.connection()).query('COMMIT');
      const admin = await this.adminConnection();
      await this.adminChain;
      for (const p of pending) await this.commitPrepared(admin, p.gid);
    });
    return this.chain.then(() => { if (this.error) throw this.error; });
  }

  override close(): void {
    // An open (unprepared) transaction is rolled back by PostgreSQL when its connection ends; prepared ones
    // stay for the restore to commit or roll back.
    const end = (c?: Promise<Client>) => void c?.then((x) => x.end()).catch(() => {});
    const c = this.client;
    const a = this.admin;
    void Promise.allSettled([this.chain, this.adminChain]).then(() => { end(c); end(a); });
  }
}
