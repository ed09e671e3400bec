package dev.flinkts.jsprobe;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the bundled user functions (bench/js-engines) in one design and prints one JSON line of figures:
 *
 *   Probe graal tokenize|sum --bundle graal.js [--batch B] [--records R] [--keys K] [--warmup W] [--measured M]
 *                                             [--warmup-ms T]
 *   Probe node  tokenize|sum --node node --worker worker.js [...]
 *   Probe apis  --bundle checks.js          the Node API checks in GraalJS: one JSON object name -> result
 *
 * A pass processes all R records; warm-up passes (at least W, and until T ms have passed: a JIT that compiles
 * in the background needs time, more so on a loaded machine) are reported apart from the M measured ones. The data is generated
 * here and by bench/js-engines/data.ts alike, so every design's checksum must agree.
 */
public final class Probe {
  private static final long MAIN_START = System.nanoTime();
  static final int VOCABULARY = 2000;
  private static final String[] SYLLABLES = {"fl", "ink", "ka", "fka", "str", "eam", "ch", "eck", "po", "int", "sa", "ve"};

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = new HashMap<>();
    for (int i = 2; i + 1 < args.length; i += 2) opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    if (args.length >= 1 && args[0].equals("apis")) {
      for (int i = 1; i + 1 < args.length; i += 2) opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
      System.out.println(ApiChecks.run(new File(opt.get("bundle"))));
      return;
    }
    if (args.length < 2) throw new IllegalArgumentException("usage: Probe graal|node|apis tokenize|sum [--option value]...");
    String design = args[0];
    String workload = args[1];
    int batch = Integer.parseInt(opt.getOrDefault("batch", "1024"));
    int records = Integer.parseInt(opt.getOrDefault("records", "100000"));
    int keys = Integer.parseInt(opt.getOrDefault("keys", "1000000"));
    int warmup = Integer.parseInt(opt.getOrDefault("warmup", "1"));
    int measured = Integer.parseInt(opt.getOrDefault("measured", "3"));
    long warmupMs = Long.parseLong(opt.getOrDefault("warmup-ms", "0"));

    byte[][] input = new byte[records][];
    int[] values = new int[records];
    for (int i = 0; i < records; i++) {
      input[i] = (workload.equals("tokenize") ? line(i) : key(i, keys)).getBytes(StandardCharsets.UTF_8);
      values[i] = i % 100;
    }

    long t0 = System.nanoTime();
    JsEngine engine = design.equals("graal")
        ? new GraalEngine(new File(opt.get("bundle")))
        : new NodeEngine(opt.getOrDefault("node", "node"), opt.get("worker"));
    engine.flatMap(new byte[][] {"Hello world".getBytes(StandardCharsets.UTF_8)}, 0, 1);
    double engineStartMs = (System.nanoTime() - t0) / 1e6;
    double sinceMainMs = (System.nanoTime() - MAIN_START) / 1e6;

    List<Double> warm = new ArrayList<>();
    List<Double> ms = new ArrayList<>();
    String check = "";
    long warmStart = System.nanoTime();
    while (warm.size() < warmup || (System.nanoTime() - warmStart) / 1_000_000 < warmupMs) {
      long s = System.nanoTime();
      check = workload.equals("tokenize") ? tokenizePass(engine, input, batch) : sumPass(engine, input, values, batch, keys);
      warm.add((System.nanoTime() - s) / 1e6);
    }
    for (int p = 0; p < measured; p++) {
      long s = System.nanoTime();
      check = workload.equals("tokenize") ? tokenizePass(engine, input, batch) : sumPass(engine, input, values, batch, keys);
      ms.add((System.nanoTime() - s) / 1e6);
    }
    long childRss = engine.childPeakRssKb();
    engine.close();

    StringBuilder json = new StringBuilder("{");
    json.append("\"design\":\"").append(design).append("\",\"workload\":\"").append(workload).append('"');
    json.append(",\"java\":\"").append(System.getProperty("java.version")).append('"');
    json.append(",\"vm\":\"").append(System.getProperty("java.vm.name")).append('"');
    if (design.equals("graal")) {
      json.append(",\"graal\":\"").append(GraalEngine.SHARED.getVersion()).append('"');
      json.append(",\"truffleRuntime\":\"").append(GraalEngine.SHARED.getImplementationName()).append('"');
    }
    json.append(",\"batch\":").append(batch).append(",\"records\":").append(records).append(",\"keys\":").append(keys);
    json.append(",\"engineStartMs\":").append(round(engineStartMs)).append(",\"sinceJvmMainMs\":").append(round(sinceMainMs));
    json.append(",\"warmupMs\":[");
    for (int i = 0; i < warm.size(); i++) json.append(i == 0 ? "" : ",").append(round(warm.get(i)));
    json.append("],\"passMs\":[");
    for (int i = 0; i < ms.size(); i++) json.append(i == 0 ? "" : ",").append(round(ms.get(i)));
    json.append("],\"jvmPeakRssKb\":").append(peakRssKb("/proc/self/status")).append(",\"childPeakRssKb\":").append(childRss);
    json.append(",\"check\":\"").append(check).append("\"}");
    System.out.println(json);
    System.exit(0);
  }

  private static String tokenizePass(JsEngine engine, byte[][] lines, int batch) {
    long words = 0, chars = 0;
    for (int from = 0; from < lines.length; from += batch) {
      // The operator emits (word, 1) per word; counting the words and their length stands for that.
      for (String w : engine.flatMap(lines, from, Math.min(lines.length, from + batch))) { words++; chars += w.length(); }
    }
    return words + "/" + chars;
  }

  private static String sumPass(JsEngine engine, byte[][] records, int[] values, int batch, int keys) {
    // Flink's keyed state for this subtask (the heap backend holds it as objects): key -> running sum.
    HashMap<String, Double> state = new HashMap<>(keys * 2);
    double total = 0;
    for (int from = 0; from < records.length; from += batch) {
      int n = Math.min(records.length, from + batch) - from;
      String[] k = new String[n];
      int[] v = new int[n];
      Object[] s = new Object[n];
      for (int j = 0; j < n; j++) {
        k[j] = new String(records[from + j], StandardCharsets.UTF_8);
        v[j] = values[from + j];
        s[j] = state.get(k[j]);
      }
      double[] sums = engine.sum(k, v, s, n);
      for (int j = 0; j < n; j++) { state.put(k[j], sums[j]); total += sums[j]; }
    }
    return state.size() + "/" + (long) total;
  }

  static String line(int i) {
    StringBuilder b = new StringBuilder();
    for (int k = 0; k < 10; k++) {
      String w = word((i * 7 + k * 13 + (i % 97) * k) % VOCABULARY);
      if (k == 0) w = Character.toUpperCase(w.charAt(0)) + w.substring(1);
      b.append(w).append(k == 9 ? "." : k == 4 ? ", " : " ");
    }
    return b.toString();
  }

  static String word(int j) {
    return SYLLABLES[j % 12] + SYLLABLES[(j / 12) % 12] + (j >= 144 ? SYLLABLES[(j / 144) % 12] : "");
  }

  static String key(int i, int keys) { return "user-" + ((i * 7919L) % keys); }

  static long peakRssKb(String statusFile) {
    try {
      for (String l : Files.readAllLines(Paths.get(statusFile))) if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("\\D", ""));
    } catch (Exception e) { /* the process is gone */ }
    return 0;
  }

  private static double round(double v) { return Math.round(v * 10) / 10.0; }
}
