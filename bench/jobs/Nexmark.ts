/**
 * Benchmark job, scenario 1 and 4: Nexmark bids through q0 (passthrough), q1 (price conversion) or
 * q2 (filter) into a measuring sink.
 *   flink run bench/jobs/Nexmark.ts --query q1 --records 5000000 --metrics <dir> [--rate <records/s>]
 */
import { DataGeneratorSource, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment, WatermarkStrategy } from 'flink-ts';
import { bid, selectedAuction, timedBid, toEuro, type Bid, type Query } from '../lib/nexmark.js';
import { MetricsSink } from '../lib/MetricsSink.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const query = params.get('query', 'q0') as Query;
const records = params.getInt('records', 1_000_000);
const rate = params.has('rate') ? RateLimiterStrategy.perSecond(params.getInt('rate')) : undefined;

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const source = new DataGeneratorSource<Bid>(rate ? timedBid : bid, records, rate);
let bids = env.fromSource(source, WatermarkStrategy.noWatermarks(), 'bids').uid('bids');
if (query === 'q1') bids = bids.map(toEuro).name('q1-euro').uid('q1-euro');
if (query === 'q2') bids = bids.filter(selectedAuction).name('q2-filter').uid('q2-filter');
bids.addSink(new MetricsSink<Bid>(params.getRequired('metrics'))).name('metrics').uid('metrics');

await env.execute(`Nexmark ${query}`);
