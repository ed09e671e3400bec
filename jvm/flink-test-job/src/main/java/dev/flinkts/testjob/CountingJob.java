package dev.flinkts.testjob;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The test job flink-ts submits to a real Flink cluster. A throttled, checkpointed sequence 0, 1, 2, ...
 * (one source subtask, so every key sees its elements in order) is keyed by i % keys; a keyed counter
 * (uid "keyed-count") emits "i,key,count" and a sink appends the lines to --out. The output is a pure
 * function of i: for element i the count is i / keys + 1. After savepoint, cancel and run -s, the source
 * resumes at its recorded position and the counter from its state, so every line the restored job writes is
 * the line the first run would have written (lines written after the savepoint appear twice, identically).
 *
 * Arguments: --out <file> [--rate per-second] [--keys K] [--count N] [--checkpoint-interval ms]
 *            [--without-count] (the counter replaced by a stateless map: its savepoint state has no operator)
 *            [--fail-at i] (throws when the counter sees element i: a failing job)
 */
public final class CountingJob {
    public static void main(String[] args) throws Exception {
        String out = null;
        double rate = 20;
        int keys = 4;
        long count = Long.MAX_VALUE;
        long interval = 0;
        boolean withoutCount = false;
        long failAt = -1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out": out = args[++i]; break;
                case "--rate": rate = Double.parseDouble(args[++i]); break;
                case "--keys": keys = Integer.parseInt(args[++i]); break;
                case "--count": count = Long.parseLong(args[++i]); break;
                case "--checkpoint-interval": interval = Long.parseLong(args[++i]); break;
                case "--without-count": withoutCount = true; break;
                case "--fail-at": failAt = Long.parseLong(args[++i]); break;
                default: throw new IllegalArgumentException("Unknown argument: " + args[i]);
            }
        }
        if (out == null) throw new IllegalArgumentException("--out <file> is required");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        if (interval > 0) env.enableCheckpointing(interval);

        DataGeneratorSource<Long> source = new DataGeneratorSource<>(
                (GeneratorFunction<Long, Long>) i -> i, count, RateLimiterStrategy.perSecond(rate), Types.LONG);
        DataStream<Long> seq = env.fromSource(source, WatermarkStrategy.noWatermarks(), "sequence")
                .uid("sequence-source").setParallelism(1);

        final int k = keys;
        final long fail = failAt;
        DataStream<String> lines;
        if (withoutCount) {
            lines = seq.map(i -> i + "," + (i % k) + ",-").returns(Types.STRING).uid("stateless-map").name("stateless-map");
        } else {
            lines = seq.keyBy(i -> i % k, Types.LONG)
                    .process(new KeyedCount(fail)).uid("keyed-count").name("keyed-count");
        }
        lines.sinkTo(new LineFileSink(out)).uid("line-sink").name("line-sink").setParallelism(1);
        env.execute(withoutCount ? "CountingJob (without count)" : "CountingJob");
    }

    /** Counts elements per key in keyed ValueState; emits "i,key,count". */
    static final class KeyedCount extends KeyedProcessFunction<Long, Long, String> {
        private final long failAt;
        private transient ValueState<Long> counter;

        KeyedCount(long failAt) { this.failAt = failAt; }

        @Override
        public void open(OpenContext ctx) {
            counter = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(Long i, Context ctx, Collector<String> out) throws Exception {
            if (i == failAt) throw new IllegalStateException("CountingJob: failing at element " + i + " as asked (--fail-at)");
            long c = counter.value() == null ? 1 : counter.value() + 1;
            counter.update(c);
            out.collect(i + "," + ctx.getCurrentKey() + "," + c);
        }
    }

    /** Appends each line to a file and flushes it (a test reads the file while the job runs). */
    static final class LineFileSink implements Sink<String> {
        private final String path;

        LineFileSink(String path) { this.path = path; }

        @Override
        public SinkWriter<String> createWriter(WriterInitContext context) throws IOException {
            Path p = Path.of(path);
            if (p.getParent() != null) Files.createDirectories(p.getParent());
            BufferedWriter w = Files.newBufferedWriter(p, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            return new SinkWriter<>() {
                @Override
                public void write(String element, Context ctx) throws IOException {
                    w.write(element);
                    w.newLine();
                    w.flush();
                }

                @Override
                public void flush(boolean endOfInput) throws IOException { w.flush(); }

                @Override
                public void close() throws IOException { w.close(); }
            };
        }
    }
}
