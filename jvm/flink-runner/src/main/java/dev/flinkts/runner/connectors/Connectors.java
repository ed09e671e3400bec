package dev.flinkts.runner.connectors;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.Encoder;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.fs.Path;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.streaming.api.datastream.DataStreamSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.BasePathBucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.DefaultRollingPolicy;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * A plan node's "connector" descriptor (written by the TypeScript source's or sink's toFlinkConnector()) as
 * Flink's own connector: KafkaSource/KafkaSink, FileSource/FileSink, DataGeneratorSource. Records cross as
 * byte[] in the layouts of docs/flink-runner.md ("Connectors"); the JavaScript side decodes and encodes them.
 * Positions are the connectors' own split state (Kafka offsets, file positions, number-sequence splits), so
 * they live in Flink's checkpoints; the Kafka sink's transactions are Flink's.
 *
 * Sources have no watermarks here: the record timestamp is the connector's (Kafka: the record's timestamp;
 * files and generators: none), and the job's own WatermarkStrategy runs on the JavaScript side.
 * The caller sets uid, name and parallelism on what these return (a source's or sink's state is found by uid).
 */
public final class Connectors {
    private Connectors() {}

    public static DataStreamSource<byte[]> source(StreamExecutionEnvironment env, JsonNode d) {
        String kind = text(d, "type");
        String name = d.hasNonNull("name") ? d.get("name").asText() : kind;
        DataStreamSource<byte[]> s;
        switch (kind) {
            case "kafka-source" -> s = env.fromSource(kafkaSource(d), WatermarkStrategy.noWatermarks(), name);
            case "file-source" -> s = env.fromSource(fileSource(d), WatermarkStrategy.noWatermarks(), name);
            case "data-generator" -> {
                s = env.fromSource(dataGenerator(d), WatermarkStrategy.noWatermarks(), name);
                if (d.path("nonParallel").asBoolean(false)) s.setParallelism(1);
            }
            default -> throw new IllegalArgumentException("Unknown source connector type '" + kind + "'");
        }
        // The plan's uid (the runner core adds it): the source's split state is found by it on restore.
        if (d.hasNonNull("uid")) s.uid(d.get("uid").asText());
        return s;
    }

    public static DataStreamSink<byte[]> sink(DataStream<byte[]> stream, JsonNode d) {
        String kind = text(d, "type");
        DataStreamSink<byte[]> s = switch (kind) {
            case "kafka-sink" -> stream.sinkTo(kafkaSink(d));
            case "file-sink" -> stream.sinkTo(fileSink(d));
            default -> throw new IllegalArgumentException("Unknown sink connector type '" + kind + "'");
        };
        if (d.hasNonNull("name")) s.name(d.get("name").asText());
        // Kafka's transactional state and the file sink's pending files are found by this uid on restore.
        if (d.hasNonNull("uid")) s.uid(d.get("uid").asText());
        return s;
    }

    // --- Kafka -------------------------------------------------------------------------------------------

    static KafkaSource<byte[]> kafkaSource(JsonNode d) {
        KafkaSourceBuilder<byte[]> b = KafkaSource.<byte[]>builder();
        // Properties first: the explicit settings below win, as in KafkaSourceBuilder itself.
        b.setProperties(properties(d));
        b.setBootstrapServers(text(d, "bootstrapServers"));
        if (d.hasNonNull("topics")) {
            List<String> topics = new ArrayList<>();
            d.get("topics").forEach(t -> topics.add(t.asText()));
            b.setTopics(topics);
        } else if (d.hasNonNull("topicPattern")) {
            JsonNode p = d.get("topicPattern");
            // A JavaScript pattern matches anywhere in the name (RegExp.test); Flink's subscriber calls matches().
            int flags = p.path("flags").asText("").contains("i") ? Pattern.CASE_INSENSITIVE : 0;
            b.setTopicPattern(Pattern.compile("(?s).*(?:" + text(p, "source") + ").*", flags));
        } else {
            throw new IllegalArgumentException("kafka-source: neither topics nor topicPattern");
        }
        if (d.hasNonNull("groupId")) b.setGroupId(d.get("groupId").asText());
        b.setStartingOffsets(offsets(d.get("startingOffsets")));
        if (d.hasNonNull("stoppingOffsets")) b.setBounded(offsets(d.get("stoppingOffsets")));
        b.setDeserializer(new RawKafkaRecords.Deserializer());
        return b.build();
    }

    static OffsetsInitializer offsets(JsonNode o) {
        if (o == null || o.isNull()) return OffsetsInitializer.earliest();
        String kind = text(o, "kind");
        switch (kind) {
            case "earliest":
                return OffsetsInitializer.earliest();
            case "latest":
                return OffsetsInitializer.latest();
            case "timestamp":
                return OffsetsInitializer.timestamp(o.get("timestamp").asLong());
            case "committed":
                return OffsetsInitializer.committedOffsets(OffsetResetStrategy.valueOf(o.path("reset").asText("NONE")));
            default:
                throw new IllegalArgumentException("Unknown offsets initializer '" + kind + "'");
        }
    }

