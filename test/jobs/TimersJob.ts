/**
 * Test job for timers: on a key's first element it emits `seen,<key>` and registers a processing-time
 * timer --delay ms later (emits `ptimer,<key>`) and an event-time timer (fires at end of input, with
 * the key's final count: `etimer,<key>,<count>`). Timers are keyed state: a savepoint taken while they
 * are pending must make them fire after the restore, exactly once.
 */
import {
  DataGeneratorSource, FileSink, KeyedProcessFunction, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment,
  ValueStateDescriptor, type Collector, type ValueState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const keys = params.getInt('keys', 20);
const delay = params.getInt('delay', 300);

class Timers extends KeyedProcessFunction<number, number, string> {
  private count!: ValueState<number>;
  override open(): void {
    this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(_i: number, ctx: KeyedProcessFunction.Context<number>, out: Collector<string>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    if (n === 1) {
      out.collect(`seen,${ctx.getCurrentKey()}`);
      ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + delay);
      ctx.timerService().registerEventTimeTimer(1000);
      ctx.timerService().registerEventTimeTimer(1000); // the same time twice is one timer
    }
  }
  override onTimer(ts: number, ctx: KeyedProcessFunction.OnTimerContext<number>, out: Collector<string>): void {
    if (ctx.timeDomain() === 'PROCESSING_TIME') out.collect(`ptimer,${ctx.getCurrentKey()}`);
    else out.collect(`etimer,${ctx.getCurrentKey()},${this.count.value()},${ts}`);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env
  .fromSource(new DataGeneratorSource((i) => i, params.getInt('count', 4000), RateLimiterStrategy.perSecond(params.getInt('rate', 2000))), undefined, 'numbers')
  .uid('numbers')
  .setParallelism(1)
  .keyBy((i: number) => i % keys)
  .process(new Timers())
  .uid('timers')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Timers job');
