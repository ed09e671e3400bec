/**
 * PostgresWordCount: lines → words → running counts → a PostgreSQL table, exactly-once (one transaction per
 * subtask and checkpoint, PREPARE TRANSACTION at the barrier, COMMIT PREPARED when the checkpoint completes).
 * The statement is an upsert, so `--guarantee AT_LEAST_ONCE` (JdbcSink.sink) gives the same table.
 *
 *   npm run postgres -- start          # a local throwaway cluster; prints its JDBC URL
 *   npm run -s postgres -- psql -c 'CREATE TABLE word_counts (word text PRIMARY KEY, cnt bigint NOT NULL)'
 *   npx flink run examples/PostgresWordCount.ts
 *   npm run -s postgres -- psql -c 'SELECT * FROM word_counts ORDER BY word'
 *
 * --url jdbc:postgresql://host:port/db (default: the cluster of `npm run postgres -- start`), --user, --password,
 * --guarantee EXACTLY_ONCE|AT_LEAST_ONCE, --interval ms (checkpoints, default 1000).
 */
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  JdbcConnectionOptions, JdbcExactlyOnceOptions, JdbcExecutionOptions, JdbcSink, ParameterTool, StreamExecutionEnvironment,
  type Collector, type JdbcStatementBuilder,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const local = join(process.env.FLINK_TS_POSTGRES_DIR ?? join(tmpdir(), 'flink-ts-postgres'), 'postgres.json');
const started = existsSync(local) ? (JSON.parse(readFileSync(local, 'utf8')) as { jdbcUrl: string; user: string; password: string }) : undefined;

const connection = new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
  .withUrl(params.get('url') ?? started?.jdbcUrl ?? 'jdbc:postgresql://127.0.0.1:5432/postgres')
  .withUsername(params.get('user') ?? started?.user ?? 'postgres')
  .withPassword(params.get('password') ?? started?.password ?? '')
  .build();

const sql = 'INSERT INTO word_counts (word, cnt) VALUES (?, ?) ON CONFLICT (word) DO UPDATE SET cnt = EXCLUDED.cnt';
const statement: JdbcStatementBuilder<[string, number]> = (ps, [word, count]) => {
  ps.setString(1, word);
  ps.setLong(2, count);
};
const sink = params.get('guarantee', 'EXACTLY_ONCE') === 'AT_LEAST_ONCE'
  ? JdbcSink.sink(sql, statement, JdbcExecutionOptions.builder().withBatchSize(1000).withBatchIntervalMs(200).withMaxRetries(3).build(), connection)
  : JdbcSink.exactlyOnceSink(sql, statement, JdbcExecutionOptions.builder().withMaxRetries(0).build(),
    JdbcExactlyOnceOptions.builder().withTransactionIdPrefix('word-count').build(), connection);

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.enableCheckpointing(params.getInt('interval', 1000));
env
  .fromElements('to be or not to be', 'that is the question')
  .flatMap((line: string, out: Collector<string>) => { for (const w of line.toLowerCase().split(/\W+/)) if (w) out.collect(w); })
  .map((w: string): [string, number] => [w, 1])
  .keyBy(([w]) => w)
  .sum(1)
  .addSink(sink);
await env.execute('PostgreSQL word count');
