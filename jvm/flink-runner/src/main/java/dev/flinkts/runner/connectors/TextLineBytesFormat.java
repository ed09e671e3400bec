package dev.flinkts.runner.connectors;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.connector.file.src.reader.StreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;

/**
 * Lines of a text file as their bytes, split as flink-ts' own file source splits them: at '\n', one '\r'
 * before it dropped, a last line without '\n' kept (Flink's TextLineInputFormat decodes to String and also
 * splits at a lone '\r'). The bytes stay undecoded: the JavaScript side decodes UTF-8, once per batch.
 * Positions are Flink's: FileSource checkpoints the file split and the number of lines already read.
 */
final class TextLineBytesFormat extends SimpleStreamFormat<byte[]> {
    private static final long serialVersionUID = 1L;

    @Override
    public StreamFormat.Reader<byte[]> createReader(Configuration config, FSDataInputStream stream) {
        return new LineReader(stream);
    }

    @Override
    public TypeInformation<byte[]> getProducedType() {
        return RawKafkaRecords.BYTES;
    }

    private static final class LineReader implements StreamFormat.Reader<byte[]> {
        private final InputStream in;
        private final byte[] buf = new byte[1 << 16];
        private int pos;
        private int limit;
        private boolean eof;

        LineReader(InputStream in) {
            this.in = in;
        }

        @Override
        public byte[] read() throws IOException {
            byte[] line = null;
            int lineLen = 0;
            while (true) {
                if (pos == limit) {
                    if (eof || !fill()) {
                        eof = true;
                        return line == null ? null : strip(line, lineLen);
                    }
                }
                int start = pos;
                while (pos < limit && buf[pos] != '\n') pos++;
                int n = pos - start;
                if (line == null) line = new byte[Math.max(n, 16)];
                if (lineLen + n > line.length) line = Arrays.copyOf(line, Math.max(line.length * 2, lineLen + n));
                System.arraycopy(buf, start, line, lineLen, n);
                lineLen += n;
                if (pos < limit) {
                    pos++; // the '\n'
                    return strip(line, lineLen);
                }
            }
        }

        private boolean fill() throws IOException {
            int n = in.read(buf, 0, buf.length);
            if (n <= 0) return false;
            pos = 0;
            limit = n;
            return true;
        }

        private static byte[] strip(byte[] line, int len) {
            if (len > 0 && line[len - 1] == '\r') len--;
            return Arrays.copyOf(line, len);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
