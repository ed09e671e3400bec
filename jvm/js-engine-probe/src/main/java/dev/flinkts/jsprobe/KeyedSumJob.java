package dev.flinkts.jsprobe;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * The Java twin of bench/jobs/KeyedSum.ts for the issue-17 benchmark (bench/flink-runner.ts): the same records
 * ("key-" + i % keys, 1), keyBy, a running sum per key in Flink's keyed state, submitted to the same cluster as
 * the TypeScript job runs on through the runner.
 *
 *   flink run -c dev.flinkts.jsprobe.KeyedSumJob js-engine-probe.jar --records N --keys K
 */
public final class KeyedSumJob {
  public static void main(String[] args) throws Exception {
    long records = 2_000_000, keys = 1_000_000;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--records": records = Long.parseLong(args[i + 1]); break;
        case "--keys": keys = Long.parseLong(args[i + 1]); break;
        default: throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    final long k = keys;
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.fromSource(new DataGeneratorSource<>(i -> Tuple2.of("key-" + (i % k), 1L), records, Types.TUPLE(Types.STRING, Types.LONG)),
            WatermarkStrategy.noWatermarks(), "keyed-input").uid("keyed-input")
        .keyBy(r -> r.f0, Types.STRING)
        .reduce((acc, r) -> Tuple2.of(acc.f0, acc.f1 + r.f1)).name("running-sum").uid("running-sum")
        .sinkTo(new DiscardingSink<>()).name("sink").uid("sink");
    env.execute("Keyed running sum (Java)");
  }
}
