package dev.flinkts.runner;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The frame protocol between a JsOperator and the Node.js worker (docs/flink-runner.md; src/flink/worker/Frames.ts is
 * the other side): int32 big-endian length of what follows, one type byte, the payload. Control frames carry JSON;
 * BATCH and RESULT are binary. Strings are int32 length + UTF-8, -1 for none; byte arrays the same.
 */
final class Frames {
    private Frames() {}

    static final byte ERROR = 0;
    static final byte OPEN = 1;
    static final byte OPENED = 2;
    static final byte BATCH = 3;
    static final byte RESULT = 4;
    static final byte SNAPSHOT = 5;
    static final byte SNAPSHOTTED = 6;
    static final byte COMPLETE = 7;
    static final byte ACK = 8;
    static final byte CLOSE = 9;

    /** Events of a BATCH and of a RESULT. */
    static final byte EV_RECORD = 1;
    static final byte EV_WATERMARK = 2;
    static final byte EV_END_INPUT = 3;
    static final byte EV_TIMER = 4;

    /** Timestamp of a record without one. */
    static final long NO_TIMESTAMP = Long.MIN_VALUE;

    static final class Frame {
        final byte type;
        final byte[] payload;

        Frame(byte type, byte[] payload) {
            this.type = type;
            this.payload = payload;
        }

        DataInputStream in() {
            return new DataInputStream(new java.io.ByteArrayInputStream(payload));
        }

        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    static void write(DataOutputStream out, byte type, byte[] payload, int len) throws IOException {
        out.writeInt(len + 1);
        out.writeByte(type);
        out.write(payload, 0, len);
        out.flush();
    }

    static void write(DataOutputStream out, byte type, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        write(out, type, b, b.length);
    }

    static Frame read(DataInputStream in) throws IOException {
        int len = in.readInt();
        byte type = in.readByte();
        byte[] p = new byte[len - 1];
        in.readFully(p);
        if (type == ERROR) throw new IOException("flink-ts worker: " + new String(p, StandardCharsets.UTF_8));
        return new Frame(type, p);
    }

    static void writeString(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    static String readString(DataInputStream in) throws IOException {
        byte[] b = readBytes(in);
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        if (b == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(b.length);
        out.write(b);
    }

    static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) return null;
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    /** A reusable payload buffer. */
    static final class Payload extends ByteArrayOutputStream {
        final DataOutputStream data = new DataOutputStream(this);

        byte[] buffer() {
            return buf;
        }
    }
}
