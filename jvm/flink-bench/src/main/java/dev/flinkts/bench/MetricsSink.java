package dev.flinkts.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * bench/lib/MetricsSink.ts for Flink: counts what reaches the end of the pipeline and when (the first record,
 * the end of input), and writes one JSON file per subtask, so that both engines are timed the same way: from
 * the first record at any sink to the last subtask's end of input, without start-up and job submission. It also
 * notes the time at every MARK_EVERY records, as flink-ts's sink does, for the rate after the warm-up
 * (bench/lib/steadyRate.ts).
 */
public final class MetricsSink<T> implements Sink<T> {
    /** bench/lib/MetricsSink.ts's MARK_EVERY. */
    static final long MARK_EVERY = 1L << 18;
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
        private final List<Double> marks = new ArrayList<>();
        private boolean reported;

        Writer(String dir, int subtask, int attempt) {
            this.dir = dir;
            this.subtask = subtask;
            this.attempt = attempt;
        }

        @Override
        public void write(T element, Context context) {
            if (count == 0) first = nowMs();
            if (++count % MARK_EVERY == 0) marks.add(nowMs());
        }

        @Override
        public void flush(boolean endOfInput) throws IOException {
            if (endOfInput && !reported) {
                reported = true;
                String json = String.format(Locale.ROOT, "{\"subtask\":%d,\"attempt\":%d,\"count\":%d,\"first\":%.3f,\"last\":%.3f,\"marks\":[%s]}",
                        subtask, attempt, count, first, nowMs(), marks.stream().map(m -> String.format(Locale.ROOT, "%.3f", m)).collect(Collectors.joining(",")));
                Files.writeString(Path.of(dir, "sink-" + subtask + "-" + attempt + ".json"), json, StandardCharsets.UTF_8);
            }
        }

        @Override
        public void close() {}
    }
}
