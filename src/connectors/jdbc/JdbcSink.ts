/**
 * Flink's JdbcSink for PostgreSQL, used with `stream.addSink(…)` or `stream.sinkTo(…)`:
 * - `JdbcSink.sink(sql, builder, executionOptions, connectionOptions)`: batches executed when full, every
 *   batch interval and at every checkpoint barrier before the acknowledgement: at least once (idempotent with
 *   `INSERT … ON CONFLICT … DO UPDATE`);
 * - `JdbcSink.exactlyOnceSink(sql, builder, executionOptions, exactlyOnceOptions, connectionOptions)`: one
 *   transaction per subtask and checkpoint, prepared (PREPARE TRANSACTION) at the barrier and committed
 *   (COMMIT PREPARED) when the checkpoint completes: Flink's XA sink on PostgreSQL's own two-phase commit.
 * See JdbcWriterOperator for the protocol.
 */
import type { Sink } from '../../api/sinks.js';
import { FlinkError } from '../../core/FlinkError.js';
import { JdbcConnectionOptions } from './JdbcConnectionOptions.js';
import { JdbcExactlyOnceOptions } from './JdbcExactlyOnceOptions.js';
import { JdbcExecutionOptions } from './JdbcExecutionOptions.js';
import { StatementTemplate, type JdbcStatementBuilder } from './JdbcStatement.js';
import { connect, describePgError } from './PostgresClients.js';

export class JdbcSink<T> implements Sink<T> {
  readonly kind = 'jdbc';
  readonly name: string;
  readonly template: StatementTemplate;

  private constructor(
    sql: string,
    readonly statementBuilder: JdbcStatementBuilder<T>,
    readonly executionOptions: JdbcExecutionOptions,
    readonly connectionOptions: JdbcConnectionOptions,
    readonly exactlyOnce?: JdbcExactlyOnceOptions,
  ) {
    this.template = new StatementTemplate(sql);
    this.name = exactlyOnce ? 'JdbcExactlyOnceSink' : 'JdbcSink';
  }

  static sink<T>(sql: string, statementBuilder: JdbcStatementBuilder<T>, executionOptions: JdbcExecutionOptions = JdbcExecutionOptions.defaults(),
    connectionOptions?: JdbcConnectionOptions): JdbcSink<T> {
    if (!connectionOptions) throw new FlinkError('invalid-argument', 'JdbcSink.sink: no connection options (JdbcConnectionOptionsBuilder().withUrl(...).build())');
    return new JdbcSink<T>(sql, statementBuilder, executionOptions, connectionOptions);
  }

  static exactlyOnceSink<T>(sql: string, statementBuilder: JdbcStatementBuilder<T>, executionOptions: JdbcExecutionOptions,
    exactlyOnceOptions: JdbcExactlyOnceOptions, connectionOptions: JdbcConnectionOptions): JdbcSink<T> {
    // As in Flink: a retried batch inside a transaction could apply twice.
    if (executionOptions.maxRetries > 0) throw new FlinkError('invalid-argument', `JdbcSink.exactlyOnceSink requires maxRetries = 0 (got ${executionOptions.maxRetries}): a retry could write a batch twice; failures are handled by the restart strategy`);
    return new JdbcSink<T>(sql, statementBuilder, executionOptions, connectionOptions, exactlyOnceOptions ?? JdbcExactlyOnceOptions.defaults());
  }

  /** Before deployment: the database answers with these credentials; exactly-once also needs two-phase commit enabled. */
  async preflight(): Promise<void> {
    const client = await connect(this.connectionOptions, 'flink-ts-preflight');
    try {
      if (!this.exactlyOnce) return;
      const r = await client.query<{ max_prepared_transactions: string }>('SHOW max_prepared_transactions');
      const max = Number(r.rows[0]?.max_prepared_transactions ?? 0);
      if (max === 0) {
        throw new FlinkError('config', `PostgreSQL at ${this.connectionOptions.endpoint} has max_prepared_transactions = 0: JdbcSink.exactlyOnceSink needs two-phase commit (set max_prepared_transactions to at least the sink's parallelism and restart the server)`);
      }
    } catch (e) {
      throw describePgError(e, this.connectionOptions);
    } finally {
      await client.end().catch(() => {});
    }
  }
}
