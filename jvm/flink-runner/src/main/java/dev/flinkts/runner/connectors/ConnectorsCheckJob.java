package dev.flinkts.runner.connectors;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * A Java job over Connectors alone, without JavaScript, so the connector mapping is tested on a real cluster
 * by itself: `--source <descriptor json> --sink <descriptor json> [--transform T] [--checkpoint-interval ms]
 * [--parallelism n]`. T: `none` (raw records pass through), `base64` (each raw record as one base64 text line:
 * a file sink then holds what the JavaScript decode receives), `unbase64` (the reverse: lines of base64 become
 * raw sink records), `kafka-count` (Kafka records' values are words; keyed state counts them; out: key word,
 * value "word,count").
 */
public final class ConnectorsCheckJob {
    public static void main(String[] args) throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode source = null;
        JsonNode sink = null;
        String transform = "none";
        long interval = 0;
        int parallelism = -1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--source" -> source = json.readTree(args[i + 1]);
                case "--sink" -> sink = json.readTree(args[i + 1]);
                case "--transform" -> transform = args[i + 1];
                case "--checkpoint-interval" -> interval = Long.parseLong(args[i + 1]);
                case "--parallelism" -> parallelism = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("Unknown option " + args[i]);
            }
        }
        if (source == null || sink == null) throw new IllegalArgumentException("--source and --sink are required");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (interval > 0) env.enableCheckpointing(interval);
        if (parallelism > 0) env.setParallelism(parallelism);

        DataStream<byte[]> in = Connectors.source(env, source).uid("source");
        DataStream<byte[]> out = switch (transform) {
            case "none" -> in;
            case "base64" -> in.map(r -> Base64.getEncoder().encode(r)).returns(RawKafkaRecords.BYTES).uid("base64");
            case "unbase64" -> in.map(r -> Base64.getDecoder().decode(r)).returns(RawKafkaRecords.BYTES).uid("unbase64");
            case "kafka-count" -> in
                    .map(r -> new String(RawKafkaRecords.decodeConsumerRecord(r).value(), StandardCharsets.UTF_8)).returns(Types.STRING).uid("words")
                    .keyBy(w -> w, Types.STRING)
                    .process(new Count()).returns(RawKafkaRecords.BYTES).uid("count");
            default -> throw new IllegalArgumentException("Unknown --transform " + transform);
        };
        Connectors.sink(out, sink).uid("sink").name("sink");
        env.execute("connectors check (" + source.get("type").asText() + " -> " + transform + " -> " + sink.get("type").asText() + ")");
    }

    static final class Count extends KeyedProcessFunction<String, String, byte[]> {
        private transient ValueState<Long> count;

        @Override
        public void open(OpenContext ctx) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(String word, Context ctx, Collector<byte[]> out) throws Exception {
            long n = (count.value() == null ? 0 : count.value()) + 1;
            count.update(n);
            out.collect(RawKafkaRecords.encodeProducerRecord(word.getBytes(StandardCharsets.UTF_8), (word + "," + n).getBytes(StandardCharsets.UTF_8)));
        }
    }
}
