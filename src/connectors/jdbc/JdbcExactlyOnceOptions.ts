/**
 * Flink's JdbcExactlyOnceOptions, for PostgreSQL's own two-phase commit instead of XA. The transaction id prefix
 * (our addition: XA ids have no prefix) names this sink's prepared transactions; a restore rolls back every
 * prepared transaction of the prefix that its checkpoint did not record, so two jobs must not share one.
 */
import { FlinkError } from '../../core/FlinkError.js';

export class JdbcExactlyOnceOptions {
  private constructor(readonly transactionIdPrefix: string, readonly recoveredAndRollback: boolean) {}
  static builder(): JdbcExactlyOnceOptionsBuilder {
    return new JdbcExactlyOnceOptionsBuilder();
  }
  static defaults(): JdbcExactlyOnceOptions {
    return new JdbcExactlyOnceOptionsBuilder().build();
  }
  /** @internal */
  static of(prefix: string, rollback: boolean): JdbcExactlyOnceOptions {
    return new JdbcExactlyOnceOptions(prefix, rollback);
  }
}

export class JdbcExactlyOnceOptionsBuilder {
  private prefix = 'flink-ts';
  private rollback = true;
  withTransactionIdPrefix(prefix: string): this {
    if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(prefix)) throw new FlinkError('invalid-argument', `JdbcExactlyOnceOptions: invalid transaction id prefix '${prefix}' (letters, digits, _ . : - only)`);
    this.prefix = prefix;
    return this;
  }
  /** Roll back this prefix's prepared transactions that the restored checkpoint did not record (default true). */
  withRecoveredAndRollback(rollback: boolean): this {
    this.rollback = rollback;
    return this;
  }
  build(): JdbcExactlyOnceOptions {
    return JdbcExactlyOnceOptions.of(this.prefix, this.rollback);
  }
}
