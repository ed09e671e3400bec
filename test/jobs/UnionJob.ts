/**
 * Test job for `union`: three sources with different parallelisms and partitionings (rebalanced, forward,
 * keyed) unioned into one stream, then a per-key running count, written exactly-once to --output. Every
 * record gives `r,<value>` and `c,<key>,<count>`: the set of lines does not depend on how the inputs
 * interleave, so any run, interrupted or not, must commit the same lines. With --fail-at, a user function
 * after the union throws once (first attempt) at that record.
 */
import {
  DataGeneratorSource, FileSink, KeyedProcessFunction, ParameterTool, RateLimiterStrategy, RichMapFunction, StreamExecutionEnvironment,
  ValueStateDescriptor, type Collector, type ValueState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 1000);
const rate = params.getInt('rate', 5000);
const failAt = params.getInt('fail-at', -1);

class FailOnce extends RichMapFunction<number, number> {
  map(i: number): number {
    if (i === failAt && this.getRuntimeContext().getAttemptNumber() === 0) throw new Error(`Injected failure at record ${i}`);
    return i;
  }
}

class CountPerKey extends KeyedProcessFunction<number, number, string> {
  private count!: ValueState<number>;
  override open(): void {
    this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(v: number, ctx: KeyedProcessFunction.Context<number>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect(`r,${v}`);
    out.collect(`c,${ctx.getCurrentKey()},${n}`);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const gen = (offset: number) => new DataGeneratorSource((i) => offset + i, count, RateLimiterStrategy.perSecond(rate));
const a = env.fromSource(gen(0), undefined, 'a').uid('a').setParallelism(1);
const b = env.fromSource(gen(count), undefined, 'b').uid('b').setParallelism(2);
const c = env.fromSource(gen(2 * count), undefined, 'c').uid('c').setParallelism(3);
a.rebalance()
  .union(b, c.keyBy((i: number) => i % 3))
  .map(new FailOnce())
  .uid('fail-once')
  .keyBy((i: number) => i % 10)
  .process(new CountPerKey())
  .uid('counter')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Union job');
