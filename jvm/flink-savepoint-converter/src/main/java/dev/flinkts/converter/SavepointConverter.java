package dev.flinkts.converter;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.core.memory.DataInputViewStreamWrapper;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.KeyedBackendSerializationProxy;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.OperatorStateHandle;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.runtime.state.metainfo.StateMetaInfoSnapshot;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.OperatorTransformation;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.SavepointWriter;
import org.apache.flink.state.api.SavepointWriterOperatorFactory;
import org.apache.flink.state.api.StateBootstrapTransformation;
import org.apache.flink.state.api.runtime.SavepointLoader;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.operators.SimpleOperatorFactory;
import org.apache.flink.util.CloseableIterator;

/**
 * flink-ts savepoint <-> Flink savepoint of a runner job, with Flink's State Processor API, between a dump folder
 * (manifest.json + one binary record file per operator; src/flink/SavepointDump.ts writes and reads the other end)
 * and a Flink savepoint directory. Runs Flink locally in this process; no cluster.
 *
 *   to-flink   <dumpDir> <savepointDir>         writes a new savepoint (HashMap state backend, canonical format)
 *   from-flink <savepointDir> <dumpDir> <uid>... reads the listed uids' state back into a dump; `uid=number-sequence`
 *                                               marks a data generator source (its splits are translated)
 *
 * Exit 0 on success; 1 with one line on stderr on failure (the stack trace too with FLINK_TS_VERBOSE=1).
 */
