package dev.flinkts.jsprobe;

import java.io.File;
import java.nio.charset.StandardCharsets;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.Source;
import org.graalvm.polyglot.Value;

/**
 * Design (a)/(b): GraalJS inside the task. One shared Engine per JVM (a TaskManager), one Context per
 * subtask (a Context is single-threaded). Records cross as host arrays of Java strings and numbers.
 */
final class GraalEngine implements JsEngine {
  static final Engine SHARED = Engine.newBuilder()
      .option("engine.WarnInterpreterOnly", System.getProperty("probe.warnInterpreterOnly", "false"))
      .build();

  private final Context context;
  private final Value flatMapBatch;
  private final Value sumBatch;

  GraalEngine(File bundle) throws Exception {
    context = Context.newBuilder("js")
        .engine(SHARED)
        .allowHostAccess(HostAccess.newBuilder().allowArrayAccess(true).build())
        .build();
    context.eval(Source.newBuilder("js", bundle).build());
    Value api = context.getBindings("js").getMember("flinkTs");
    flatMapBatch = api.getMember("flatMapBatch");
    sumBatch = api.getMember("sumBatch");
  }

  @Override
  public String[] flatMap(byte[][] lines, int from, int to) {
    String[] in = new String[to - from];
    for (int i = from; i < to; i++) in[i - from] = new String(lines[i], StandardCharsets.UTF_8);
    Value words = flatMapBatch.execute((Object) in);
    String[] out = new String[(int) words.getArraySize()];
    for (int i = 0; i < out.length; i++) out[i] = words.getArrayElement(i).asString();
    return out;
  }

  @Override
  public double[] sum(String[] keys, int[] values, Object[] states, int n) {
    // The keys cross too: user code may read them (ctx.getCurrentKey); this function does not.
    Value sums = sumBatch.execute((Object) keys, (Object) values, (Object) states);
    double[] out = new double[n];
    for (int i = 0; i < n; i++) out[i] = sums.getArrayElement(i).asDouble();
    return out;
  }

  Context context() { return context; }

  @Override
  public long childPeakRssKb() { return 0; }

  @Override
  public void close() { context.close(); }
}
