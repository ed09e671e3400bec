package dev.flinkts.converter;

import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.state.api.output.SnapshotUtils;
import org.apache.flink.state.api.output.TaggedOperatorSubtaskState;
import org.apache.flink.state.api.runtime.VoidTriggerable;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Writes one operator's dump records into Flink state with the descriptors of the runner's layout
 * (docs/flink-runner.md): keyed ValueState/ListState<byte[]>, MapState<String, byte[]>, timers in the
 * "user-timers" InternalTimerService (VoidNamespace), operator ListState / union ListState<byte[]>, and
 * broadcast MapState<String, byte[]>. At the end of its input it snapshots itself into the savepoint, as the
 * State Processor API's own bootstrap operators do; one operator covers keyed and operator state of a uid.
 */
final class DumpStateWriterOperator extends AbstractStreamOperator<TaggedOperatorSubtaskState>
        implements OneInputStreamOperator<DumpRecord, TaggedOperatorSubtaskState>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    static final TypeInformation<byte[]> BYTES = PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
    /** The timer service name of Flink's KeyedProcessOperator, which the runner's operator uses too. */
    static final String USER_TIMERS = "user-timers";

    private final long checkpointId;
    private final long timestamp;
    private final Path savepointPath;
    private transient InternalTimerService<VoidNamespace> timers;

    DumpStateWriterOperator(long checkpointId, long timestamp, Path savepointPath) {
        this.checkpointId = checkpointId;
        this.timestamp = timestamp;
        this.savepointPath = savepointPath;
    }

    @Override
    public void processElement(StreamRecord<DumpRecord> element) throws Exception {
        DumpRecord r = element.getValue();
        if (r.isKeyed()) {
            if (getKeyedStateBackend() == null) throw new IllegalStateException("keyed entry for a non-keyed operator");
            setCurrentKey(r.key);
        }
        switch (r.type) {
            case DumpRecord.KEYED_VALUE ->
                    getPartitionedState(new ValueStateDescriptor<>(r.state, BYTES)).update(r.value);
            case DumpRecord.KEYED_LIST_ELEMENT ->
                    getPartitionedState(new ListStateDescriptor<>(r.state, BYTES)).add(r.value);
            case DumpRecord.KEYED_MAP_ENTRY ->
                    getPartitionedState(new MapStateDescriptor<>(r.state, Types.STRING, BYTES)).put(r.userKey, r.value);
            case DumpRecord.TIMER -> {
                if (timers == null) timers = getInternalTimerService(USER_TIMERS, VoidNamespaceSerializer.INSTANCE, VoidTriggerable.instance());
                if (r.domain == DumpRecord.EVENT_TIME) timers.registerEventTimeTimer(VoidNamespace.INSTANCE, r.time);
                else timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, r.time);
            }
            case DumpRecord.OPERATOR_LIST_ELEMENT ->
                    getOperatorStateBackend().getListState(new ListStateDescriptor<>(r.state, BYTES)).add(r.value);
            case DumpRecord.UNION_LIST_ELEMENT ->
                    getOperatorStateBackend().getUnionListState(new ListStateDescriptor<>(r.state, BYTES)).add(r.value);
            case DumpRecord.BROADCAST_ENTRY ->
                    getOperatorStateBackend().getBroadcastState(new MapStateDescriptor<>(r.state, Types.STRING, BYTES)).put(r.userKey, r.value);
            default -> throw new IllegalStateException("unknown dump record type " + r.type);
        }
    }

    @Override
    public void endInput() throws Exception {
        Configuration job = getContainingTask().getJobConfiguration();
        TaggedOperatorSubtaskState state = SnapshotUtils.snapshot(
                checkpointId,
                this,
                getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                timestamp,
                CheckpointingOptions.getCheckpointingMode(job),
                CheckpointingOptions.isUnalignedCheckpointEnabled(job),
                getContainingTask().getConfiguration().getConfiguration(),
                savepointPath);
        output.collect(new StreamRecord<>(state));
    }
}
