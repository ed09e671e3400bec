/**
 * toFlinkConnector(): what each source and sink asks Flink's own connector to be (the descriptor
 * Connectors.java reads) and the JavaScript halves of the raw record layouts. The Java halves, against the
 * real connectors, broker and cluster, are in test/e2e/flink-connectors.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataGeneratorSource, FromElementsSource, NumberSequenceSource, RateLimiterStrategy, TextFileSource } from '../../src/api/sources.js';
import { FileSink } from '../../src/api/sinks.js';
import { decodeIndex, encodeIndex, type FlinkSourceConnector } from '../../src/core/FlinkConnector.js';
import { encode } from '../../src/core/Serializer.js';
import { KafkaSource } from '../../src/connectors/kafka/KafkaSource.js';
import { DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink } from '../../src/connectors/kafka/KafkaSink.js';
import { OffsetResetStrategy, OffsetsInitializer } from '../../src/connectors/kafka/OffsetsInitializer.js';
import { SimpleStringSchema, type ConsumerRecord } from '../../src/connectors/kafka/serialization.js';
import { decodeConsumerRecord, decodeProducerRecord, encodeConsumerRecord, encodeProducerRecord } from '../../src/connectors/kafka/FlinkKafkaRecords.js';

function decodeAll<T>(c: FlinkSourceConnector<T>, raw: Uint8Array): T[] {
  const out: T[] = [];
  assert.ok(c.decode, 'the connector decodes its raw records');
  c.decode(raw, (v) => out.push(v));
  return out;
}

describe('toFlinkConnector: Kafka', () => {
  it('the source descriptor carries servers, topics, group id, offsets, bounded and properties as Flink names them', () => {
    const src = KafkaSource.builder<string>().setBootstrapServers('127.0.0.1:9092').setTopics('a', 'b').setGroupId('g1')
      .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST)).setBounded(OffsetsInitializer.latest())
      .setProperty('isolation.level', 'read_committed').setProperty('partition.discovery.interval.ms', '1000')
      .setValueOnlyDeserializer(new SimpleStringSchema()).build();
    const d = src.toFlinkConnector().descriptor;
    assert.deepEqual(d, {
      type: 'kafka-source', name: 'KafkaSource(a,b)', bootstrapServers: '127.0.0.1:9092', topics: ['a', 'b'], groupId: 'g1',
      startingOffsets: { kind: 'committed', reset: 'EARLIEST' }, stoppingOffsets: { kind: 'latest' },
      properties: { 'isolation.level': 'read_committed', 'partition.discovery.interval.ms': '1000' },
    });
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d, 'the descriptor is plain JSON');
  });

  it('a topic pattern goes as its source and flags; unbounded sources have no stopping offsets', () => {
    const d = KafkaSource.builder<string>().setBootstrapServers('h:1').setTopicPattern(/^orders-\d+$/i)
      .setStartingOffsets(OffsetsInitializer.timestamp(1700000000000)).setValueOnlyDeserializer((b) => String(b)).build().toFlinkConnector().descriptor;
    assert.equal(d.type, 'kafka-source');
    if (d.type !== 'kafka-source') return;
    assert.deepEqual(d.topicPattern, { source: '^orders-\\d+$', flags: 'i' });
    assert.equal(d.topics, undefined);
    assert.equal(d.groupId, undefined);
    assert.deepEqual(d.startingOffsets, { kind: 'timestamp', timestamp: 1700000000000 });
    assert.equal(d.stoppingOffsets, undefined);
  });

  it("decode runs the user's record deserializer on the whole consumer record (key, value, topic, partition, offset, timestamp)", () => {
    const src = KafkaSource.builder<string>().setBootstrapServers('h:1').setTopics('t')
      .setDeserializer({ deserialize: (r: ConsumerRecord, out) => { for (const w of String(r.value).split(' ')) out.collect(`${r.topic}/${r.partition}@${r.offset}:${r.timestamp}:${r.key ?? '-'}:${w}`); } }).build();
    const c = src.toFlinkConnector();
    const raw = encodeConsumerRecord({ topic: 't', partition: 3, offset: 2 ** 40, timestamp: 1_700_000_000_123, key: Buffer.from('k'), value: Buffer.from('x y') });
    assert.deepEqual(decodeAll(c, raw), ['t/3@1099511627776:1700000000123:k:x', 't/3@1099511627776:1700000000123:k:y']);
    const nullKey = encodeConsumerRecord({ topic: 't', partition: 0, offset: 0, timestamp: -1, key: null, value: Buffer.from('z') });
    assert.deepEqual(decodeAll(c, nullKey), ['t/0@0:-1:-:z']);
  });

  it('the consumer record layout: big-endian fields, -1 for a null key or value, a view into the batch (no copy)', () => {
    const raw = encodeConsumerRecord({ topic: 'tö', partition: 1, offset: 5, timestamp: 6, key: null, value: null });
    assert.deepEqual([...raw], [0, 0, 0, 3, 0x74, 0xc3, 0xb6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6, 255, 255, 255, 255, 255, 255, 255, 255]);
    assert.deepEqual(decodeConsumerRecord(raw), { topic: 'tö', partition: 1, offset: 5, timestamp: 6, key: null, value: null });
    const batch = Buffer.concat([Buffer.from([9, 9]), encodeConsumerRecord({ topic: 'a', partition: 0, offset: 1, timestamp: 2, key: Buffer.from('kk'), value: Buffer.from('') })]);
    const r = decodeConsumerRecord(new Uint8Array(batch.buffer, batch.byteOffset + 2, batch.length - 2));
    assert.equal(r.key?.toString(), 'kk');
    assert.equal(r.value?.length, 0, 'an empty value is not null');
    assert.throws(() => decodeConsumerRecord(Buffer.concat([raw, Buffer.from([0])])), /layout/);
  });

  it('the sink descriptor carries servers, topic, guarantee, transactional id prefix and producer properties', () => {
    const sink = KafkaSink.builder<{ k: string; n: number }>().setBootstrapServers('127.0.0.1:9092')
      .setRecordSerializer(KafkaRecordSerializationSchema.builder<{ k: string; n: number }>().setTopic('out')
        .setKeySerializationSchema((v) => v.k).setValueSerializationSchema((v) => (v.n < 0 ? null : `${v.k}=${v.n}`)).build())
      .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE).setTransactionalIdPrefix('job-7').setProperty('transaction.timeout.ms', '60000').build();
    const c = sink.toFlinkConnector();
    assert.deepEqual(c.descriptor, {
      type: 'kafka-sink', name: 'KafkaSink(out)', bootstrapServers: '127.0.0.1:9092', topic: 'out', deliveryGuarantee: 'EXACTLY_ONCE',
      transactionalIdPrefix: 'job-7', properties: { 'transaction.timeout.ms': '60000' }, timestamps: 'producer',
    });
    const kv = decodeProducerRecord(c.encode!({ k: 'a', n: 2 }));
    assert.equal(kv.key?.toString(), 'a');
    assert.equal(kv.value?.toString(), 'a=2');
    assert.equal(decodeProducerRecord(c.encode!({ k: 'b', n: -1 })).value, null, 'a null value (tombstone) stays null');
  });

  it('without a key serializer the key is null; the producer record layout is key then value', () => {
    const c = KafkaSink.builder<string>().setBootstrapServers('h:1')
      .setRecordSerializer(KafkaRecordSerializationSchema.builder<string>().setTopic('o').setValueSerializationSchema(new SimpleStringSchema()).build()).build().toFlinkConnector();
    assert.deepEqual([...c.encode!('hi')], [255, 255, 255, 255, 0, 0, 0, 2, 0x68, 0x69]);
    assert.equal(c.descriptor.type === 'kafka-sink' && c.descriptor.deliveryGuarantee, 'NONE');
    assert.deepEqual([...encodeProducerRecord(Buffer.from('k'), null)], [0, 0, 0, 1, 0x6b, 255, 255, 255, 255]);
  });
});

describe('toFlinkConnector: data generator, sequence, elements', () => {
  it("DataGeneratorSource: Flink's DataGeneratorSource with the count and the rate; the generator runs on Flink's index", () => {
    const c = new DataGeneratorSource((i) => ({ id: i, even: i % 2 === 0 }), 1000, RateLimiterStrategy.perSecond(50)).toFlinkConnector();
    assert.deepEqual(c.descriptor, { type: 'data-generator', name: 'Data Generator', from: 0, count: 1000, recordsPerSecond: 50, nonParallel: false });
    assert.deepEqual(decodeAll(c, encodeIndex(7)), [{ id: 7, even: false }]);
  });

  it('an unbounded generator has count null (Long.MAX_VALUE on the Java side) and no rate limit', () => {
    const d = new DataGeneratorSource((i) => i).toFlinkConnector().descriptor;
    assert.equal(d.type === 'data-generator' && d.count, null);
    assert.equal(d.type === 'data-generator' && d.recordsPerSecond, null);
  });

  it('fromSequence is a generator from `from`, its records the numbers; indexes are big-endian int64', () => {
    const c = new NumberSequenceSource(-5, 2 ** 50).toFlinkConnector();
    assert.deepEqual(c.descriptor, { type: 'data-generator', name: 'Sequence Source', from: -5, count: 2 ** 50 + 6, recordsPerSecond: null, nonParallel: false });
    assert.deepEqual(decodeAll(c, encodeIndex(2 ** 50)), [2 ** 50]);
    assert.deepEqual([...encodeIndex(-2)], [255, 255, 255, 255, 255, 255, 255, 254]);
    assert.equal(decodeIndex(encodeIndex(-2)), -2);
    assert.throws(() => decodeIndex(new Uint8Array(4)), /8 bytes/);
  });

  it("fromElements is the runner core's own 'elements' (Flink's fromData over V8 bytes): no decode, the default V8 one applies", () => {
    const c = new FromElementsSource([{ a: 1 }, 'b']).toFlinkConnector();
    assert.deepEqual(c.descriptor, { type: 'elements', elements: [encode({ a: 1 }).toString('base64'), encode('b').toString('base64')] });
    assert.equal(c.decode, undefined);
  });
});

describe('toFlinkConnector: files', () => {
  it('readTextFile: a FileSource over the absolute path; records are UTF-8 lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flink-connectors-'));
    writeFileSync(join(dir, 'in.txt'), 'x\n');
    const c = new TextFileSource(`file://${dir}`).toFlinkConnector();
    assert.deepEqual(c.descriptor, { type: 'file-source', name: `FileSource(file://${dir})`, paths: [`file://${dir}`] });
    assert.deepEqual(decodeAll(c, Buffer.from('grüße', 'utf8')), ['grüße']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('FileSink: base path, on-checkpoint rolling, part- prefix; a record is the encoded line without its newline', () => {
    const c = FileSink.forRowFormat<{ a: number }>('/tmp/out', (v) => `a=${v.a}`).build().toFlinkConnector();
    assert.deepEqual(c.descriptor, {
      type: 'file-sink', name: 'FileSink(/tmp/out)', basePath: 'file:///tmp/out', rolling: { kind: 'on-checkpoint' }, outputFileConfig: { partPrefix: 'part', partSuffix: '' },
    });
    assert.equal(Buffer.from(c.encode!({ a: 1 })).toString(), 'a=1');
  });
});
