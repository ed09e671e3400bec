package dev.flinkts.runner;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Flink-native sources and sinks of a plan (a node's "connector" descriptor). `elements` (fromElements) is Flink's
 * fromData over the elements' V8 bytes; every other type is dev.flinkts.runner.connectors.Connectors'
 * (`DataStream<byte[]> source(env, descriptor)`, `void sink(DataStream<byte[]>, descriptor)`), looked up at run
 * time so the runner builds without it. The returned source gets the plan's uid and name unless it has them.
 */
final class NativeConnectors {
    private static final String CONNECTORS = "dev.flinkts.runner.connectors.Connectors";

    private NativeConnectors() {}

    /** `source`: the plan operator's {node, uid, descriptor}. */
    static DataStream<Tuple2<String, byte[]>> source(StreamExecutionEnvironment env, JsonNode source) {
        JsonNode d = source.path("descriptor");
        String uid = source.path("uid").asText();
        if ("elements".equals(d.path("type").asText())) {
            List<Tuple2<String, byte[]>> elements = new ArrayList<>();
            for (JsonNode e : d.path("elements")) elements.add(Tuple2.of("", Base64.getDecoder().decode(e.asText())));
            return env.fromData(elements, RunnerMain.RECORD).name("Collection Source").uid(uid).setParallelism(1);
        }
        DataStream<byte[]> raw = call("source", new Class<?>[] {StreamExecutionEnvironment.class, JsonNode.class}, env, withUid(d, source));
        if (raw instanceof SingleOutputStreamOperator<?> op && op.getTransformation().getUid() == null) op.uid(uid);
        return raw.map(b -> Tuple2.of("", b), RunnerMain.RECORD).name("flink-ts: records of " + uid);
    }

    static void sink(DataStream<Tuple2<String, byte[]>> encoded, JsonNode sink) {
        DataStream<byte[]> raw = encoded.map(t -> t.f1, org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO).name("flink-ts: bytes to " + sink.path("uid").asText());
        Object r = call("sink", new Class<?>[] {DataStream.class, JsonNode.class}, raw, withUid(sink.path("descriptor"), sink));
        if (r instanceof DataStreamSink<?> s && s.getTransformation().getUid() == null) s.uid(sink.path("uid").asText());
    }

    /** The descriptor with the plan's "uid" (and "node") added: the connector sets it on what it creates. */
    private static JsonNode withUid(JsonNode descriptor, JsonNode connector) {
        org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode o =
            ((org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode) descriptor).deepCopy();
        o.put("uid", connector.path("uid").asText());
        o.put("node", connector.path("node").asInt());
        return o;
    }

    @SuppressWarnings("unchecked")
    private static <T> T call(String method, Class<?>[] types, Object... args) {
        Class<?> c;
        try {
            c = Class.forName(CONNECTORS);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("flink-ts runner: this runner has no Flink connectors (" + CONNECTORS + "); connector " + ((JsonNode) args[1]).path("type").asText() + " cannot run");
        }
        try {
            Method m = c.getMethod(method, types);
            return (T) m.invoke(null, args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            Throwable t = e.getCause();
            if (t instanceof RuntimeException re) throw re;
            throw new IllegalStateException(t);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("flink-ts runner: " + CONNECTORS + "." + method + " is missing", e);
        }
    }
}
