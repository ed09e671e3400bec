/**
 * Test job for broadcast state: a keyed event stream connected to a broadcast stream of rules. Every
 * parallel instance gets every rule (`rule,<j>,<subtask>`); every event is processed once, and reports
 * whether broadcast state was readable (`event,<i>,<user>`).
 */
import {
  KeyedBroadcastProcessFunction, MapStateDescriptor, ParameterTool, StreamExecutionEnvironment, type Collector,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const events = params.getInt('events', 200);
const rules = params.getInt('rules', 5);
const RULES = new MapStateDescriptor<number, string>('rules');

class Matcher extends KeyedBroadcastProcessFunction<number, number, number, string> {
  processElement(i: number, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext<number>, out: Collector<string>): void {
    const state = ctx.getBroadcastState(RULES);
    state.immutableEntries(); // readable on the keyed side
    out.collect(`event,${i},${ctx.getCurrentKey()}`);
  }
  processBroadcastElement(j: number, ctx: KeyedBroadcastProcessFunction.Context, out: Collector<string>): void {
    ctx.getBroadcastState(RULES).put(j, `rule-${j}`);
    out.collect(`rule,${j},${this.getRuntimeContext().getIndexOfThisSubtask()},${ctx.getBroadcastState(RULES).keys().length >= 1}`);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const ruleStream = env.fromSequence(0, rules - 1).uid('rules').setParallelism(1).broadcast(RULES);
env
  .fromSequence(0, events - 1)
  .uid('events')
  .keyBy((i: number) => i % 7)
  .connect(ruleStream)
  .process(new Matcher())
  .uid('matcher')
  .print();
await env.execute('Broadcast job');
