package dev.flinkts.runner;

import java.util.Base64;
import java.util.Iterator;
import java.util.Map;

import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * A JsOperator whose head is `connect(broadcastStream).process(...)`: input 1 is the (keyed or not) stream, input 2
 * the broadcast stream, as Flink's CoBroadcastWith(Non)KeyedOperator. Broadcast state is Flink's own:
 * MapStateDescriptor&lt;String, byte[]&gt; named as the flink-ts descriptor, keys encodeKey(k), values V8 bytes
 * (docs/flink-runner.md). The worker holds the live copy (it changes only on the broadcast side, identically on every
 * subtask); restored Flink broadcast state goes to the worker in OPEN, the worker's copy comes back in SNAPSHOTTED and
 * replaces Flink's before Flink snapshots its operator state, so checkpoints and savepoints hold it and, on any
 * parallelism, Flink gives every subtask one copy.
 */
public final class JsBroadcastOperator extends JsOperator
        implements TwoInputStreamOperator<Tuple2<String, byte[]>, Tuple2<String, byte[]>, Tuple2<String, byte[]>> {
    private static final long serialVersionUID = 1L;

    private transient int endedInputs;

    public JsBroadcastOperator(String operatorId, String planJson, byte[] bundle, String bundleHash) {
        super(operatorId, planJson, bundle, bundleHash);
    }

    static MapStateDescriptor<String, byte[]> descriptor(String name) {
        return new MapStateDescriptor<>(name, Types.STRING, org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
    }

    @Override
    public void processElement1(StreamRecord<Tuple2<String, byte[]>> element) throws Exception {
        appendRecord(element, true);
    }

    /** The broadcast side: no key (its records carry the input-2 marker from upstream). */
    @Override
    public void processElement2(StreamRecord<Tuple2<String, byte[]>> element) throws Exception {
        appendRecord(element, false);
    }

    /** Flink calls endInput() once per input of a BoundedOneInput; the chain's end of input is after both. */
    @Override
    public void endInput() throws Exception {
        if (++endedInputs == 2) super.endInput();
    }

    @Override
    protected void addToOpen(ObjectNode open) throws Exception {
        ObjectNode bs = open.putObject("broadcastState");
        for (String name : getOperatorStateBackend().getRegisteredBroadcastStateNames()) {
            ArrayNode a = bs.putArray(name);
            for (Map.Entry<String, byte[]> e : getOperatorStateBackend().getBroadcastState(descriptor(name)).entries()) {
                a.addArray().add(e.getKey()).add(Base64.getEncoder().encodeToString(e.getValue()));
            }
        }
    }

    @Override
    protected void snapshotted(JsonNode snap) throws Exception {
        JsonNode bs = snap.path("broadcastState");
        for (Iterator<String> it = bs.fieldNames(); it.hasNext();) {
            String name = it.next();
            BroadcastState<String, byte[]> s = getOperatorStateBackend().getBroadcastState(descriptor(name));
            s.clear();
            for (JsonNode e : bs.path(name)) s.put(e.get(0).asText(), Base64.getDecoder().decode(e.get(1).asText()));
        }
    }
}
