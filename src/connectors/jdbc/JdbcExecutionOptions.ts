/** Flink's JdbcExecutionOptions: when a batch of statements is executed, and how often a failed batch is retried. */
import { FlinkError } from '../../core/FlinkError.js';

export class JdbcExecutionOptions {
  static readonly DEFAULT_SIZE = 5000;
  private constructor(readonly batchSize: number, readonly batchIntervalMs: number, readonly maxRetries: number) {}

  static builder(): JdbcExecutionOptionsBuilder {
    return new JdbcExecutionOptionsBuilder();
  }
  static defaults(): JdbcExecutionOptions {
    return new JdbcExecutionOptionsBuilder().build();
  }
  /** @internal */
  static of(batchSize: number, batchIntervalMs: number, maxRetries: number): JdbcExecutionOptions {
    return new JdbcExecutionOptions(batchSize, batchIntervalMs, maxRetries);
  }
}

export class JdbcExecutionOptionsBuilder {
  private size = JdbcExecutionOptions.DEFAULT_SIZE;
  private intervalMs = 0;
  private retries = 3;
  withBatchSize(size: number): this {
    if (!Number.isInteger(size) || size < 1) throw new FlinkError('invalid-argument', `JdbcExecutionOptions: batch size must be a positive integer, got ${size}`);
    this.size = size;
    return this;
  }
  /** 0: no timed flush (batches are executed when full, at every checkpoint barrier and at the end of input). */
  withBatchIntervalMs(ms: number): this {
    if (!Number.isFinite(ms) || ms < 0) throw new FlinkError('invalid-argument', `JdbcExecutionOptions: batch interval must be >= 0 ms, got ${ms}`);
    this.intervalMs = ms;
    return this;
  }
  withMaxRetries(retries: number): this {
    if (!Number.isInteger(retries) || retries < 0) throw new FlinkError('invalid-argument', `JdbcExecutionOptions: max retries must be >= 0, got ${retries}`);
    this.retries = retries;
    return this;
  }
  build(): JdbcExecutionOptions {
    return JdbcExecutionOptions.of(this.size, this.intervalMs, this.retries);
  }
}
