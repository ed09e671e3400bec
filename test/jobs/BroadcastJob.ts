/**
 * Test job for broadcast state: a keyed event stream connected to a broadcast stream of rules. Every
 * parallel instance gets every rule and reports the rules its broadcast state holds right after the put
 * (`rule,<j>,<subtask>,<keys>`); every event is processed once and reports the rules the keyed side can read
 * (`event,<i>,<key>,<k=v;…>`). With --gate <file>, events from --hold-at on wait until that file exists, so a
 * test can release them once every instance has every rule: those events must then see all of them.
 */
import {
  KeyedBroadcastProcessFunction, MapStateDescriptor, ParameterTool, StreamExecutionEnvironment, type Collector,
} from 'flink-ts';
import { GatedSequenceSource } from './lib/GatedSequenceSource.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const events = params.getInt('events', 200);
const rules = params.getInt('rules', 5);
const gate = params.has('gate') ? params.getRequired('gate') : undefined;
const holdAt = params.getInt('hold-at', Math.floor(events / 2));
const RULES = new MapStateDescriptor<number, string>('rules');

class Matcher extends KeyedBroadcastProcessFunction<number, number, number, string> {
  processElement(i: number, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext<number>, out: Collector<string>): void {
    const visible = [...ctx.getBroadcastState(RULES).immutableEntries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}=${v}`);
    out.collect(`event,${i},${ctx.getCurrentKey()},${visible.join(';')}`);
  }
  processBroadcastElement(j: number, ctx: KeyedBroadcastProcessFunction.Context, out: Collector<string>): void {
    const state = ctx.getBroadcastState(RULES);
    state.put(j, `rule-${j}`);
    out.collect(`rule,${j},${this.getRuntimeContext().getIndexOfThisSubtask()},${[...state.keys()].sort((a, b) => a - b).join(';')}`);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const ruleStream = env.fromSequence(0, rules - 1).uid('rules').setParallelism(1).broadcast(RULES);
env
  .fromSource(new GatedSequenceSource(events, holdAt, gate), undefined, 'events')
  .uid('events')
  .keyBy((i: number) => i % 7)
  .connect(ruleStream)
  .process(new Matcher())
  .uid('matcher')
  .print();
await env.execute('Broadcast job');
