/**
 * Test job: indices 0..count-1 (GatedSequenceSource: held at --hold-at until --gate exists) → key `k<i % keys>` →
 * keyed running count → PostgreSQL.
 * - `--mode exactly-once`: JdbcSink.exactlyOnceSink with a plain INSERT of (key, seq) into a table whose primary
 *   key is (key, seq): a committed duplicate is a constraint violation (the job fails), a lost row is missing.
 * - `--mode upsert`: JdbcSink.sink, INSERT … ON CONFLICT (key) DO UPDATE keeping the highest count (at least once).
 * A failure-free run leaves, per key seen n times, the rows (key, 1..n) resp. (key, n): the test's model.
 *   --url jdbc:postgresql://h:p/db --user u --password p --table t [--mode exactly-once|upsert] [--count N] [--keys K]
 *   [--gate file --hold-at N] [--prefix p]
 */
import {
  JdbcConnectionOptions, JdbcExactlyOnceOptions, JdbcExecutionOptions, JdbcSink, ParameterTool, StreamExecutionEnvironment, WatermarkStrategy,
} from 'flink-ts';
import { GatedSequenceSource } from './lib/GatedSequenceSource.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 20_000);
const keys = params.getInt('keys', 50);
const table = params.getRequired('table');
const mode = params.get('mode', 'exactly-once');
const gate = params.has('gate') ? params.getRequired('gate') : undefined;

const connection = new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
  .withUrl(params.getRequired('url'))
  .withUsername(params.get('user', 'postgres'))
  .withPassword(params.get('password', ''))
  .withConnectionCheckTimeoutSeconds(10)
  .build();

const sink = mode === 'upsert'
  ? JdbcSink.sink<[string, number]>(
    `INSERT INTO ${table} (key, cnt) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET cnt = GREATEST(${table}.cnt, EXCLUDED.cnt)`,
    (ps, [k, n]) => { ps.setString(1, k); ps.setLong(2, n); },
    JdbcExecutionOptions.builder().withBatchSize(1000).withBatchIntervalMs(200).withMaxRetries(3).build(),
    connection)
  : JdbcSink.exactlyOnceSink<[string, number]>(
    `INSERT INTO ${table} (key, seq) VALUES (?, ?)`,
    (ps, [k, n]) => { ps.setString(1, k); ps.setLong(2, n); },
    JdbcExecutionOptions.builder().withBatchSize(1000).withMaxRetries(0).build(),
    JdbcExactlyOnceOptions.builder().withTransactionIdPrefix(params.get('prefix', 'pgcount')).build(),
    connection);

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new GatedSequenceSource<number>(count, params.getInt('hold-at', count), gate), WatermarkStrategy.noWatermarks(), 'indices')
  .uid('indices')
  .map((i: number): [string, number] => [`k${i % keys}`, 1])
  .uid('pair')
  .keyBy(([k]) => k)
  .sum(1)
  .uid('count')
  .addSink(sink)
  .uid('pg-out');
await env.execute('PostgreSQL count');
