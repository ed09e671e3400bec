/**
 * Test job: words from a Kafka topic → keyed running count → "word:count" into another topic, with the
 * KafkaSink's delivery guarantee from --guarantee. A failure-free run writes, for a word seen n times,
 * exactly the records word:1 … word:n, whatever the parallelism: the test's model of the output.
 *   --bootstrap host:port --input t --output t [--guarantee EXACTLY_ONCE] [--bounded] [--group g] [--prefix p]
 *   [--discovery ms] (partition.discovery.interval.ms) [--poison word] (its deserializer throws on that record)
 *   [--transaction-timeout ms] (the sink's transaction.timeout.ms)
 */
import {
  DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetsInitializer, ParameterTool,
  SimpleStringSchema, StreamExecutionEnvironment, WatermarkStrategy,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const bootstrap = params.getRequired('bootstrap');
const guarantee = params.get('guarantee', 'EXACTLY_ONCE') as DeliveryGuarantee;

const builder = KafkaSource.builder<string>()
  .setBootstrapServers(bootstrap)
  .setTopics(params.getRequired('input'))
  .setGroupId(params.get('group', 'kafka-count'))
  .setStartingOffsets(OffsetsInitializer.earliest())
  .setProperty('request.timeout.ms', params.get('timeout', '10000'));
const poison = params.get('poison', '');
const text = new SimpleStringSchema();
builder.setValueOnlyDeserializer(poison
  ? (bytes: Buffer | null) => {
    const w = text.deserialize(bytes);
    if (w === poison) throw new Error(`unparseable word '${w}'`);
    return w;
  }
  : text);
if (params.has('bounded')) builder.setBounded(OffsetsInitializer.latest());
if (params.has('discovery')) builder.setProperty('partition.discovery.interval.ms', params.getRequired('discovery'));

const sink = KafkaSink.builder<[string, number]>()
  .setBootstrapServers(bootstrap)
  .setRecordSerializer(KafkaRecordSerializationSchema.builder<[string, number]>()
    .setTopic(params.getRequired('output'))
    .setKeySerializationSchema(([w]) => w)
    .setValueSerializationSchema(([w, n]) => `${w}:${n}`)
    .build())
  .setDeliveryGuarantee(guarantee)
  .setTransactionalIdPrefix(params.get('prefix', 'kafka-count'))
  .setProperty('request.timeout.ms', params.get('timeout', '10000'))
  .setProperty('transaction.timeout.ms', params.get('transaction-timeout', '900000'))
  .build();

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(builder.build(), WatermarkStrategy.noWatermarks(), 'words')
  .uid('kafka-words')
  .map((w: string): [string, number] => [w, 1])
  .uid('pair')
  .keyBy(([w]) => w)
  .sum(1)
  .uid('count')
  .sinkTo(sink)
  .uid('kafka-out');
await env.execute('Kafka count');
