package dev.flinkts.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.runtime.checkpoint.AbstractCheckpointStats;
import org.apache.flink.runtime.checkpoint.CheckpointStatsStatus;
import org.apache.flink.runtime.checkpoint.TaskStateStats;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * One configuration of the benchmark's peer: the job of bench/jobs/KeyedSum.ts or bench/jobs/Nexmark.ts (q1, q2)
 * on Apache Flink, in a MiniCluster started in this JVM, with Flink's defaults except what flink-ts is run with
 * (parallelism, state backend, checkpoint interval and folder, no restarts).
 *
 *   java -cp "flink-cluster/lib/*:flink-bench.jar" dev.flinkts.bench.FlinkBench --job keyed|q1|q2 --records N
 *        [--keys K] [--parallelism P] [--checkpoint-ms MS] [--backend hashmap|rocksdb] [--incremental] [--object-reuse] --dir <work dir>
 *   java ... dev.flinkts.bench.FlinkBench --checksum N [--keys K]
 *
 * Prints one line for bench/lib/flinkPeer.ts:
 *   FLINK_BENCH {"sinks":[{subtask,attempt,count,first,last}...],"checkpoints":[{id,bytes,checkpointedBytes,durationMs,syncMs,asyncMs,alignmentMs}...],"peakRssKb":N}
 * Checkpoint figures are Flink's own checkpoint statistics (what its REST API and web UI show).
 */
