package dev.flinkts.runner;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.CheckpointConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.OutputTag;

/**
 * The generic runner of a flink-ts job (docs/flink-runner.md): `--plan <gzip+base64 JSON>` (src/flink/FlinkPlan.ts)
 * and `--bundle <gzip+base64 ESM>` (the job and flink-ts in one file). Each plan operator becomes one JsOperator
 * (its chain of JS nodes, run by the TaskManager's Node.js worker); keyBy edges become keyBy on the String key the
 * upstream JS computed; Flink-native sources and sinks come from Connectors. `--plan-file`/`--bundle-file` read
 * local files instead (tests, debugging).
 */
public final class RunnerMain {
    /** Records between Flink operators: (Flink key or "", V8 bytes of the value); the timestamp is Flink's own. */
    public static final TypeInformation<Tuple2<String, byte[]>> RECORD = Types.TUPLE(Types.STRING, Types.PRIMITIVE_ARRAY(Types.BYTE));

    private RunnerMain() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = parseArgs(args);
        byte[] planBytes = a.containsKey("--plan-file") ? Files.readAllBytes(Path.of(a.get("--plan-file"))) : gunzip(a.get("--plan"));
        byte[] bundle = a.containsKey("--bundle-file") ? Files.readAllBytes(Path.of(a.get("--bundle-file"))) : gunzip(a.get("--bundle"));
        if (planBytes == null || bundle == null) throw new IllegalArgumentException("flink-ts runner: --plan and --bundle are required");
        JsonNode plan = new ObjectMapper().readTree(planBytes);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        build(env, plan, bundle);
        env.execute(plan.path("jobName").asText("Flink Streaming Job"));
    }

    static Map<String, String> parseArgs(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) m.put(args[i], args[i + 1]);
        return m;
    }

    static byte[] gunzip(String b64) throws IOException {
        if (b64 == null) return null;
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(b64)))) {
            return in.readAllBytes();
        }
    }

    static final int PLAN_VERSION = 1;

    /** Builds the job of `plan` on `env`. */
    public static void build(StreamExecutionEnvironment env, JsonNode plan, byte[] bundle) {
        if (plan.path("version").asInt() != PLAN_VERSION) {
            throw new IllegalArgumentException("flink-ts runner: plan version " + plan.path("version") + " is not " + PLAN_VERSION + " (runner and CLI of different versions)");
        }
        configure(env, plan);
        String bundleHash = Hashes.sha256(bundle);
        String planJson = plan.toString();
        Map<String, List<DataStream<Tuple2<String, byte[]>>>> outputs = new HashMap<>();
        for (JsonNode op : plan.path("operators")) {
            String id = op.path("id").asText();
            SingleOutputStreamOperator<Tuple2<String, byte[]>> out;
            if (op.path("broadcast").asBoolean()) {
                // connect(broadcastStream): a two-input operator, input 2 broadcast and never keyed (Flink's own shape)
                DataStream<Tuple2<String, byte[]>> in2 = union(plan, op, outputs, 2).broadcast();
                DataStream<Tuple2<String, byte[]>> in1 = union(plan, op, outputs, 1);
                JsBroadcastOperator js = new JsBroadcastOperator(id, planJson, bundle, bundleHash);
                out = (op.path("keyed").asBoolean() ? in1.keyBy(t -> t.f0, Types.STRING).connect(in2) : in1.connect(in2))
                    .transform(op.path("name").asText(), RECORD, js).uid(op.path("uid").asText());
            } else {
                DataStream<Tuple2<String, byte[]>> input = input(env, plan, op, outputs);
                JsOperator js = new JsOperator(id, planJson, bundle, bundleHash);
                out = input.transform(op.path("name").asText(), RECORD, js).uid(op.path("uid").asText());
                if (!op.hasNonNull("parallelism") && op.path("source").hasNonNull("node") && input.getParallelism() == 1 && isNonParallelSource(op)) out.setParallelism(1);
            }
            if (op.hasNonNull("parallelism")) out.setParallelism(op.path("parallelism").asInt());
            if (op.hasNonNull("maxParallelism")) out.setMaxParallelism(op.path("maxParallelism").asInt());
            List<DataStream<Tuple2<String, byte[]>>> outs = new ArrayList<>();
            int n = op.path("outputs").size();
            for (int i = 0; i < n; i++) outs.add(i == 0 ? out : out.getSideOutput(new OutputTag<>(JsOperator.outputTagId(i), RECORD)));
            outputs.put(id, outs);
            if (!op.path("sink").isNull() && op.has("sink")) NativeConnectors.sink(out, op.path("sink"));
        }
    }

    /** The union of the operator's inputs of one type number (1 or 2), rebalanced or forwarded as the plan says. */
    private static DataStream<Tuple2<String, byte[]>> union(JsonNode plan, JsonNode op, Map<String, List<DataStream<Tuple2<String, byte[]>>>> outputs, int typeNumber) {
        DataStream<Tuple2<String, byte[]>> in = null;
        for (JsonNode i : op.path("inputs")) {
            if (i.path("typeNumber").asInt(1) != typeNumber) continue;
            DataStream<Tuple2<String, byte[]>> s = outputs.get(i.path("from").asText()).get(i.path("output").asInt());
            if ("rebalance".equals(i.path("partitioner").asText())) s = s.rebalance();
            else if ("forward".equals(i.path("partitioner").asText()) && !op.path("keyed").asBoolean() && typeNumber == 1) s = s.forward();
            in = in == null ? s : in.union(s);
        }
        if (in == null) throw new IllegalArgumentException("flink-ts runner: operator " + op.path("name").asText() + " has no input " + typeNumber);
        return in;
    }

    private static boolean isNonParallelSource(JsonNode op) {
        return "elements".equals(op.path("source").path("descriptor").path("type").asText());
    }

    /** The operator's input: its native source, or the union of its upstream outputs, partitioned as the plan says. */
    private static DataStream<Tuple2<String, byte[]>> input(StreamExecutionEnvironment env, JsonNode plan, JsonNode op, Map<String, List<DataStream<Tuple2<String, byte[]>>>> outputs) {
        if (op.has("source") && !op.path("source").isNull()) return NativeConnectors.source(env, op.path("source"));
        DataStream<Tuple2<String, byte[]>> in = null;
        boolean keyed = op.path("keyed").asBoolean();
        for (JsonNode i : op.path("inputs")) {
            DataStream<Tuple2<String, byte[]>> s = outputs.get(i.path("from").asText()).get(i.path("output").asInt());
            switch (i.path("partitioner").asText()) {
                case "rebalance": s = s.rebalance(); break;
                case "broadcast": s = s.broadcast(); break;
                case "forward": if (!keyed) s = s.forward(); break;
                default: break; // hash: keyBy after the union
            }
            in = in == null ? s : in.union(s);
        }
        if (in == null) throw new IllegalArgumentException("flink-ts runner: operator " + op.path("name").asText() + " has no input");
        return keyed ? in.keyBy(t -> t.f0, Types.STRING) : in;
    }

    private static void configure(StreamExecutionEnvironment env, JsonNode plan) {
        if (plan.hasNonNull("parallelism")) env.setParallelism(plan.path("parallelism").asInt());
        if (plan.hasNonNull("maxParallelism")) env.setMaxParallelism(plan.path("maxParallelism").asInt());
        if (plan.hasNonNull("autoWatermarkInterval")) env.getConfig().setAutoWatermarkInterval(plan.path("autoWatermarkInterval").asLong());
        JsonNode cp = plan.path("checkpointing");
        if (cp.hasNonNull("interval")) {
            CheckpointingMode mode = "AT_LEAST_ONCE".equals(cp.path("mode").asText()) ? CheckpointingMode.AT_LEAST_ONCE : CheckpointingMode.EXACTLY_ONCE;
            env.enableCheckpointing(cp.path("interval").asLong(), mode);
        }
        CheckpointConfig cc = env.getCheckpointConfig();
        if (cp.hasNonNull("timeout")) cc.setCheckpointTimeout(cp.path("timeout").asLong());
        if (cp.hasNonNull("minPause")) cc.setMinPauseBetweenCheckpoints(cp.path("minPause").asLong());
        if (cp.hasNonNull("maxConcurrent")) cc.setMaxConcurrentCheckpoints(cp.path("maxConcurrent").asInt());
        if (cp.hasNonNull("unaligned")) cc.enableUnalignedCheckpoints(cp.path("unaligned").asBoolean());
        if (cp.hasNonNull("tolerableFailures")) cc.setTolerableCheckpointFailureNumber(cp.path("tolerableFailures").asInt());
        if (cp.hasNonNull("retention")) {
            cc.setExternalizedCheckpointRetention(org.apache.flink.configuration.ExternalizedCheckpointRetention.valueOf(cp.path("retention").asText()));
        }
        JsonNode sb = plan.path("stateBackend");
        if (sb.isObject()) {
            org.apache.flink.configuration.Configuration c = new org.apache.flink.configuration.Configuration();
            c.setString("state.backend.type", sb.path("type").asText());
            if (sb.hasNonNull("incremental")) c.setString("execution.checkpointing.incremental", sb.path("incremental").asText());
            env.configure(c);
        }
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
