/**
 * Test job for `connect` of ordinary streams: a CoMapFunction, a CoFlatMapFunction, a CoProcessFunction,
 * and a RichCoFlatMapFunction on two keyed streams that counts per key in keyed state shared by both
 * inputs. Everything is printed; the set of lines does not depend on how the inputs interleave.
 */
import {
  CoProcessFunction, ParameterTool, RichCoFlatMapFunction, StreamExecutionEnvironment, ValueStateDescriptor, type Collector, type ValueState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const n = params.getInt('count', 20);

class Tagger extends CoProcessFunction<number, string, string> {
  processElement1(i: number, ctx: CoProcessFunction.Context, out: Collector<string>): void {
    out.collect(`process1,${i},${ctx.timestamp()}`);
  }
  processElement2(w: string, _ctx: CoProcessFunction.Context, out: Collector<string>): void {
    out.collect(`process2,${w}`);
  }
}

class CountPerKey extends RichCoFlatMapFunction<number, string, string> {
  private count!: ValueState<number>;
  override open(): void {
    this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('count'));
  }
  private next(kind: string, out: Collector<string>, key: number): void {
    const c = (this.count.value() ?? 0) + 1;
    this.count.update(c);
    out.collect(`keyed,${key},${c}`);
    out.collect(`keyed-${kind},${key}`);
  }
  flatMap1(i: number, out: Collector<string>): void {
    this.next('number', out, i % 3);
  }
  flatMap2(w: string, out: Collector<string>): void {
    this.next('word', out, w.length % 3);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const nums = env.fromSequence(0, n - 1).uid('numbers').setParallelism(2);
const words = env.fromElements('a', 'bb', 'ccc', 'dddd').uid('words');
nums.connect(words).map({ map1: (i: number) => `map1,${i}`, map2: (w: string) => `map2,${w}` }).print();
nums.connect(words).flatMap({
  flatMap1: (i: number, out: Collector<string>) => { if (i % 2 === 0) out.collect(`flatMap1,${i}`); },
  flatMap2: (w: string, out: Collector<string>) => { for (const c of w) out.collect(`flatMap2,${c}`); },
}).print();
nums.connect(words).process(new Tagger()).setParallelism(3).print();
nums.keyBy((i: number) => i % 3).connect(words.keyBy((w: string) => w.length % 3)).flatMap(new CountPerKey()).uid('keyed-count').print();
await env.execute('Connect job');
