/**
 * Test job for per-partition watermarks: words from Kafka with their record timestamps as event time
 * (forBoundedOutOfOrderness(0), optionally withIdleness(--idle ms)), a count per word in 1 s tumbling
 * event-time windows, `<word>:<count>@<window start>` into --output (DeliveryGuarantee.NONE: visible at once).
 *   flink run -p 1 test/jobs/KafkaWindowJob.ts --bootstrap h:p --input t --output t [--idle ms]
 */
import {
  DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetsInitializer, ParameterTool,
  SimpleStringSchema, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const bootstrap = params.getRequired('bootstrap');
let strategy = WatermarkStrategy.forBoundedOutOfOrderness<string>(0);
if (params.has('idle')) strategy = strategy.withIdleness(params.getInt('idle'));

const source = KafkaSource.builder<string>()
  .setBootstrapServers(bootstrap)
  .setTopics(params.getRequired('input'))
  .setStartingOffsets(OffsetsInitializer.earliest())
  .setValueOnlyDeserializer(new SimpleStringSchema())
  .build();

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(source, strategy, 'words')
  .uid('words')
  .keyBy((w: string) => w)
  .window(TumblingEventTimeWindows.of(1000))
  .aggregate<[string, number], [string, number], string>({
    createAccumulator: () => ['', 0] as [string, number],
    add: (w: string, [, n]: [string, number]): [string, number] => [w, n + 1],
    getResult: (acc: [string, number]) => acc,
    merge: (a: [string, number], b: [string, number]): [string, number] => [a[0], a[1] + b[1]],
  }, (_key: string, ctx, [acc], out) => out.collect(`${acc[0]}:${acc[1]}@${ctx.window().getStart()}`))
  .uid('windows')
  .sinkTo(KafkaSink.builder<string>()
    .setBootstrapServers(bootstrap)
    .setRecordSerializer(KafkaRecordSerializationSchema.builder<string>().setTopic(params.getRequired('output')).setValueSerializationSchema(new SimpleStringSchema()).build())
    .setDeliveryGuarantee(DeliveryGuarantee.NONE)
    .build())
  .uid('out');
await env.execute('Kafka window job');
