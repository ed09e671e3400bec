package dev.flinkts.converter;

/**
 * One entry of the neutral savepoint dump (docs/flink-runner.md, "Savepoint conversion"), as the TypeScript side
 * (src/flink/SavepointDump.ts) writes and reads it. A public POJO so Flink serializes it with its PojoSerializer.
 * `route` is the Flink key the record travels under: the entry's own key for keyed entries, a key of the target
 * subtask's key-group range for operator-state entries (so they reach the subtask that owned them).
 */
public class DumpRecord {
    public static final byte KEYED_VALUE = 1;
    public static final byte KEYED_LIST_ELEMENT = 2;
    public static final byte KEYED_MAP_ENTRY = 3;
    public static final byte TIMER = 4;
    public static final byte OPERATOR_LIST_ELEMENT = 5;
    public static final byte UNION_LIST_ELEMENT = 6;
    public static final byte BROADCAST_ENTRY = 7;
    /** A number-sequence source split (the data generator): split id in `userKey`, range [time, to]. */
    public static final byte SOURCE_SPLIT = 8;

    public static final byte EVENT_TIME = 0;
    public static final byte PROCESSING_TIME = 1;

    public byte type;
    /** State name (descriptor name); for TIMER the domain in `domain`. */
    public String state = "";
    /** encodeKey(jsKey) for keyed entries and timers. */
    public String key = "";
    /** Map state: encodeKey(userKey); broadcast state: encodeKey(key). */
    public String userKey = "";
    /** Operator state: the subtask that held the entry (-1: unknown, distribute). */
    public int subtask = -1;
    public byte domain;
    public long time;
    public long to;
    public byte[] value = new byte[0];
    public String route = "";

    public DumpRecord() {}

    boolean isKeyed() {
        return type == KEYED_VALUE || type == KEYED_LIST_ELEMENT || type == KEYED_MAP_ENTRY || type == TIMER;
    }

    /** A state entry of the operator `route` (the uid); `key`/`userKey` "" where the entry has none. */
    public static DumpRecord of(byte type, String route, String state, String key, String userKey, byte[] value) {
        DumpRecord r = new DumpRecord();
        r.type = type;
        r.state = state;
        r.key = key;
        r.userKey = userKey;
        r.value = value;
        r.route = route;
        return r;
    }
}
