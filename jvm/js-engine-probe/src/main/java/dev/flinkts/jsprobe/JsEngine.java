package dev.flinkts.jsprobe;

/**
 * One subtask's JavaScript engine as a Flink operator would hold it: a batch of records in (their serialized
 * bytes, as they leave Flink's network buffers; for the keyed sum also each key's state read by the operator),
 * the user function's results out.
 */
interface JsEngine extends AutoCloseable {
  /** The tokenizer flatMap over lines[from, to): the words it emits. */
  String[] flatMap(byte[][] lines, int from, int to);

  /** The running sum over a batch of n records (arrays of length n): keys, values, each key's state (null: none yet). */
  double[] sum(String[] keys, int[] values, Object[] states, int n);

  /** Resident set peak (kB) of processes other than this JVM that the engine runs (0 when it runs inside). */
  long childPeakRssKb();

  @Override
  void close() throws Exception;
}
