package dev.flinkts.converter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.util.Collector;

/** Reads every keyed state of one operator (names and kinds from the savepoint's own meta data) back into dump records. */
final class DumpReaderFunction extends KeyedStateReaderFunction<String, DumpRecord> {
    private static final long serialVersionUID = 1L;
    private final Map<String, String> kinds;
    private final String uid;
    private transient List<Object[]> states;

    DumpReaderFunction(String uid, Map<String, String> kinds) {
        this.uid = uid;
        this.kinds = kinds;
    }

    @Override
    public void open(OpenContext ctx) {
        states = new ArrayList<>();
        for (Map.Entry<String, String> e : kinds.entrySet()) {
            String name = e.getKey();
            Object st = switch (e.getValue()) {
                case "list" -> getRuntimeContext().getListState(new ListStateDescriptor<>(name, DumpStateWriterOperator.BYTES));
                case "map" -> getRuntimeContext().getMapState(new MapStateDescriptor<>(name, Types.STRING, DumpStateWriterOperator.BYTES));
                default -> getRuntimeContext().getState(new ValueStateDescriptor<>(name, DumpStateWriterOperator.BYTES));
            };
            states.add(new Object[] {name, st});
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public void readKey(String key, Context ctx, Collector<DumpRecord> out) throws Exception {
        for (Object[] s : states) {
            String name = (String) s[0];
            if (s[1] instanceof ListState<?> ls) {
                Iterable<byte[]> it = ((ListState<byte[]>) ls).get();
                if (it != null) for (byte[] v : it) out.collect(rec(DumpRecord.KEYED_LIST_ELEMENT, name, key, "", v));
            } else if (s[1] instanceof MapState<?, ?> ms) {
                for (Map.Entry<String, byte[]> e : ((MapState<String, byte[]>) ms).entries()) {
                    out.collect(rec(DumpRecord.KEYED_MAP_ENTRY, name, key, e.getKey(), e.getValue()));
                }
            } else {
                byte[] v = ((ValueState<byte[]>) s[1]).value();
                if (v != null) out.collect(rec(DumpRecord.KEYED_VALUE, name, key, "", v));
            }
        }
        for (long t : ctx.registeredEventTimeTimers()) out.collect(timer(DumpRecord.EVENT_TIME, key, t));
        for (long t : ctx.registeredProcessingTimeTimers()) out.collect(timer(DumpRecord.PROCESSING_TIME, key, t));
    }

    private DumpRecord rec(byte type, String state, String key, String userKey, byte[] value) {
        return DumpRecord.of(type, uid, state, key, userKey, value);
    }

    private DumpRecord timer(byte domain, String key, long t) {
        DumpRecord r = new DumpRecord();
        r.type = DumpRecord.TIMER;
        r.domain = domain;
        r.key = key;
        r.time = t;
        r.route = uid;
        return r;
    }
}
