/**
 * Benchmark job (bench/kafka-pipeline.ts): "key,amount" records from Kafka → keyed running sum → "key,sum"
 * into Kafka with the given delivery guarantee; bounded at the input's end at start, so the run finishes.
 *   flink run bench/jobs/KafkaKeyedSum.ts --bootstrap h:p --input t --output t --guarantee EXACTLY_ONCE --prefix p
 */
import {
  DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetsInitializer, ParameterTool,
  SimpleStringSchema, StreamExecutionEnvironment, WatermarkStrategy,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const bootstrap = params.getRequired('bootstrap');

const source = KafkaSource.builder<string>()
  .setBootstrapServers(bootstrap)
  .setTopics(params.getRequired('input'))
  .setStartingOffsets(OffsetsInitializer.earliest())
  .setBounded(OffsetsInitializer.latest())
  .setValueOnlyDeserializer(new SimpleStringSchema())
  .build();

const sink = KafkaSink.builder<[string, number]>()
  .setBootstrapServers(bootstrap)
  .setRecordSerializer(KafkaRecordSerializationSchema.builder<[string, number]>()
    .setTopic(params.getRequired('output'))
    .setKeySerializationSchema(([k]) => k)
    .setValueSerializationSchema(([k, n]) => `${k},${n}`)
    .build())
  .setDeliveryGuarantee(params.get('guarantee', 'EXACTLY_ONCE') as DeliveryGuarantee)
  .setTransactionalIdPrefix(params.get('prefix', 'bench-sum'))
  .build();

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(source, WatermarkStrategy.noWatermarks(), 'kafka-in')
  .uid('kafka-in')
  .map((line: string): [string, number] => {
    const comma = line.indexOf(',');
    return [line.slice(0, comma), Number(line.slice(comma + 1))];
  })
  .uid('parse')
  .keyBy(([k]) => k)
  .sum(1)
  .uid('running-sum')
  .sinkTo(sink)
  .uid('kafka-out');
await env.execute('Kafka keyed running sum');