public final class SavepointConverter {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) {
        try {
            if (args.length >= 3 && args[0].equals("to-flink")) toFlink(Path.of(args[1]), args[2]);
            else if (args.length >= 3 && args[0].equals("from-flink")) fromFlink(args[1], Path.of(args[2]), List.of(args).subList(3, args.length));
            else throw new IllegalArgumentException("usage: to-flink <dumpDir> <savepointDir> | from-flink <savepointDir> <dumpDir> <uid>...");
            System.exit(0);
        } catch (Throwable e) {
            if ("1".equals(System.getenv("FLINK_TS_VERBOSE"))) e.printStackTrace();
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            String msg = root.getMessage() != null ? root.getMessage() : root.toString();
            System.err.println("flink-savepoint-converter: " + msg.lines().findFirst().orElse(msg));
            System.exit(1);
        }
    }

    /**
     * A local environment in STREAMING mode: BATCH would sort keyed input by key, which may reorder a key's
     * list elements; every input here is bounded either way.
     */
    private static StreamExecutionEnvironment localEnvironment() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        return env;
    }

    static void toFlink(Path dumpDir, String savepointDir) throws Exception {
        JsonNode manifest = JSON.readTree(dumpDir.resolve("manifest.json").toFile());
        long checkpointId = manifest.path("checkpointId").asLong(1);
        StreamExecutionEnvironment env = localEnvironment();
        SavepointWriter writer = SavepointWriter.newSavepoint(env, new HashMapStateBackend(), checkpointId, manifest.path("maxParallelism").asInt(128));
        int written = 0;
        Map<OperatorID, byte[]> coordinatorStates = new HashMap<>();
        for (JsonNode op : manifest.path("operators")) {
            String uid = op.path("uid").asText();
            int parallelism = op.path("parallelism").asInt(1);
            int maxParallelism = op.path("maxParallelism").asInt(128);
            List<DumpRecord> records = DumpFile.readAll(dumpDir.resolve(op.path("file").asText()));
            if (records.isEmpty()) continue;
            for (DumpRecord r : records) {
                if (r.type != DumpRecord.SOURCE_SPLIT) continue;
                r.type = DumpRecord.OPERATOR_LIST_ELEMENT;
                r.state = SourceSplits.READER_STATE;
                r.value = SourceSplits.readerStateEntry(r.userKey, r.time, r.to);
            }
            // Every split is with a reader (flink-ts has no enumerator): the enumerator's list is empty.
            if ("number-sequence".equals(op.path("sourceSplits").asText())) {
                coordinatorStates.put(OperatorIdentifier.forUid(uid).getOperatorId(), SourceSplits.coordinatorState(List.of()));
            }
            boolean keyed = records.stream().anyMatch(DumpRecord::isKeyed);
            String[] routes = keyed ? routeKeys(parallelism, maxParallelism) : null;
            for (DumpRecord r : records) {
                int subtask = r.subtask < 0 ? 0 : r.subtask % parallelism;
                r.subtask = subtask;
                r.route = r.isKeyed() ? r.key : keyed ? routes[subtask] : "";
            }
            // The writer runs at the operator's parallelism, so key groups are Flink's own ranges for it and
            // every old subtask's operator state lands in the subtask of the same index.
            // The bootstrap operator takes its input's parallelism: the records are first spread over `parallelism`
            // subtasks (by key, or by the subtask that held them), each channel in order, so a key's list
            // elements keep their order and the writer's key groups are Flink's own ranges at that parallelism.
            env.setParallelism(parallelism);
            DataStream<DumpRecord> data = env.fromData(records, TypeInformation.of(DumpRecord.class)).setParallelism(1);
            DataStream<DumpRecord> spread = (keyed
                    ? data.keyBy((DumpRecord r) -> r.route, Types.STRING).map((DumpRecord r) -> r)
                    : data.partitionCustom((Integer s, int n) -> s % n, (DumpRecord r) -> r.subtask).map((DumpRecord r) -> r))
                    .returns(DumpRecord.class).setParallelism(parallelism).setMaxParallelism(maxParallelism);
            // write() gives each bootstrap operator the environment's parallelism of that moment; the factory is
            // called right before the operator is added, so it sets the parallelism of its own operator.
            SavepointWriterOperatorFactory factory = (ts, path) -> {
                env.setParallelism(parallelism);
                return SimpleOperatorFactory.of(new DumpStateWriterOperator(checkpointId, ts, path));
            };
            StateBootstrapTransformation<DumpRecord> t;
            if (keyed) {
                t = OperatorTransformation.bootstrapWith(spread, checkpointId)
                        .setMaxParallelism(maxParallelism)
                        .keyBy((DumpRecord r) -> r.route, Types.STRING)
                        .transform(factory);
            } else {
                t = OperatorTransformation.bootstrapWith(spread, checkpointId)
                        .setMaxParallelism(maxParallelism)
                        .transform(factory);
            }
            writer.withOperator(OperatorIdentifier.forUid(uid), t);
            written++;
        }
        if (written == 0) throw new IllegalArgumentException("the savepoint holds no state of any operator with a uid; nothing to convert");
        writer.write(savepointDir);
        env.execute("flink-ts savepoint -> Flink savepoint");
        if (!coordinatorStates.isEmpty()) SourceSplits.writeCoordinatorStates(savepointDir, coordinatorStates);
    }

    /** For each subtask, a key whose key group that subtask owns: it carries the subtask's operator-state entries there. */
    static String[] routeKeys(int parallelism, int maxParallelism) {
        String[] out = new String[parallelism];
        int found = 0;
        for (int n = 0; found < parallelism; n++) {
            String k = "\u0002route-" + n;
            int s = KeyGroupRangeAssignment.assignKeyToParallelOperator(k, maxParallelism, parallelism);
            if (out[s] == null) {
                out[s] = k;
                found++;
            }
        }
        return out;
    }

    static void fromFlink(String savepointDir, Path dumpDir, List<String> uids) throws Exception {
        CheckpointMetadata md = SavepointLoader.loadSavepointMetadata(savepointDir);
        StreamExecutionEnvironment env = localEnvironment();
        env.setParallelism(1);
        SavepointReader reader = SavepointReader.read(env, savepointDir, new HashMapStateBackend());
        ObjectNode manifest = JSON.createObjectNode();
        manifest.put("formatVersion", 1);
        manifest.put("checkpointId", md.getCheckpointId());
        ArrayNode ops = manifest.putArray("operators");
        int maxParallelism = 1;
        List<DataStream<DumpRecord>> streams = new ArrayList<>();
        List<DumpRecord> pending = new ArrayList<>();
        Map<String, String> files = new LinkedHashMap<>();
        for (String arg : uids) {
            boolean numberSequence = arg.endsWith("=number-sequence");
            String uid = numberSequence ? arg.substring(0, arg.length() - "=number-sequence".length()) : arg;
            OperatorIdentifier id = OperatorIdentifier.forUid(uid);
            OperatorState os = md.getOperatorStates().stream().filter(o -> o.getOperatorID().equals(id.getOperatorId())).findFirst().orElse(null);
            if (os == null) continue;
            Map<String, String> keyed = new LinkedHashMap<>();
            Map<String, String> operator = new LinkedHashMap<>();
            boolean timers = describe(os, keyed, operator);
            List<DumpRecord> unassigned = new ArrayList<>();
            if (numberSequence) {
                operator.remove(SourceSplits.READER_STATE);
                if (os.getCoordinatorState() != null) {
                    for (NumberSequenceSource.NumberSequenceSplit sp : SourceSplits.fromCoordinatorState(os.getCoordinatorState().getData())) {
                        unassigned.add(split(uid, -1, sp));
                    }
                }
            }
            if (keyed.isEmpty() && operator.isEmpty() && !timers && !numberSequence) continue;
            String file = "op-" + files.size() + ".bin";
            files.put(uid, file);
            maxParallelism = Math.max(maxParallelism, os.getMaxParallelism());
            ObjectNode o = ops.addObject();
            o.put("uid", uid);
            o.put("parallelism", os.getParallelism());
            o.put("maxParallelism", os.getMaxParallelism());
            o.put("file", file);
            ObjectNode k = o.putObject("keyedStates");
            keyed.forEach(k::put);
            ObjectNode s = o.putObject("operatorStates");
            operator.forEach(s::put);
            if (numberSequence) {
                o.put("sourceSplits", "number-sequence");
                s.put(SourceSplits.READER_STATE, "SPLIT_DISTRIBUTE");
                pending.addAll(unassigned);
                streams.add(reader.readListState(id, SourceSplits.READER_STATE, DumpStateWriterOperator.BYTES)
                        .map((byte[] v) -> split(uid, -1, SourceSplits.fromReaderStateEntry(v))).returns(DumpRecord.class));
            }
            if (!keyed.isEmpty() || timers) {
                streams.add(reader.readKeyedState(id, new DumpReaderFunction(uid, keyed), Types.STRING, TypeInformation.of(DumpRecord.class)));
            }
            for (Map.Entry<String, String> e : operator.entrySet()) {
                String name = e.getKey();
                switch (e.getValue()) {
                    case "BROADCAST" -> streams.add(reader.readBroadcastState(id, name, Types.STRING, DumpStateWriterOperator.BYTES)
                            .map((Tuple2<String, byte[]> kv) -> opRecord(DumpRecord.BROADCAST_ENTRY, uid, name, kv.f0, kv.f1))
                            .returns(DumpRecord.class));
                    case "UNION" -> streams.add(reader.readUnionState(id, name, DumpStateWriterOperator.BYTES)
                            .map((byte[] v) -> opRecord(DumpRecord.UNION_LIST_ELEMENT, uid, name, "", v)).returns(DumpRecord.class));
                    default -> streams.add(reader.readListState(id, name, DumpStateWriterOperator.BYTES)
                            .map((byte[] v) -> opRecord(DumpRecord.OPERATOR_LIST_ELEMENT, uid, name, "", v)).returns(DumpRecord.class));
                }
            }
        }
        manifest.put("maxParallelism", maxParallelism);
        Files.createDirectories(dumpDir);
        Map<String, DumpFile.Writer> writers = new HashMap<>();
        try {
            for (Map.Entry<String, String> f : files.entrySet()) writers.put(f.getKey(), new DumpFile.Writer(dumpDir.resolve(f.getValue())));
            for (DumpRecord r : pending) writers.get(r.route).write(r);
            if (!streams.isEmpty()) {
                DataStream<DumpRecord> all = streams.get(0);
                for (int i = 1; i < streams.size(); i++) all = all.union(streams.get(i));
                try (CloseableIterator<DumpRecord> it = all.executeAndCollect("Flink savepoint -> flink-ts savepoint")) {
                    while (it.hasNext()) {
                        DumpRecord r = it.next();
                        writers.get(r.route).write(r);
                    }
                }
            }
        } finally {
            for (DumpFile.Writer w : writers.values()) w.close();
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(dumpDir.resolve("manifest.json").toFile(), manifest);
    }

    private static DumpRecord split(String uid, int subtask, NumberSequenceSource.NumberSequenceSplit sp) {
        DumpRecord r = new DumpRecord();
        r.type = DumpRecord.SOURCE_SPLIT;
        r.state = SourceSplits.READER_STATE;
        r.subtask = subtask;
        r.userKey = sp.splitId();
        r.time = sp.from();
        r.to = sp.to();
        r.route = uid;
        return r;
    }

    private static DumpRecord opRecord(byte type, String uid, String state, String userKey, byte[] value) {
        return DumpRecord.of(type, uid, state, "", userKey, value);
    }

    /**
     * The operator's state names and kinds as its savepoint records them: keyed states from the serialization
     * proxy at the head of a keyed state handle (a canonical savepoint's stream, or a native one's meta file),
     * operator states with their distribution mode. Returns whether the operator has timers.
     */
    static boolean describe(OperatorState os, Map<String, String> keyed, Map<String, String> operator) throws IOException {
        boolean timers = false;
        ClassLoader cl = SavepointConverter.class.getClassLoader();
        for (OperatorSubtaskState st : os.getStates()) {
            for (OperatorStateHandle h : st.getManagedOperatorState()) {
                h.getStateNameToPartitionOffsets().forEach((name, info) -> operator.put(name, info.getDistributionMode().name()));
            }
            for (KeyedStateHandle h : st.getManagedKeyedState()) {
                StreamStateHandle meta = h instanceof IncrementalRemoteKeyedStateHandle inc ? inc.getMetaDataStateHandle()
                        : h instanceof KeyGroupsStateHandle kg ? kg : null;
                if (meta == null) throw new IOException("unsupported keyed state handle " + h.getClass().getSimpleName() + " for operator " + os.getOperatorID());
                try (InputStream in = meta.openInputStream()) {
                    KeyedBackendSerializationProxy<?> proxy = new KeyedBackendSerializationProxy<>(cl);
                    proxy.read(new DataInputViewStreamWrapper(in));
                    for (StateMetaInfoSnapshot s : proxy.getStateMetaInfoSnapshots()) {
                        if (s.getBackendStateType() == StateMetaInfoSnapshot.BackendStateType.PRIORITY_QUEUE) {
                            timers |= s.getName().endsWith(DumpStateWriterOperator.USER_TIMERS);
                            continue;
                        }
                        String kind = s.getOption(StateMetaInfoSnapshot.CommonOptionsKeys.KEYED_STATE_TYPE);
                        switch (kind == null ? "" : kind) {
                            case "VALUE" -> keyed.put(s.getName(), "value");
                            case "LIST" -> keyed.put(s.getName(), "list");
                            case "MAP" -> keyed.put(s.getName(), "map");
                            default -> throw new IOException("state '" + s.getName() + "' has kind " + kind + ", which the flink-ts layout does not use");
                        }
                    }
                }
            }
        }
        return timers;
    }
}
