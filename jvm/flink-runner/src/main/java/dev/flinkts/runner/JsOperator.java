package dev.flinkts.runner;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.State;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * One plan operator: a chain of JS nodes run by the TaskManager's Node.js worker (docs/flink-runner.md). Records are
 * buffered and sent in batches; a keyed operator sends with each batch the declared states of the batch's keys
 * (read from Flink's keyed state) and applies the worker's state writes before the next batch, so Flink's state is
 * exact after every batch. Batches are flushed when full, on a watermark, at end of input, before each barrier
 * (prepareSnapshotPreBarrier) and every FLUSH_INTERVAL_MS. One batch is in flight while the next is buffered (the
 * JVM and Node work at the same time); its result is applied before the next batch reads state and wherever Flink
 * must see all of it (watermarks, barriers, end of input).
 */
public class JsOperator extends AbstractStreamOperator<Tuple2<String, byte[]>>
        implements OneInputStreamOperator<Tuple2<String, byte[]>, Tuple2<String, byte[]>>, BoundedOneInput,
        org.apache.flink.streaming.api.operators.Triggerable<String, org.apache.flink.runtime.state.VoidNamespace> {
    private static final long serialVersionUID = 1L;
    private static final int BATCH_RECORDS = 4096;
    private static final int BATCH_BYTES = 1 << 20;
    private static final long FLUSH_INTERVAL_MS = 50;
    private static final TypeInformation<byte[]> BYTES = org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String operatorId;
    private final String planJson;
    /** The job bundle travels inside the JobGraph with the operator, so every TaskManager has it. */
    private final byte[] bundle;
    private final String bundleHash;

    private transient NodeWorker.Connection conn;
    private transient Frames.Payload batch;
    private transient int batchRecords;
    private transient Map<String, Integer> batchKeys;
    private transient List<String> keyList;
    /** The keys of the batch in flight (its RESULT not read yet; at most one). */
    private transient List<String> inFlightKeys;
    private transient boolean inFlight;
    private transient String[] stateNames;
    private transient String[] stateKinds;
    private transient State[] states;
    private transient Map<String, List<byte[]>> restoredOperatorState;
    private transient List<OutputTag<Tuple2<String, byte[]>>> sideOutputs;
    private transient StreamRecord<Tuple2<String, byte[]>> reuse;
    /** The worker's earliest processing-time callback (NO_TIMESTAMP: none): a due one is run by an empty batch. */
    private transient long nextTimer;
    /** The keyed chain's timers (Flink's KeyedProcessOperator names its service the same). */
    private transient org.apache.flink.streaming.api.operators.InternalTimerService<org.apache.flink.runtime.state.VoidNamespace> timers;
    static final byte DOMAIN_PROCESSING = 0;
    static final byte DOMAIN_EVENT = 1;

    public JsOperator(String operatorId, String planJson, byte[] bundle, String bundleHash) {
        this.operatorId = operatorId;
        this.planJson = planJson;
        this.bundle = bundle;
        this.bundleHash = bundleHash;
    }

    static String outputTagId(int output) {
        return "flink-ts-output-" + output;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        restoredOperatorState = new LinkedHashMap<>();
        for (String name : context.getOperatorStateStore().getRegisteredStateNames()) {
            List<byte[]> items = new ArrayList<>();
            for (byte[] b : operatorListState(name, false).get()) items.add(b);
            restoredOperatorState.put(name, items);
        }
    }

    /** Split (or, `union`, union) operator list state; a restored union state is found as such. */
    private ListState<byte[]> operatorListState(String name, boolean union) throws Exception {
        ListStateDescriptor<byte[]> d = new ListStateDescriptor<>(name, BYTES);
        if (union) return getOperatorStateBackend().getUnionListState(d);
        try {
            return getOperatorStateBackend().getListState(d);
        } catch (IllegalStateException e) {
            return getOperatorStateBackend().getUnionListState(d); // restored with mode UNION
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        JsonNode plan = JSON.readTree(planJson);
        JsonNode op = null;
        for (JsonNode o : plan.path("operators")) if (operatorId.equals(o.path("id").asText())) op = o;
        if (op == null) throw new IllegalStateException("flink-ts runner: operator " + operatorId + " is not in the plan");
        sideOutputs = new ArrayList<>();
        for (int i = 0; i < op.path("outputs").size(); i++) sideOutputs.add(i == 0 ? null : new OutputTag<>(outputTagId(i), RunnerMain.RECORD));
        String node = System.getenv().getOrDefault("FLINK_TS_NODE", "node");
        node = getContainingTask().getEnvironment().getTaskManagerInfo().getConfiguration()
            .get(org.apache.flink.configuration.ConfigOptions.key(NodeWorker.NODE_EXECUTABLE_KEY).stringType().defaultValue(node));
        conn = NodeWorker.connect(bundle, bundleHash, node);

        ObjectNode open = JSON.createObjectNode();
        open.put("operator", operatorId);
        open.set("programArgs", plan.path("programArgs"));
        open.put("subtask", getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        open.put("parallelism", getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks());
        open.put("maxParallelism", getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks());
        open.put("attempt", getRuntimeContext().getTaskInfo().getAttemptNumber());
        open.put("jobId", getRuntimeContext().getJobInfo().getJobId().toHexString());
        open.put("taskName", getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks());
        open.put("restored", getOperatorStateBackend() != null && !restoredOperatorState.isEmpty() || isRestored());
        ObjectNode opState = open.putObject("operatorState");
        for (Map.Entry<String, List<byte[]>> e : restoredOperatorState.entrySet()) {
            ArrayNode a = opState.putArray(e.getKey());
            for (byte[] b : e.getValue()) a.add(Base64.getEncoder().encodeToString(b));
        }
        addToOpen(open);
        Frames.write(conn.out, Frames.OPEN, open.toString());
        JsonNode opened = JSON.readTree(expect(Frames.OPENED).text());
        JsonNode declared = opened.path("states");
        stateNames = new String[declared.size()];
        stateKinds = new String[declared.size()];
        states = new State[declared.size()];
        for (int i = 0; i < declared.size(); i++) {
            stateNames[i] = declared.get(i).path("name").asText();
            stateKinds[i] = declared.get(i).path("kind").asText();
            states[i] = keyedState(stateNames[i], stateKinds[i], declared.get(i).path("ttl"));
        }
        batch = new Frames.Payload();
        batchKeys = new HashMap<>();
        keyList = new ArrayList<>();
        inFlightKeys = new ArrayList<>();
        reuse = new StreamRecord<>(null);
        nextTimer = Frames.NO_TIMESTAMP;
        if (isKeyed()) timers = getInternalTimerService("user-timers", org.apache.flink.runtime.state.VoidNamespaceSerializer.INSTANCE, this);
        scheduleFlush();
    }

    private boolean isRestored() {
        return getContainingTask().getEnvironment().getTaskStateManager().isTaskDeployedAsFinished() ? false
            : getContainingTask().getEnvironment().getTaskStateManager().getRestoreCheckpointId().isPresent();
    }

    /** Flink's keyed state behind a flink-ts state (layout in docs/flink-runner.md), with the state's TTL. */
    private State keyedState(String name, String kind, JsonNode ttl) {
        switch (kind) {
            case "list": {
                ListStateDescriptor<byte[]> d = new ListStateDescriptor<>(name, BYTES);
                if (ttl.isObject()) d.enableTimeToLive(ttlConfig(ttl));
                return getRuntimeContext().getListState(d);
            }
            case "map": {
                MapStateDescriptor<String, byte[]> d = new MapStateDescriptor<>(name, Types.STRING, BYTES);
                if (ttl.isObject()) d.enableTimeToLive(ttlConfig(ttl));
                return getRuntimeContext().getMapState(d);
            }
            default: { // value, reducing, aggregating: the value or accumulator
                ValueStateDescriptor<byte[]> d = new ValueStateDescriptor<>(name, BYTES);
                if (ttl.isObject()) d.enableTimeToLive(ttlConfig(ttl));
                return getRuntimeContext().getState(d);
            }
        }
    }

    /** flink-ts' StateTtlConfig as Flink's (processing time, as both have it). */
    private static org.apache.flink.api.common.state.StateTtlConfig ttlConfig(JsonNode t) {
        org.apache.flink.api.common.state.StateTtlConfig.Builder b = org.apache.flink.api.common.state.StateTtlConfig
            .newBuilder(java.time.Duration.ofMillis(t.path("ms").asLong()))
            .setUpdateType("OnReadAndWrite".equals(t.path("updateType").asText())
                ? org.apache.flink.api.common.state.StateTtlConfig.UpdateType.OnReadAndWrite
                : org.apache.flink.api.common.state.StateTtlConfig.UpdateType.OnCreateAndWrite)
            .setStateVisibility("ReturnExpiredIfNotCleanedUp".equals(t.path("visibility").asText())
                ? org.apache.flink.api.common.state.StateTtlConfig.StateVisibility.ReturnExpiredIfNotCleanedUp
                : org.apache.flink.api.common.state.StateTtlConfig.StateVisibility.NeverReturnExpired);
        if (t.path("cleanupFullSnapshot").asBoolean()) b.cleanupFullSnapshot();
        return b.build();
    }

    private void scheduleFlush() {
        long now = getProcessingTimeService().getCurrentProcessingTime();
        getProcessingTimeService().registerTimer(now + FLUSH_INTERVAL_MS, t -> {
            drain();
            flush();
            scheduleFlush();
        });
    }

    private Frames.Frame expect(byte type) throws IOException {
        Frames.Frame f = Frames.read(conn.in);
        if (f.type != type) throw new IOException("flink-ts runner: expected frame " + type + " from the worker, got " + f.type);
        return f;
    }

    /** Hook (JsBroadcastOperator): more fields of the OPEN frame. */
    protected void addToOpen(ObjectNode open) throws Exception {}

    /** Hook (JsBroadcastOperator): the SNAPSHOTTED frame, after the operator list states are written. */
    protected void snapshotted(JsonNode snap) throws Exception {}

    @Override
    public void processElement(StreamRecord<Tuple2<String, byte[]>> element) throws Exception {
        appendRecord(element, true);
    }

    /** A record of the next batch; `keyed` false: a record without key (the broadcast side of a keyed operator). */
    protected final void appendRecord(StreamRecord<Tuple2<String, byte[]>> element, boolean keyed) throws Exception {
        DataOutputStream d = batch.data;
        d.writeByte(Frames.EV_RECORD);
        d.writeLong(element.hasTimestamp() ? element.getTimestamp() : Frames.NO_TIMESTAMP);
        if (keyed && (states.length > 0 || isKeyed())) {
            d.writeInt(keyIndex(element.getValue().f0));
        } else {
            d.writeInt(-1);
        }
        Frames.writeBytes(d, element.getValue().f1);
        if (++batchRecords >= BATCH_RECORDS || batch.size() >= BATCH_BYTES) flush();
    }

    private int keyIndex(String key) {
        Integer idx = batchKeys.get(key);
        if (idx == null) {
            idx = keyList.size();
            batchKeys.put(key, idx);
            keyList.add(key);
        }
        return idx;
    }

    /** A timer Flink fired: a TIMER event of the next batch, its key's state prefetched with it. */
    private void appendTimer(String key, long time, byte domain) throws Exception {
        DataOutputStream d = batch.data;
        d.writeByte(Frames.EV_TIMER);
        d.writeLong(time);
        d.writeByte(domain);
        d.writeInt(keyIndex(key));
        if (++batchRecords >= BATCH_RECORDS) flush();
    }

    @Override
    public void onEventTime(org.apache.flink.streaming.api.operators.InternalTimer<String, org.apache.flink.runtime.state.VoidNamespace> timer) throws Exception {
        appendTimer(timer.getKey(), timer.getTimestamp(), DOMAIN_EVENT);
    }

    @Override
    public void onProcessingTime(org.apache.flink.streaming.api.operators.InternalTimer<String, org.apache.flink.runtime.state.VoidNamespace> timer) throws Exception {
        appendTimer(timer.getKey(), timer.getTimestamp(), DOMAIN_PROCESSING);
        flush();
    }

    private boolean isKeyed() {
        return getKeyedStateBackend() != null;
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        // Records before the watermark first (they may register timers), then the timers it fires, then the watermark.
        flush();
        drain();
        if (timeServiceManager != null) timeServiceManager.advanceWatermark(mark);
        batch.data.writeByte(Frames.EV_WATERMARK);
        batch.data.writeLong(mark.getTimestamp());
        batchRecords++;
        flush();
    }

    @Override
    public void endInput() throws Exception {
        batch.data.writeByte(Frames.EV_END_INPUT);
        batchRecords++;
        flush();
        drain();
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        flush();
        drain();
    }

    /** Sends the buffered events with the keys' state; emits what the worker returns and applies its state writes. */
    private void flush() throws Exception {
        if (batchRecords == 0 && (nextTimer == Frames.NO_TIMESTAMP || getProcessingTimeService().getCurrentProcessingTime() < nextTimer)) return;
        drain(); // its state writes first: this batch's keys may be among its keys
        Frames.Payload p = new Frames.Payload();
        DataOutputStream d = p.data;
        d.writeInt(keyList.size());
        for (String key : keyList) {
            Frames.writeString(d, key);
            if (states.length == 0) continue;
            setCurrentKey(key);
            for (int i = 0; i < states.length; i++) writeState(d, i);
        }
        d.writeInt(batchRecords);
        batch.writeTo(d);
        d.flush();
        Frames.write(conn.out, Frames.BATCH, p.buffer(), p.size());
        batch.reset();
        batchRecords = 0;
        // The batch is in flight: the task thread goes on buffering input while the worker runs it.
        List<String> sent = keyList;
        keyList = inFlightKeys;
        inFlightKeys = sent;
        batchKeys.clear();
        inFlight = true;
    }

    /**
     * Applies the in-flight batch's RESULT (state writes and timers into Flink, then its outputs); a no-op without
     * one. Called before the next batch reads state, and wherever Flink must see everything applied: watermarks,
     * barriers (prepareSnapshotPreBarrier), end of input, checkpoint notifications, finish.
     */
    private void drain() throws Exception {
        if (!inFlight) return;
        inFlight = false;
        List<String> keyList = inFlightKeys;
        Frames.Frame r = expect(Frames.RESULT);
        DataInputStream in = r.in();
        int writes = in.readInt();
        for (int w = 0; w < writes; w++) {
            int k = in.readInt();
            int s = in.readInt();
            setCurrentKey(keyList.get(k));
            readStateWrite(in, s);
        }
        int timerOps = in.readInt();
        for (int t = 0; t < timerOps; t++) {
            int k = in.readInt();
            byte domain = in.readByte();
            boolean register = in.readByte() == 1;
            long time = in.readLong();
            if (timers == null) throw new IllegalStateException("flink-ts runner: timers on a non-keyed operator");
            setCurrentKey(keyList.get(k));
            org.apache.flink.runtime.state.VoidNamespace ns = org.apache.flink.runtime.state.VoidNamespace.INSTANCE;
            if (domain == DOMAIN_EVENT) {
                if (register) timers.registerEventTimeTimer(ns, time);
                else timers.deleteEventTimeTimer(ns, time);
            } else if (register) {
                timers.registerProcessingTimeTimer(ns, time);
            } else {
                timers.deleteProcessingTimeTimer(ns, time);
            }
        }
        emitResult(in);
        nextTimer = in.readLong();
        keyList.clear();
    }

    private void emitResult(DataInputStream in) throws IOException {
        int events = in.readInt();
        for (int e = 0; e < events; e++) {
            byte tag = in.readByte();
            if (tag == Frames.EV_WATERMARK) {
                output.emitWatermark(new Watermark(in.readLong()));
                continue;
            }
            int outIdx = in.readShort();
            long ts = in.readLong();
            String key = Frames.readString(in);
            byte[] value = Frames.readBytes(in);
            Tuple2<String, byte[]> t = Tuple2.of(key == null ? "" : key, value);
            StreamRecord<Tuple2<String, byte[]>> rec = ts == Frames.NO_TIMESTAMP ? reuse.replace(t) : reuse.replace(t, ts);
            if (ts == Frames.NO_TIMESTAMP) rec.eraseTimestamp();
            if (outIdx == 0) output.collect(rec);
            else output.collect(sideOutputs.get(outIdx), rec);
        }
    }

    @SuppressWarnings("unchecked")
    private void writeState(DataOutputStream d, int i) throws Exception {
        switch (stateKinds[i]) {
            case "list": {
                Iterable<byte[]> items = ((ListState<byte[]>) states[i]).get();
                List<byte[]> l = new ArrayList<>();
                if (items != null) for (byte[] b : items) l.add(b);
                d.writeInt(l.size());
                for (byte[] b : l) Frames.writeBytes(d, b);
                break;
            }
            case "map": {
                MapState<String, byte[]> m = (MapState<String, byte[]>) states[i];
                List<Map.Entry<String, byte[]>> l = new ArrayList<>();
                for (Map.Entry<String, byte[]> e : m.entries()) l.add(e);
                d.writeInt(l.size());
                for (Map.Entry<String, byte[]> e : l) {
                    Frames.writeString(d, e.getKey());
                    Frames.writeBytes(d, e.getValue());
                }
                break;
            }
            default:
                Frames.writeBytes(d, ((ValueState<byte[]>) states[i]).value());
        }
    }

    /** A state write of the worker: -1 clears; else the whole new contents in writeState's format. */
    @SuppressWarnings("unchecked")
    private void readStateWrite(DataInputStream in, int i) throws Exception {
        int n = in.readInt();
        switch (stateKinds[i]) {
            case "list": {
                ListState<byte[]> s = (ListState<byte[]>) states[i];
                if (n < 0) {
                    s.clear();
                    return;
                }
                List<byte[]> l = new ArrayList<>(n);
                for (int j = 0; j < n; j++) l.add(Frames.readBytes(in));
                s.update(l);
                return;
            }
            case "map": {
                MapState<String, byte[]> s = (MapState<String, byte[]>) states[i];
                s.clear();
                for (int j = 0; j < n; j++) s.put(Frames.readString(in), Frames.readBytes(in));
                return;
            }
            default: {
                ValueState<byte[]> s = (ValueState<byte[]>) states[i];
                if (n < 0) {
                    s.clear();
                    return;
                }
                byte[] b = new byte[n];
                in.readFully(b);
                s.update(b);
            }
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        flush();
        drain();
        Frames.write(conn.out, Frames.SNAPSHOT, "{\"checkpointId\":" + context.getCheckpointId() + "}");
        JsonNode snap = JSON.readTree(expect(Frames.SNAPSHOTTED).text());
        JsonNode ops = snap.path("operatorState");
        for (java.util.Iterator<String> it = ops.fieldNames(); it.hasNext();) {
            String name = it.next();
            List<byte[]> items = new ArrayList<>();
            for (JsonNode b : ops.path(name)) items.add(Base64.getDecoder().decode(b.asText()));
            operatorListState(name, "UNION".equals(snap.path("modes").path(name).asText())).update(items);
        }
        snapshotted(snap);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        drain(); // its RESULT precedes the ACK on the socket
        Frames.write(conn.out, Frames.COMPLETE, "{\"checkpointId\":" + checkpointId + "}");
        expect(Frames.ACK);
    }

    @Override
    public void finish() throws Exception {
        flush();
        drain();
        super.finish();
    }

    @Override
    public void close() throws Exception {
        try {
            if (conn != null) {
                try {
                    Frames.write(conn.out, Frames.CLOSE, "{}");
                    expect(Frames.ACK);
                } catch (IOException e) {
                    // the worker is gone; nothing to close there
                }
                conn.close();
            }
        } finally {
            conn = null;
            super.close();
        }
    }
}
