package dev.flinkts.converter;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource.NumberSequenceSplit;
import org.apache.flink.core.io.SimpleVersionedSerialization;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;

/**
 * The data generator's position in Flink's own format. Flink's DataGeneratorSource is a NumberSequenceSource
 * underneath: each reader keeps its unfinished NumberSequenceSplits (id, next index, last index) in its operator
 * list state "SourceReaderState" (SimpleVersionedSerialization of the split), and the enumerator keeps the splits
 * no reader has taken yet in the source's coordinator state in `_metadata`. The State Processor API writes the
 * former but has no way to write coordinator state, so the converter rewrites `_metadata` afterwards with
 * Flink's own Checkpoints API (the SourceCoordinator's byte layout: serde version, serializer version, length,
 * the enumerator checkpoint). A missing coordinator state would make a fresh enumerator hand out every split again.
 */
final class SourceSplits {
    static final String READER_STATE = "SourceReaderState";
    private static final int COORDINATOR_SERDE_VERSION = 1;
    private static final NumberSequenceSource SOURCE = new NumberSequenceSource(0, 0);

    private SourceSplits() {}

    static byte[] readerStateEntry(String splitId, long from, long to) throws IOException {
        return SimpleVersionedSerialization.writeVersionAndSerialize(SOURCE.getSplitSerializer(), new NumberSequenceSplit(splitId, from, to));
    }

    static NumberSequenceSplit fromReaderStateEntry(byte[] bytes) throws IOException {
        return SimpleVersionedSerialization.readVersionAndDeSerialize(SOURCE.getSplitSerializer(), bytes);
    }

    static byte[] coordinatorState(Collection<NumberSequenceSplit> unassigned) throws IOException {
        SimpleVersionedSerializer<Collection<NumberSequenceSplit>> ser = SOURCE.getEnumeratorCheckpointSerializer();
        byte[] chk = ser.serialize(unassigned);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(COORDINATOR_SERDE_VERSION);
            out.writeInt(ser.getVersion());
            out.writeInt(chk.length);
            out.write(chk);
        }
        return bytes.toByteArray();
    }

    static Collection<NumberSequenceSplit> fromCoordinatorState(byte[] state) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(state))) {
            int serde = in.readInt();
            if (serde != COORDINATOR_SERDE_VERSION) throw new IOException("unsupported source coordinator state version " + serde);
            int version = in.readInt();
            byte[] chk = new byte[in.readInt()];
            in.readFully(chk);
            return new ArrayList<>(SOURCE.getEnumeratorCheckpointSerializer().deserialize(version, chk));
        }
    }

    /** Sets the coordinator state of these operators in the savepoint's `_metadata` (rewritten atomically). */
    static void writeCoordinatorStates(String savepointDir, Map<OperatorID, byte[]> states) throws IOException {
        Path file = Path.of(savepointDir, "_metadata");
        CheckpointMetadata md;
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            md = Checkpoints.loadCheckpointMetadata(in, SourceSplits.class.getClassLoader(), savepointDir);
        }
        List<OperatorID> missing = new ArrayList<>(states.keySet());
        for (OperatorState os : md.getOperatorStates()) {
            byte[] b = states.get(os.getOperatorID());
            if (b == null) continue;
            os.setCoordinatorState(new ByteStreamStateHandle("flink-ts-converted-enumerator-" + os.getOperatorID(), b));
            missing.remove(os.getOperatorID());
        }
        if (!missing.isEmpty()) throw new IOException("the written savepoint lacks the source operators " + missing);
        Path tmp = file.resolveSibling("._metadata.inprogress");
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(tmp))) {
            Checkpoints.storeCheckpointMetadata(md, out);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
