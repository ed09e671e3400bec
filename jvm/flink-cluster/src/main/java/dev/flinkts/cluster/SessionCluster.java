package dev.flinkts.cluster;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.WebOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/**
 * An Apache Flink session cluster in one JVM: Flink's MiniCluster (Dispatcher, ResourceManager, one
 * TaskManager, the REST endpoint with flink-runtime-web's jar upload/run) that stays up until the process is
 * told to stop. Used by flink-ts' tests and `npm run flink-cluster`.
 *
 *   java ... dev.flinkts.cluster.SessionCluster --dir <work dir> [--slots N] [--port P] [--watch-stdin] [-Dkey=value ...]
 *
 * Prints exactly one line to stdout once REST serves, for the harness to parse:
 *   FLINK_TS_CLUSTER {"rest":"http://127.0.0.1:PORT","port":PORT,"pid":PID,"dir":"..."}
 * With --watch-stdin the cluster shuts down when stdin closes (its parent died), so tests never leak a JVM.
 */
public final class SessionCluster {
    public static void main(String[] args) throws Exception {
        Path dir = null;
        int slots = 4;
        int port = 0;
        boolean watchStdin = false;
        Configuration extra = new Configuration();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--dir")) dir = Path.of(args[++i]).toAbsolutePath();
            else if (a.equals("--slots")) slots = Integer.parseInt(args[++i]);
            else if (a.equals("--port")) port = Integer.parseInt(args[++i]);
            else if (a.equals("--watch-stdin")) watchStdin = true;
            else if (a.startsWith("-D") && a.contains("=")) {
                int eq = a.indexOf('=');
                extra.setString(a.substring(2, eq), a.substring(eq + 1));
            } else {
                System.err.println("Unknown argument: " + a);
                System.exit(2);
            }
        }
        if (dir == null) dir = Files.createTempDirectory("flink-ts-cluster");

        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path checkpoints = Files.createDirectories(dir.resolve("checkpoints"));
        Path savepoints = Files.createDirectories(dir.resolve("savepoints"));
        Path uploads = Files.createDirectories(dir.resolve("uploads"));

        Configuration conf = new Configuration();
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.PORT, port);
        // flink-rpc-akka-loader unpacks its Pekko jar into the first io.tmp.dirs entry.
        conf.set(CoreOptions.TMP_DIRS, tmp.toString());
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
        conf.set(CheckpointingOptions.SAVEPOINT_DIRECTORY, savepoints.toUri().toString());
        conf.set(WebOptions.UPLOAD_DIR, uploads.toString());
        conf.addAll(extra);

        MiniClusterConfiguration cfg = new MiniClusterConfiguration.Builder()
                .setConfiguration(conf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(slots)
                .build();
        MiniCluster cluster = new MiniCluster(cfg);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                cluster.close();
            } catch (Exception e) {
                System.err.println("Closing the cluster: " + e);
            }
            stopped.countDown();
        }, "flink-ts-cluster-shutdown"));
        cluster.start();
        URI rest = cluster.getRestAddress().get();

        String json = "{\"rest\":\"" + rest.toString().replaceAll("/$", "") + "\",\"port\":" + rest.getPort()
                + ",\"pid\":" + ProcessHandle.current().pid()
                + ",\"dir\":\"" + dir.toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\""
                + ",\"checkpoints\":\"" + checkpoints + "\",\"savepoints\":\"" + savepoints + "\"}";
        System.out.println("FLINK_TS_CLUSTER " + json);
        System.out.flush();

        if (watchStdin) {
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                    while (r.readLine() != null) { /* ignore input; EOF means the parent is gone */ }
                } catch (Exception ignored) {
                }
                System.exit(0); // runs the shutdown hook
            }, "flink-ts-cluster-stdin");
            t.setDaemon(true);
            t.start();
        }
        stopped.await();
    }
}
