/**
 * Test job with two independent pipelines: a bounded one that finishes at once (`once,<x>` into
 * <output>/once) and a rate-limited one that keeps running (`event,<i>` into <output>/events).
 * Checkpoints taken after the first pipeline finished must restore it as finished, not replay it.
 * With --gate <file>, the events from --hold-at on wait for that file (instead of a rate to outlast the CLI).
 */
import { DataGeneratorSource, FileSink, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment } from 'flink-ts';
import { GatedSequenceSource } from './lib/GatedSequenceSource.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const out = params.getRequired('output');
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromElements('a', 'b', 'c')
  .uid('once-source')
  .map((x: string) => `once,${x}`)
  .uid('once-map')
  .sinkTo(FileSink.forRowFormat<string>(`${out}/once`).build())
  .uid('once-sink');
env
  .fromSource(params.has('gate')
    ? new GatedSequenceSource(params.getInt('count', 3000), params.getInt('hold-at', 1000), params.getRequired('gate'))
    : new DataGeneratorSource((i) => i, params.getInt('count', 3000), RateLimiterStrategy.perSecond(params.getInt('rate', 300))), undefined, 'events')
  .uid('events-source')
  .setParallelism(1)
  .map((i: number) => `event,${i}`)
  .uid('events-map')
  .sinkTo(FileSink.forRowFormat<string>(`${out}/events`).build())
  .uid('events-sink');
await env.execute('Finished source job');
