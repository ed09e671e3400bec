/**
 * Test job: words from a Kafka topic (bounded: up to the offsets latest at start) → keyed running count →
 * PostgreSQL, exactly once: JdbcSink.exactlyOnceSink with a plain INSERT of (word, n) into a table whose primary
 * key is (word, n), so a committed duplicate fails the job and a lost row is missing. A failure-free run leaves,
 * for a word seen n times, the rows (word, 1..n): the test's model.
 *   --bootstrap host:port --input t --url jdbc:postgresql://h:p/db --user u --password p --table t [--prefix p]
 */
import {
  JdbcConnectionOptions, JdbcExactlyOnceOptions, JdbcExecutionOptions, JdbcSink, KafkaSource, OffsetsInitializer, ParameterTool,
  SimpleStringSchema, StreamExecutionEnvironment, WatermarkStrategy,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const table = params.getRequired('table');

const source = KafkaSource.builder<string>()
  .setBootstrapServers(params.getRequired('bootstrap'))
  .setTopics(params.getRequired('input'))
  .setGroupId('kafka-postgres')
  .setStartingOffsets(OffsetsInitializer.earliest())
  .setBounded(OffsetsInitializer.latest())
  .setValueOnlyDeserializer(new SimpleStringSchema())
  .build();

const connection = new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
  .withUrl(params.getRequired('url'))
  .withUsername(params.get('user', 'postgres'))
  .withPassword(params.get('password', ''))
  .build();

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(source, WatermarkStrategy.noWatermarks(), 'words')
  .uid('kafka-words')
  .map((w: string): [string, number] => [w, 1])
  .uid('pair')
  .keyBy(([w]) => w)
  .sum(1)
  .uid('count')
  .addSink(JdbcSink.exactlyOnceSink<[string, number]>(
    `INSERT INTO ${table} (word, n) VALUES (?, ?)`,
    (ps, [w, n]) => { ps.setString(1, w); ps.setLong(2, n); },
    JdbcExecutionOptions.builder().withBatchSize(500).withMaxRetries(0).build(),
    JdbcExactlyOnceOptions.builder().withTransactionIdPrefix(params.get('prefix', 'kpg')).build(),
    connection))
  .uid('pg-out');
await env.execute('Kafka to PostgreSQL');
