package dev.flinkts.runner;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The Node.js worker process of one job bundle in this TaskManager JVM: started lazily by the first JsOperator,
 * shared by all its subtasks (one Unix-socket connection each), stopped when the last one closes. The bundle runs
 * with FLINK_TS_WORKER_SOCKET set, which makes it listen instead of running the job; its stdout and stderr are
 * the TaskManager's (print() lands where Flink's own print sink writes).
 */
final class NodeWorker {
    /** TaskManager configuration key (or environment FLINK_TS_NODE) naming the Node.js executable; default `node` from PATH. */
    static final String NODE_EXECUTABLE_KEY = "flink-ts.node.executable";
    private static final long START_TIMEOUT_MS = 60_000;
    private static final Map<String, NodeWorker> WORKERS = new HashMap<>();

    private final String hash;
    private final Process process;
    private final Path socket;
    private final Path dir;
    private int users;

    private NodeWorker(String hash, Process process, Path socket, Path dir) {
        this.hash = hash;
        this.process = process;
        this.socket = socket;
        this.dir = dir;
    }

    /** A connection of one subtask to the worker of `bundle`, starting the worker if needed. */
    static Connection connect(byte[] bundle, String hash, String nodeExecutable) throws IOException {
        NodeWorker w;
        synchronized (WORKERS) {
            w = WORKERS.get(hash);
            if (w == null || !w.process.isAlive()) {
                w = start(bundle, hash, nodeExecutable);
                WORKERS.put(hash, w);
            }
            w.users++;
        }
        try {
            return new Connection(w, w.open());
        } catch (IOException | RuntimeException e) {
            w.release();
            throw e;
        }
    }

    private static NodeWorker start(byte[] bundle, String hash, String node) throws IOException {
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "flink-ts-worker-");
        Path file = dir.resolve("job-bundle.mjs");
        Files.write(file, bundle);
        // Unix socket paths are limited to ~100 bytes: /tmp, not the (possibly long) tmpdir.
        Path socket = Path.of("/tmp", "flink-ts-" + hash.substring(0, 12) + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100000 + ".sock");
        ProcessBuilder pb = new ProcessBuilder(node, file.toString());
        pb.environment().put("FLINK_TS_WORKER_SOCKET", socket.toString());
        pb.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("flink-ts runner: cannot start the Node.js worker '" + node + "' (install Node.js 20+ on the TaskManagers or set "
                + NODE_EXECUTABLE_KEY + "): " + e.getMessage(), e);
        }
        return new NodeWorker(hash, p, socket, dir);
    }

    private SocketChannel open() throws IOException {
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        for (;;) {
            if (Files.exists(socket)) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    return ch;
                } catch (IOException e) {
                    // not listening yet
                }
            }
            if (!process.isAlive()) throw new IOException("flink-ts runner: the Node.js worker exited with code " + process.exitValue() + " before it listened (its output is in the TaskManager's log)");
            if (System.currentTimeMillis() > deadline) throw new IOException("flink-ts runner: the Node.js worker did not listen on " + socket + " within " + START_TIMEOUT_MS / 1000 + " s");
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while starting the Node.js worker", e);
            }
        }
    }

    private void release() {
        synchronized (WORKERS) {
            if (--users > 0) return;
            if (WORKERS.get(hash) == this) WORKERS.remove(hash);
        }
        process.destroy();
        try {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir.resolve("job-bundle.mjs"));
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a temp folder
        }
    }

    /** One subtask's connection. */
    static final class Connection implements AutoCloseable {
        private final NodeWorker worker;
        private final SocketChannel channel;
        final DataInputStream in;
        final DataOutputStream out;
        private boolean closed;

        Connection(NodeWorker worker, SocketChannel channel) {
            this.worker = worker;
            this.channel = channel;
            this.in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel), 1 << 16));
            this.out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16));
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            try {
                channel.close();
            } catch (IOException e) {
                // closing
            }
            worker.release();
        }
    }
}