public final class FlinkBench {
    public static void main(String[] args) throws Exception {
        String job = null;
        long records = 1_000_000;
        long keys = 1_000_000;
        int parallelism = 1;
        long checkpointMs = 0;
        String backend = "hashmap";
        Path dir = null;
        long checksum = -1;
        boolean incremental = false;
        boolean objectReuse = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--job" -> job = args[++i];
                case "--records" -> records = Long.parseLong(args[++i]);
                case "--keys" -> keys = Long.parseLong(args[++i]);
                case "--parallelism" -> parallelism = Integer.parseInt(args[++i]);
                case "--checkpoint-ms" -> checkpointMs = Long.parseLong(args[++i]);
                case "--backend" -> backend = args[++i];
                case "--dir" -> dir = Path.of(args[++i]).toAbsolutePath();
                case "--checksum" -> checksum = Long.parseLong(args[++i]);
                case "--incremental" -> incremental = true;
                case "--object-reuse" -> objectReuse = true;
                default -> fail("unknown argument: " + args[i]);
            }
        }
        if (checksum >= 0) {
            System.out.println("FLINK_BENCH_CHECKSUM " + Generators.checksums(checksum, keys));
            return;
        }
        if (job == null || dir == null) fail("--job and --dir are required");
        if (!backend.equals("hashmap") && !backend.equals("rocksdb")) fail("--backend must be hashmap or rocksdb");
        System.out.println("FLINK_BENCH " + run(job, records, keys, parallelism, checkpointMs, backend, incremental, objectReuse, dir));
        System.exit(0); // the MiniCluster's non-daemon threads are closed, but do not wait on stragglers
    }

    private static void fail(String message) {
        System.err.println("flink-bench: " + message);
        System.exit(2);
    }

    private static String run(String job, long records, long keys, int p, long checkpointMs, String backend, boolean incremental, boolean objectReuse, Path dir) throws Exception {
        Path metrics = Files.createDirectories(dir.resolve("metrics"));
        Configuration conf = new Configuration();
        conf.set(CoreOptions.TMP_DIRS, Files.createDirectories(dir.resolve("tmp")).toString());
        conf.set(CoreOptions.DEFAULT_PARALLELISM, p);
        conf.set(StateBackendOptions.STATE_BACKEND, backend);
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, dir.resolve("checkpoints").toUri().toString());
        conf.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, incremental);
        // Off by default: then Flink copies every record between chained operators (pipeline.object-reuse).
        conf.set(PipelineOptions.OBJECT_REUSE, objectReuse);
        if (checkpointMs > 0) conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(checkpointMs));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        conf.set(WebOptions.CHECKPOINTS_HISTORY_SIZE, 100_000);

        MiniClusterConfiguration cfg = new MiniClusterConfiguration.Builder()
                .setConfiguration(conf).setNumTaskManagers(1).setNumSlotsPerTaskManager(p).build();
        try (MiniCluster cluster = new MiniCluster(cfg)) {
            cluster.start();
            StreamExecutionEnvironment env = new StreamExecutionEnvironment(conf);
            build(env, job, records, keys, metrics.toString());
            JobID id = cluster.submitJob(env.getStreamGraph().getJobGraph()).get().getJobID();
            JobResult result = cluster.requestJobResult(id).get();
            if (!result.isSuccess()) {
                throw new IllegalStateException("job failed", result.getSerializedThrowable().map(t -> (Throwable) t).orElse(null));
            }
            String checkpoints = checkpointStats(cluster, id);
            StringBuilder sinks = new StringBuilder();
            try (Stream<Path> files = Files.list(metrics)) {
                for (Path f : files.sorted().toList()) sinks.append(sinks.length() == 0 ? "" : ",").append(Files.readString(f, StandardCharsets.UTF_8));
            }
            return "{\"sinks\":[" + sinks + "],\"checkpoints\":" + checkpoints + ",\"peakRssKb\":" + peakRssKb() + "}";
        }
    }

    private static void build(StreamExecutionEnvironment env, String job, long records, long keys, String metrics) {
        switch (job) {
            case "keyed" -> env
                    .fromSource(new DataGeneratorSource<>(i -> Generators.keyedRecord(i, keys), records, TypeInformation.of(KeyedRecord.class)),
                            WatermarkStrategy.noWatermarks(), "keyed-input").uid("keyed-input")
                    .keyBy(r -> r.key, Types.STRING)
                    .reduce((acc, r) -> new KeyedRecord(acc.key, acc.sum + r.sum)).name("running-sum").uid("running-sum")
                    .sinkTo(new MetricsSink<>(metrics)).name("metrics").uid("metrics");
            case "q1", "q2" -> {
                DataStream<Bid> bids = env
                        .fromSource(new DataGeneratorSource<>(Generators::bid, records, TypeInformation.of(Bid.class)),
                                WatermarkStrategy.noWatermarks(), "bids").uid("bids");
                bids = job.equals("q1")
                        ? bids.map(Generators::toEuro).returns(Bid.class).name("q1-euro").uid("q1-euro")
                        : bids.filter(Generators::selectedAuction).name("q2-filter").uid("q2-filter");
                bids.sinkTo(new MetricsSink<>(metrics)).name("metrics").uid("metrics");
            }
            default -> fail("--job must be keyed, q1 or q2");
        }
    }

    /** Every completed checkpoint: full state size, checkpointed (incremental) size, end-to-end duration, and the slowest subtask's parts. */
    private static String checkpointStats(MiniCluster cluster, JobID id) throws Exception {
        List<String> out = new ArrayList<>();
        List<AbstractCheckpointStats> history = new ArrayList<>(cluster.getArchivedExecutionGraph(id).get().getCheckpointStatsSnapshot().getHistory().getCheckpoints());
        history.sort((a, b) -> Long.compare(a.getCheckpointId(), b.getCheckpointId()));
        for (AbstractCheckpointStats c : history) {
            if (c.getStatus() != CheckpointStatsStatus.COMPLETED) continue;
            long sync = 0, async = 0, alignment = 0;
            for (TaskStateStats t : c.getAllTaskStateStats()) {
                sync = Math.max(sync, t.getSummaryStats().getSyncCheckpointDurationStats().getMaximum());
                async = Math.max(async, t.getSummaryStats().getAsyncCheckpointDurationStats().getMaximum());
                alignment = Math.max(alignment, t.getSummaryStats().getAlignmentDurationStats().getMaximum());
            }
            out.add(String.format("{\"id\":%d,\"bytes\":%d,\"checkpointedBytes\":%d,\"durationMs\":%d,\"syncMs\":%d,\"asyncMs\":%d,\"alignmentMs\":%d}",
                    c.getCheckpointId(), c.getStateSize(), c.getCheckpointedSize(), c.getEndToEndDuration(), sync, async, alignment));
        }
        return "[" + String.join(",", out) + "]";
    }

    /** The JVM's peak resident set (VmHWM), like process.resourceUsage().maxRSS on the flink-ts side. */
    private static long peakRssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (Exception e) {
            // not Linux: unknown
        }
        return 0;
    }
}
