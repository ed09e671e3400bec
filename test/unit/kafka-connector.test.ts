/**
 * The Kafka connectors' pure parts (no broker): Flink's partition-to-reader assignment, builder validation,
 * bootstrap parsing. The broker-backed behaviour is in test/e2e/kafka.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { brokersOf, javaHashCode, splitOwner } from '../../src/connectors/kafka/KafkaClients.js';
import { KafkaSource } from '../../src/connectors/kafka/KafkaSource.js';
import { DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, transactionTimeoutWarning } from '../../src/connectors/kafka/KafkaSink.js';
import { OffsetsInitializer } from '../../src/connectors/kafka/OffsetsInitializer.js';
import { SimpleStringSchema } from '../../src/connectors/kafka/serialization.js';

describe('Kafka connector: split assignment', () => {
  it("javaHashCode is Java's String.hashCode", () => {
    assert.equal(javaHashCode(''), 0);
    assert.equal(javaHashCode('abc'), 96354);
    assert.equal(javaHashCode('topic'), 110546223);
    assert.equal(javaHashCode('a-much-longer-topic-name-that-overflows'), (() => {
      let h = 0;
      for (const c of 'a-much-longer-topic-name-that-overflows') h = (h * 31 + c.charCodeAt(0)) % 2 ** 32;
      return h >= 2 ** 31 ? h - 2 ** 32 : h;
    })());
  });

  it("splitOwner is Flink's getSplitOwner: consecutive partitions round robin from the topic's start index", () => {
    for (const readers of [1, 2, 3, 5]) {
      const start = ((Math.imul(javaHashCode('orders'), 31) & 0x7fffffff) % readers);
      for (let p = 0; p < 12; p++) assert.equal(splitOwner('orders', p, readers), (start + p) % readers);
    }
  });

  it('every partition has exactly one owner and the initial discovery splits cover every subtask once', () => {
    const source = KafkaSource.builder<string>().setBootstrapServers('127.0.0.1:9092').setTopics('t').setValueOnlyDeserializer(new SimpleStringSchema()).build();
    const splits = source.initialSplits(3);
    assert.deepEqual(splits.map((s) => s.discover), [{ owner: 0, of: 3 }, { owner: 1, of: 3 }, { owner: 2, of: 3 }]);
    const owners = Array.from({ length: 7 }, (_, p) => splitOwner('t', p, 3));
    assert.ok(owners.every((o) => o >= 0 && o < 3));
  });
});

describe('Kafka connector: builders', () => {
  it('KafkaSource.build() names what is missing', () => {
    assert.throws(() => KafkaSource.builder().setTopics('t').setValueOnlyDeserializer(new SimpleStringSchema()).build(), /bootstrap servers/);
    assert.throws(() => KafkaSource.builder().setBootstrapServers('h:1').setValueOnlyDeserializer(new SimpleStringSchema()).build(), /no topics/);
    assert.throws(() => KafkaSource.builder().setBootstrapServers('h:1').setTopics('t').build(), /deserializer/);
    assert.throws(() => KafkaSource.builder().setBootstrapServers('h:1').setTopics('t').setValueOnlyDeserializer(new SimpleStringSchema())
      .setStartingOffsets(OffsetsInitializer.committedOffsets()).build(), /group id/);
    const s = KafkaSource.builder<string>().setBootstrapServers('h:1').setTopicPattern(/^in-/).setValueOnlyDeserializer(new SimpleStringSchema())
      .setBounded(OffsetsInitializer.latest()).build();
    assert.equal(s.bounded, true);
  });

  it('KafkaSink.build(): EXACTLY_ONCE needs a transactional id prefix; the serializer needs a topic and a value schema', () => {
    const ser = KafkaRecordSerializationSchema.builder<string>().setTopic('out').setValueSerializationSchema(new SimpleStringSchema()).build();
    assert.throws(() => KafkaSink.builder<string>().setBootstrapServers('h:1').setRecordSerializer(ser).setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE).build(), /transactional id prefix/);
    assert.throws(() => KafkaRecordSerializationSchema.builder<string>().setValueSerializationSchema(new SimpleStringSchema()).build(), /no topic/);
    assert.throws(() => KafkaRecordSerializationSchema.builder<string>().setTopic('out').build(), /value serializer/);
    const sink = KafkaSink.builder<string>().setBootstrapServers('h:1').setRecordSerializer(ser).build();
    assert.equal(sink.config.deliveryGuarantee, 'NONE'); // Flink's default
  });

  it('bootstrap servers are host:port lists', () => {
    assert.deepEqual(brokersOf('a:1, b:2'), ['a:1', 'b:2']);
    assert.throws(() => brokersOf('nohost'), /Invalid bootstrap.servers 'nohost'/);
    assert.throws(() => brokersOf(''), /Invalid bootstrap.servers/);
  });

  it('transaction.timeout.ms is checked against the checkpoint interval (EXACTLY_ONCE only)', () => {
    const ser = KafkaRecordSerializationSchema.builder<string>().setTopic('out').setValueSerializationSchema(new SimpleStringSchema()).build();
    const sink = (g: DeliveryGuarantee, timeout?: string) => {
      const b = KafkaSink.builder<string>().setBootstrapServers('h:1').setRecordSerializer(ser).setDeliveryGuarantee(g).setTransactionalIdPrefix('p');
      if (timeout) b.setProperty('transaction.timeout.ms', timeout);
      return b.build().config;
    };
    assert.equal(transactionTimeoutWarning(sink('EXACTLY_ONCE'), 1000), undefined, 'the default 900000 ms is ample for 1 s');
    assert.match(transactionTimeoutWarning(sink('EXACTLY_ONCE', '60000'), 60_000)!, /^KafkaSink\(out\) EXACTLY_ONCE: transaction\.timeout\.ms = 60000 ms is shorter than twice the checkpoint interval \(60000 ms\)/);
    assert.equal(transactionTimeoutWarning(sink('EXACTLY_ONCE', '120000'), 60_000), undefined);
    assert.match(transactionTimeoutWarning(sink('EXACTLY_ONCE'), undefined)!, /checkpointing is disabled/);
    assert.equal(transactionTimeoutWarning(sink('AT_LEAST_ONCE', '10'), 60_000), undefined);
    assert.throws(() => transactionTimeoutWarning(sink('EXACTLY_ONCE', 'soon'), 1000), /Invalid value 'soon' for transaction\.timeout\.ms/);
  });
});
