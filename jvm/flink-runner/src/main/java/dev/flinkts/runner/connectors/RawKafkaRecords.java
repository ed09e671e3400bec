package dev.flinkts.runner.connectors;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The raw record layouts between Flink's Kafka connector and the JavaScript side (docs/flink-runner.md,
 * "Connectors"). All integers big-endian; a length of -1 is a null key or value.
 *
 * Source record: int32 topic length, topic (UTF-8), int32 partition, int64 offset, int64 timestamp,
 * int32 key length, key, int32 value length, value. Sink record: int32 key length, key, int32 value length,
 * value (the topic is the descriptor's; the record's Flink timestamp becomes the Kafka timestamp).
 */
public final class RawKafkaRecords {
    private RawKafkaRecords() {}

    static final TypeInformation<byte[]> BYTES = PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;

    public static byte[] encodeConsumerRecord(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {
        byte[] t = topic.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + t.length + 4 + 8 + 8 + 4 + len(key) + 4 + len(value));
        b.putInt(t.length).put(t).putInt(partition).putLong(offset).putLong(timestamp);
        putBytes(b, key);
        putBytes(b, value);
        return b.array();
    }

    /** A sink record's key and value, as the JavaScript encode wrote them. */
    public record KeyValue(byte[] key, byte[] value) {}

    public static KeyValue decodeProducerRecord(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw);
        byte[] key = getBytes(b);
        byte[] value = getBytes(b);
        if (b.hasRemaining()) throw new IllegalArgumentException("Kafka sink record: " + b.remaining() + " bytes after the value");
        return new KeyValue(key, value);
    }

    public static byte[] encodeProducerRecord(byte[] key, byte[] value) {
        ByteBuffer b = ByteBuffer.allocate(4 + len(key) + 4 + len(value));
        putBytes(b, key);
        putBytes(b, value);
        return b.array();
    }

    /** The fields of a source record, for Java jobs that read the layout (the connectors' check job). */
    public record ConsumerFields(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {}

    public static ConsumerFields decodeConsumerRecord(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw);
        byte[] t = new byte[b.getInt()];
        b.get(t);
        int partition = b.getInt();
        long offset = b.getLong();
        long timestamp = b.getLong();
        return new ConsumerFields(new String(t, StandardCharsets.UTF_8), partition, offset, timestamp, getBytes(b), getBytes(b));
    }

    private static int len(byte[] a) {
        return a == null ? 0 : a.length;
    }

    private static void putBytes(ByteBuffer b, byte[] a) {
        if (a == null) b.putInt(-1);
        else b.putInt(a.length).put(a);
    }

    private static byte[] getBytes(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0) return null;
        byte[] a = new byte[n];
        b.get(a);
        return a;
    }

    /** Every consumer record, whole, in the source layout (the user's deserializer runs in JavaScript). */
    static final class Deserializer implements KafkaRecordDeserializationSchema<byte[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, Collector<byte[]> out) {
            out.collect(encodeConsumerRecord(r.topic(), r.partition(), r.offset(), r.timestamp(), r.key(), r.value()));
        }

        @Override
        public TypeInformation<byte[]> getProducedType() {
            return BYTES;
        }
    }

    /**
     * Sink layout to a ProducerRecord for `topic`; with recordTimestamps the record's Flink timestamp becomes the
     * Kafka timestamp (as Flink's own schema builder does), else the producer stamps it (as flink-ts' sink does).
     */
    static final class Serializer implements KafkaRecordSerializationSchema<byte[]> {
        private static final long serialVersionUID = 1L;
        private final String topic;
        private final boolean recordTimestamps;

        Serializer(String topic, boolean recordTimestamps) {
            this.topic = topic;
            this.recordTimestamps = recordTimestamps;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(byte[] raw, KafkaSinkContext context, Long timestamp) {
            KeyValue kv = decodeProducerRecord(raw);
            Long ts = !recordTimestamps || timestamp == null || timestamp < 0 ? null : timestamp;
            return new ProducerRecord<>(topic, null, ts, kv.key(), kv.value());
        }
    }
}
