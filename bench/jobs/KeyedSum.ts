/**
 * Benchmark job, scenarios 2 and 4: a running sum per key over --keys distinct string keys.
 *   flink run bench/jobs/KeyedSum.ts --keys 1000000 --records 5000000 --metrics <dir> [--rate <records/s>]
 */
import { DataGeneratorSource, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment, WatermarkStrategy } from 'flink-ts';
import { keyedRecord, type KeyedRecord } from '../lib/nexmark.js';
import { MetricsSink } from '../lib/MetricsSink.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const keys = params.getInt('keys', 1_000_000);
const records = params.getInt('records', 2_000_000);
const rate = params.has('rate') ? RateLimiterStrategy.perSecond(params.getInt('rate')) : undefined;
const timed = rate !== undefined;

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new DataGeneratorSource((i) => keyedRecord(i, keys, timed), records, rate), WatermarkStrategy.noWatermarks(), 'keyed-input')
  .uid('keyed-input')
  .keyBy((r: KeyedRecord) => r.key)
  // The newest record's emission time travels with the sum, for the latency scenario.
  .reduce((acc: KeyedRecord, r: KeyedRecord) => ({ key: acc.key, sum: acc.sum + r.sum, emitted: r.emitted }))
  .name('running-sum')
  .uid('running-sum')
  .addSink(new MetricsSink<KeyedRecord>(params.getRequired('metrics')))
  .name('metrics')
  .uid('metrics');

await env.execute('Keyed running sum');
