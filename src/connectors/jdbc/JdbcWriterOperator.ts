/**
 * The JdbcSink in a subtask. Records become statements (JdbcStatement), executed a batch at a time, in order,
 * on one connection:
 * - at least once: a batch is executed when full, every batch interval, at every barrier (the checkpoint is
 *   acknowledged only after it) and at the end of input; a failed batch is retried up to maxRetries times on
 *   a new connection.
 * - exactly once (TwoPhaseCommittingSinkOperator): the batches since the last barrier form one transaction; at
 *   the barrier of checkpoint N it is prepared as `<prefix>-<job>-<subtask>-<N>` (the committable, recorded in
 *   the checkpoint); a second connection runs COMMIT PREPARED when N completes (it cannot run on a connection
 *   inside a transaction). A restore commits the recorded gids still prepared and rolls back every other
 *   prepared transaction of the prefix that one of the subtasks it takes over (old subtask s with
 *   s % parallelism == this subtask) left behind.
 */
import type { Client } from 'pg';
import type { ListState } from '../../api/state.js';
import { FlinkError } from '../../core/FlinkError.js';
import { TwoPhaseCommittingSinkOperator } from '../../operators/TwoPhaseCommittingSinkOperator.js';
import type { JdbcSink } from './JdbcSink.js';
import { connect, describePgError } from './PostgresClients.js';
import { literal } from './JdbcStatement.js';

/** Beyond this many statements not yet executed the task stops feeding the sink. */
const MAX_IN_FLIGHT_BATCHES = 4;

/** Union list state: every subtask sees every entry, so a rescaled restore finds all prepared transactions. */
interface JdbcWriterState {
  subtask: number;
  pending: { checkpointId: number; gid: string }[];
}

/** The committable: a prepared transaction's gid. */
export class JdbcWriterOperator<T> extends TwoPhaseCommittingSinkOperator<T, string> {
  protected readonly faultPointPrefix = 'jdbc';
  private state?: ListState<JdbcWriterState>;
  private buffer: string[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private client?: Promise<Client>;
  private admin?: Promise<Client>;
  private inTransaction = false;
  private inFlight = 0;
  private timerArmed = false;

  constructor(private readonly sink: JdbcSink<T>) {
    super();
  }

  protected get twoPhase(): boolean {
    return !!this.sink.exactlyOnce;
  }

  private get prefix(): string {
    return this.sink.exactlyOnce!.transactionIdPrefix;
  }

  private gid(checkpointId: number): string {
    return `${this.prefix}-${this.ctx.jobId.slice(0, 12)}-${this.ctx.subtask}-${checkpointId}`;
  }

  protected override setError(e: unknown): void {
    super.setError(describePgError(e, this.sink.connectionOptions));
  }

  protected describe(gid: string): string {
    return `prepared transaction ${gid}`;
  }

  protected override commitFailed(gid: string, e: unknown): Error {
    return new FlinkError('job-failed', `Committing prepared transaction ${gid} failed: ${describePgError(e, this.sink.connectionOptions).message}`, { cause: e });
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

  protected write(v: T): void {
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
  protected flush(): void {
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
    if (was && !this.backpressured) this.ctx.resume(); // feed us again
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

  /** PREPARE TRANSACTION of the batches since the last barrier (undefined when none began). */
  protected prepareCommit(checkpointId: number): string | undefined {
    if (!this.inTransaction) return undefined;
    const gid = this.gid(checkpointId);
    this.inTransaction = false;
    this.chain = this.chain.then(async () => {
      await (await this.connection()).query(`PREPARE TRANSACTION ${literal(gid)}`);
    });
    this.chain.catch((e) => this.setError(e));
    return gid;
  }

  protected storeState(): void {
    this.state?.update([{ subtask: this.ctx.subtask, pending: this.pending.map((p) => ({ checkpointId: p.checkpointId, gid: p.committable })) }]);
  }

  /** Every batch up to now is executed (and, exactly once, the barrier's transaction prepared). */
  protected preCommitted(): Promise<void> {
    return Promise.all([this.recovery, this.chain]).then(() => undefined);
  }

  /** COMMIT PREPARED; a gid no longer prepared was committed already (this sink never rolls back a recorded one). */
  protected async commit(gid: string): Promise<void> {
    const admin = await this.adminConnection();
    try {
      await admin.query(`COMMIT PREPARED ${literal(gid)}`);
    } catch (e) {
      if ((e as { code?: string }).code !== '42704') throw e; // 42704: no such prepared transaction
    }
  }

  /** Without a final checkpoint: the open transaction commits as it is (no PREPARE needed). */
  protected commitOpenAtEndOfInput(): Promise<void> {
    const open = this.inTransaction;
    this.inTransaction = false;
    this.chain = this.chain.then(async () => { if (open) await (await this.connection()).query('COMMIT'); });
    return this.chain.then(() => undefined);
  }

  override close(): void {
    // An open (unprepared) transaction is rolled back by PostgreSQL when its connection ends; prepared ones
    // stay for the restore to commit or roll back.
    const end = (c?: Promise<Client>) => void c?.then((x) => x.end()).catch(() => {});
    const c = this.client;
    const a = this.admin;
    void Promise.allSettled([this.chain, this.commitsSettled]).then(() => { end(c); end(a); });
  }
}
