package dev.flinkts.jsprobe;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Design (c): a Node.js child process fed in batches over its stdin/stdout pipes, one request in flight.
 * Request frame [u32 LE length][u8 kind][V8 payload]; reply [u32 LE length][V8 payload]. State stays in the
 * JVM: the operator sends each record's current state with the batch and stores what comes back.
 */
final class NodeEngine implements JsEngine {
  private final Process process;
  private final OutputStream out;
  private final DataInputStream in;
  private final V8Frames.Writer writer = new V8Frames.Writer();
  private final V8Frames.Reader reader = new V8Frames.Reader();
  private byte[] reply = new byte[1 << 16];

  NodeEngine(String node, String worker) throws IOException {
    process = new ProcessBuilder(node, worker).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    out = new BufferedOutputStream(process.getOutputStream(), 1 << 16);
    in = new DataInputStream(new BufferedInputStream(process.getInputStream(), 1 << 16));
  }

  @Override
  public String[] flatMap(byte[][] lines, int from, int to) {
    writer.reset();
    writer.beginArray(to - from);
    for (int i = from; i < to; i++) writer.utf8(lines[i]);
    writer.endArray(to - from);
    List<Object> words = call(1);
    return words.toArray(new String[0]);
  }

  @Override
  public double[] sum(String[] keys, int[] values, Object[] states, int n) {
    writer.reset();
    writer.beginArray(3);
    writer.beginArray(n);
    for (int i = 0; i < n; i++) writer.utf8(keys[i].getBytes(StandardCharsets.UTF_8));
    writer.endArray(n);
    writer.beginArray(n);
    for (int i = 0; i < n; i++) writer.smi(values[i]);
    writer.endArray(n);
    writer.beginArray(n);
    for (int i = 0; i < n; i++) { if (states[i] == null) writer.nul(); else writer.dbl((Double) states[i]); }
    writer.endArray(n);
    writer.endArray(3);
    List<Object> sums = call(2);
    double[] result = new double[n];
    for (int i = 0; i < n; i++) result[i] = ((Number) sums.get(i)).doubleValue();
    return result;
  }

  private List<Object> call(int kind) {
    try {
      int len = writer.pos + 1;
      out.write(len & 0xFF); out.write((len >>> 8) & 0xFF); out.write((len >>> 16) & 0xFF); out.write(len >>> 24);
      out.write(kind);
      out.write(writer.buf, 0, writer.pos);
      out.flush();
      int n = Integer.reverseBytes(in.readInt());
      if (n > reply.length) reply = new byte[Math.max(n, reply.length * 2)];
      in.readFully(reply, 0, n);
      return reader.readArray(reply, n);
    } catch (IOException e) {
      throw new IllegalStateException("the Node.js worker died: " + e.getMessage(), e);
    }
  }

  @Override
  public long childPeakRssKb() { return Probe.peakRssKb("/proc/" + process.pid() + "/status"); }

  @Override
  public void close() throws Exception {
    out.close();
    if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) process.destroyForcibly();
  }
}
