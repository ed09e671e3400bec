package dev.flinkts.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * bench/lib/MetricsSink.ts for Flink: counts what reaches the end of the pipeline and when (the first record,
 * the end of input), and writes one JSON file per subtask, so that both engines are timed the same way: from
 * the first record at any sink to the last subtask's end of input, without start-up and job submission.
 */
public final class MetricsSink<T> implements Sink<T> {
    private final String dir;

    public MetricsSink(String dir) {
        this.dir = dir;
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        return new Writer<>(dir, context.getTaskInfo().getIndexOfThisSubtask(), context.getTaskInfo().getAttemptNumber());
    }

    /** Milliseconds on one clock shared by every subtask of the JVM. */
    static double nowMs() {
        return System.nanoTime() / 1e6;
    }

    private static final class Writer<T> implements SinkWriter<T> {
        private final String dir;
        private final int subtask;
        private final int attempt;
        private long count;
        private double first;
        private boolean reported;

        Writer(String dir, int subtask, int attempt) {
            this.dir = dir;
            this.subtask = subtask;
            this.attempt = attempt;
        }

        @Override
        public void write(T element, Context context) {
            if (count == 0) first = nowMs();
            count++;
        }

        @Override
        public void flush(boolean endOfInput) throws IOException {
            if (endOfInput && !reported) {
                reported = true;
                String json = String.format("{\"subtask\":%d,\"attempt\":%d,\"count\":%d,\"first\":%.3f,\"last\":%.3f}",
                        subtask, attempt, count, first, nowMs());
                Files.writeString(Path.of(dir, "sink-" + subtask + "-" + attempt + ".json"), json, StandardCharsets.UTF_8);
            }
        }

        @Override
        public void close() {}
    }
}