    static KafkaSink<byte[]> kafkaSink(JsonNode d) {
        DeliveryGuarantee guarantee = DeliveryGuarantee.valueOf(d.path("deliveryGuarantee").asText("NONE"));
        var b = KafkaSink.<byte[]>builder()
                .setKafkaProducerConfig(properties(d))
                .setBootstrapServers(text(d, "bootstrapServers"))
                .setRecordSerializer(new RawKafkaRecords.Serializer(text(d, "topic"), d.path("timestamps").asText("record").equals("record")))
                .setDeliveryGuarantee(guarantee);
        if (d.hasNonNull("transactionalIdPrefix")) b.setTransactionalIdPrefix(d.get("transactionalIdPrefix").asText());
        return b.build();
    }

    private static Properties properties(JsonNode d) {
        Properties p = new Properties();
        JsonNode props = d.get("properties");
        if (props != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                p.setProperty(e.getKey(), e.getValue().asText());
            }
        }
        return p;
    }

    // --- files -------------------------------------------------------------------------------------------

    static FileSource<byte[]> fileSource(JsonNode d) {
        List<Path> paths = new ArrayList<>();
        d.get("paths").forEach(p -> paths.add(new Path(p.asText())));
        if (paths.isEmpty()) throw new IllegalArgumentException("file-source: no paths");
        var b = FileSource.forRecordStreamFormat(new TextLineBytesFormat(), paths.toArray(new Path[0]));
        if (d.hasNonNull("monitorInterval")) b.monitorContinuously(Duration.ofMillis(d.get("monitorInterval").asLong()));
        return b.build();
    }

    static FileSink<byte[]> fileSink(JsonNode d) {
        JsonNode files = d.path("outputFileConfig");
        OutputFileConfig names = OutputFileConfig.builder()
                .withPartPrefix(files.path("partPrefix").asText("part"))
                .withPartSuffix(files.path("partSuffix").asText(""))
                .build();
        var b = FileSink.forRowFormat(new Path(text(d, "basePath")), new LineEncoder())
                .withBucketAssigner(new BasePathBucketAssigner<>())
                .withOutputFileConfig(names);
        JsonNode rolling = d.path("rolling");
        if (rolling.path("kind").asText("on-checkpoint").equals("default")) {
            var policy = DefaultRollingPolicy.builder();
            if (rolling.hasNonNull("partSize")) policy.withMaxPartSize(new org.apache.flink.configuration.MemorySize(rolling.get("partSize").asLong()));
            if (rolling.hasNonNull("rolloverInterval")) policy.withRolloverInterval(Duration.ofMillis(rolling.get("rolloverInterval").asLong()));
            if (rolling.hasNonNull("inactivityInterval")) policy.withInactivityInterval(Duration.ofMillis(rolling.get("inactivityInterval").asLong()));
            return b.withRollingPolicy(policy.build()).build();
        }
        return b.withRollingPolicy(OnCheckpointRollingPolicy.build()).build();
    }

    /** A sink record is one line's bytes (the JavaScript encoder's text, UTF-8); the '\n' is written here. */
    static final class LineEncoder implements Encoder<byte[]> {
        private static final long serialVersionUID = 1L;

        @Override
        public void encode(byte[] line, java.io.OutputStream out) throws java.io.IOException {
            out.write(line);
            out.write('\n');
        }
    }

    // --- data generator ------------------------------------------------------------------------------------

    /**
     * Flink's DataGeneratorSource over indexes `from` .. `from + count - 1`; each record is the index as int64.
     * The JavaScript side runs the user's generator (or picks the element, or is the number) for the index, so
     * the position is the generator's NumberSequenceSplit in Flink's checkpoint.
     */
    static DataGeneratorSource<byte[]> dataGenerator(JsonNode d) {
        JsonNode n = d.get("count");
        long count = n == null || n.isNull() ? Long.MAX_VALUE : n.asLong(); // Long.MAX_VALUE: unbounded
        long from = d.path("from").asLong(0);
        JsonNode rate = d.get("recordsPerSecond");
        RateLimiterStrategy<?> limiter = rate == null || rate.isNull() ? RateLimiterStrategy.noOp() : RateLimiterStrategy.perSecond(rate.asDouble());
        return new DataGeneratorSource<>(new IndexBytes(from), count, limiter, RawKafkaRecords.BYTES);
    }

    static final class IndexBytes implements GeneratorFunction<Long, byte[]> {
        private static final long serialVersionUID = 1L;
        private final long from;

        IndexBytes(long from) {
            this.from = from;
        }

        @Override
        public byte[] map(Long index) {
            return ByteBuffer.allocate(8).putLong(from + index).array();
        }
    }

    private static String text(JsonNode d, String field) {
        JsonNode v = d.get(field);
        if (v == null || v.isNull()) throw new IllegalArgumentException("connector descriptor: '" + field + "' is missing");
        return v.asText();
    }
}
