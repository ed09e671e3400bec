/**
 * KafkaWordCount: lines from a Kafka topic → words → running counts → "word,count" into another topic,
 * exactly-once (a Kafka transaction per subtask and checkpoint, committed when the checkpoint completes).
 *
 *   npm run kafka -- start                                   # a local broker; prints its bootstrap servers
 *   npm run kafka -- create-topic lines --partitions 2 && npm run kafka -- create-topic counts --partitions 2
 *   printf 'to be or not\nto be\n' | npm run kafka -- produce lines
 *   npx flink run examples/KafkaWordCount.ts --bounded      # reads what is there, commits, finishes
 *   npm run kafka -- consume counts                         # read_committed: every count once
 *
 * --bootstrap host:port (default: the broker of `npm run kafka -- start`), --input lines, --output counts,
 * --bounded (stop at the end of the input as it was at start), --interval ms (checkpoints, default 1000).
 */
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetsInitializer, ParameterTool,
  SimpleStringSchema, StreamExecutionEnvironment, WatermarkStrategy, type Collector,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const local = join(process.env.FLINK_TS_KAFKA_DIR ?? join(tmpdir(), 'flink-ts-kafka'), 'kafka.json');
const bootstrap = params.get('bootstrap') ?? (existsSync(local) ? (JSON.parse(readFileSync(local, 'utf8')) as { bootstrapServers: string }).bootstrapServers : '127.0.0.1:9092');

const source = KafkaSource.builder<string>()
  .setBootstrapServers(bootstrap)
  .setTopics(params.get('input', 'lines'))
  .setGroupId('kafka-word-count')
  .setStartingOffsets(OffsetsInitializer.earliest())
  .setValueOnlyDeserializer(new SimpleStringSchema());
if (params.has('bounded')) source.setBounded(OffsetsInitializer.latest());

const sink = KafkaSink.builder<[string, number]>()
  .setBootstrapServers(bootstrap)
  .setRecordSerializer(KafkaRecordSerializationSchema.builder<[string, number]>()
    .setTopic(params.get('output', 'counts'))
    .setKeySerializationSchema(([word]) => word)
    .setValueSerializationSchema(([word, count]) => `${word},${count}`)
    .build())
  .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
  .setTransactionalIdPrefix('kafka-word-count')
  .build();

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.enableCheckpointing(params.getInt('interval', 1000));
env
  .fromSource(source.build(), WatermarkStrategy.noWatermarks(), 'Kafka lines')
  .uid('kafka-lines')
  .flatMap((line: string, out: Collector<[string, number]>) => {
    for (const word of line.toLowerCase().split(/\W+/)) if (word) out.collect([word, 1]);
  })
  .name('tokenizer')
  .keyBy((t: [string, number]) => t[0])
  .sum(1)
  .name('counter')
  .uid('counter')
  .sinkTo(sink)
  .name('Kafka counts')
  .uid('kafka-counts');

await env.execute('KafkaWordCount');
