package dev.flinkts.converter;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The binary records of one operator in a dump folder: `u8 type` then fields by type, strings as `u32 length |
 * UTF-8`, byte arrays as `u32 length | bytes`, big-endian (src/flink/SavepointDump.ts is the other end).
 *   1 value:     state, key, value          2 list element: state, key, value     3 map entry: state, key, userKey, value
 *   4 timer:     u8 domain, key, i64 time   5 list element:  state, i32 subtask, value
 *   6 union:     state, i32 subtask, value  7 broadcast:     state, i32 subtask, userKey, value
 *   8 number-sequence source split: state, i32 subtask, splitId, i64 from, i64 to (inclusive)
 */
final class DumpFile {
    private DumpFile() {}

    static List<DumpRecord> readAll(Path file) throws IOException {
        List<DumpRecord> out = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            for (;;) {
                int type = in.read();
                if (type < 0) return out;
                DumpRecord r = new DumpRecord();
                r.type = (byte) type;
                switch (r.type) {
                    case DumpRecord.KEYED_VALUE, DumpRecord.KEYED_LIST_ELEMENT -> {
                        r.state = str(in);
                        r.key = str(in);
                        r.value = bytes(in);
                    }
                    case DumpRecord.KEYED_MAP_ENTRY -> {
                        r.state = str(in);
                        r.key = str(in);
                        r.userKey = str(in);
                        r.value = bytes(in);
                    }
                    case DumpRecord.TIMER -> {
                        r.domain = in.readByte();
                        r.key = str(in);
                        r.time = in.readLong();
                    }
                    case DumpRecord.OPERATOR_LIST_ELEMENT, DumpRecord.UNION_LIST_ELEMENT -> {
                        r.state = str(in);
                        r.subtask = in.readInt();
                        r.value = bytes(in);
                    }
                    case DumpRecord.BROADCAST_ENTRY -> {
                        r.state = str(in);
                        r.subtask = in.readInt();
                        r.userKey = str(in);
                        r.value = bytes(in);
                    }
                    case DumpRecord.SOURCE_SPLIT -> {
                        r.state = str(in);
                        r.subtask = in.readInt();
                        r.userKey = str(in);
                        r.time = in.readLong();
                        r.to = in.readLong();
                    }
                    default -> throw new IOException(file + ": unknown record type " + type);
                }
                out.add(r);
            }
        } catch (EOFException e) {
            throw new IOException(file + " is truncated", e);
        }
    }

    /** Appends records to one operator's file. */
    static final class Writer implements Closeable {
        private final DataOutputStream out;

        Writer(Path file) throws IOException {
            out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
        }

        void write(DumpRecord r) throws IOException {
            out.writeByte(r.type);
            switch (r.type) {
                case DumpRecord.KEYED_VALUE, DumpRecord.KEYED_LIST_ELEMENT -> {
                    str(r.state);
                    str(r.key);
                    bytes(r.value);
                }
                case DumpRecord.KEYED_MAP_ENTRY -> {
                    str(r.state);
                    str(r.key);
                    str(r.userKey);
                    bytes(r.value);
                }
                case DumpRecord.TIMER -> {
                    out.writeByte(r.domain);
                    str(r.key);
                    out.writeLong(r.time);
                }
                case DumpRecord.OPERATOR_LIST_ELEMENT, DumpRecord.UNION_LIST_ELEMENT -> {
                    str(r.state);
                    out.writeInt(r.subtask);
                    bytes(r.value);
                }
                case DumpRecord.BROADCAST_ENTRY -> {
                    str(r.state);
                    out.writeInt(r.subtask);
                    str(r.userKey);
                    bytes(r.value);
                }
                case DumpRecord.SOURCE_SPLIT -> {
                    str(r.state);
                    out.writeInt(r.subtask);
                    str(r.userKey);
                    out.writeLong(r.time);
                    out.writeLong(r.to);
                }
                default -> throw new IOException("unknown record type " + r.type);
            }
        }

        private void str(String s) throws IOException {
            bytes(s.getBytes(StandardCharsets.UTF_8));
        }

        private void bytes(byte[] b) throws IOException {
            out.writeInt(b.length);
            out.write(b);
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    private static String str(DataInputStream in) throws IOException {
        return new String(bytes(in), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) throw new IOException("negative length " + n);
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }
}
