/**
 * Test job for broadcast state: a small bounded rule stream (group g -> factor g + 2, number keys, object values) is
 * broadcast to a KeyedBroadcastProcessFunction over a keyed event stream (numbers 0..count-1, key `k<n % keys>`,
 * group n % rules). An event whose rule is there emits `data,<n>,<key>,<n * factor>`; one that comes before its rule
 * waits in keyed list state and is retried by a processing-time timer and, at the end of input, by an event-time
 * timer that only the final watermark reaches (Flink drops pending processing-time timers when the input ends, and
 * the last rule may come just before that end). So the output does not depend on how the two inputs interleave (a
 * rule still missing after --give-up ms is emitted as `missing,<n>`, so a lost broadcast state shows in the output
 * instead of hanging the job). --rule-rate slows the rules down, so that events wait for them.
 *
 * The first event a subtask sees once all rules are there makes it emit `rules,s<i>of<p>,<its broadcast state>`.
 * The rule source is bounded and fast: after a savepoint and a restore (at any parallelism) it emits nothing more,
 * so the rules each new subtask announces come from the restored broadcast state.
 *
 * With --plain the event stream is not keyed and a BroadcastProcessFunction does the same: an event before its rule
 * waits in the instance (not in state: --plain is for runs without restore) until processBroadcastElement brings it.
 *
 *   flink run test/jobs/BroadcastStateJob.ts --output <dir> [--count N] [--rate R] [--keys K] [--rules G] [--rule-rate R] [--give-up MS] [--plain]
 */
import {
  BroadcastProcessFunction, DataGeneratorSource, FileSink, KeyedBroadcastProcessFunction, ListStateDescriptor, MapStateDescriptor, ParameterTool, RateLimiterStrategy,
  StreamExecutionEnvironment, type Collector, type ListState,
} from 'flink-ts';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 3000);
const rate = params.getInt('rate', 1000);
const keys = params.getInt('keys', 12);
const rules = params.getInt('rules', 4);
const giveUp = params.getInt('give-up', 20_000);
const ruleRate = params.getInt('rule-rate', 1000);

interface Rule { group: number; factor: number }
interface Event { n: number; key: string; group: number; at?: number }

const RULES = new MapStateDescriptor<number, Rule>('rules');
/** No source emits watermarks: only the final one (at the end of input) reaches this time. */
const END_OF_INPUT = Number.MAX_SAFE_INTEGER;


/** Once a subtask holds every rule: one `rules,s<i>of<n>,<group:factor ...>` line; true when written. */
function announceRules(entries: [number, Rule][], rc: { getIndexOfThisSubtask(): number; getNumberOfParallelSubtasks(): number }, out: Collector<string>): boolean {
  if (entries.length < rules) return false;
  const shown = entries.sort(([a], [b]) => a - b).map(([g, r]) => `${g}:${r.factor}`).join(' ');
  out.collect(`rules,s${rc.getIndexOfThisSubtask()}of${rc.getNumberOfParallelSubtasks()},${shown}`);
  return true;
}
class ApplyRules extends KeyedBroadcastProcessFunction<string, Event, Rule, string> {
  private pending!: ListState<Event>;
  private announced = false;

  override open(): void {
    this.pending = this.getRuntimeContext().getListState(new ListStateDescriptor<Event>('pending'));
  }

  private announce(state: { immutableEntries(): [number, Rule][] }, out: Collector<string>): void {
    if (!this.announced) this.announced = announceRules(state.immutableEntries(), this.getRuntimeContext(), out);
  }

  processElement(e: Event, ctx: KeyedBroadcastProcessFunction.ReadOnlyContext<string>, out: Collector<string>): void {
    const state = ctx.getBroadcastState(RULES);
    this.announce(state, out);
    const rule = state.get(e.group);
    if (rule) {
      out.collect(`data,${e.n},${e.key},${e.n * rule.factor}`);
      return;
    }
    this.pending.add({ ...e, at: Date.now() });
    ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 50);
    ctx.timerService().registerEventTimeTimer(END_OF_INPUT); // one timer per key, however many events wait
  }

  processBroadcastElement(r: Rule, ctx: KeyedBroadcastProcessFunction.Context, out: Collector<string>): void {
    ctx.getBroadcastState(RULES).put(r.group, r);
    this.announce(ctx.getBroadcastState(RULES), out); // also when every event came before the last rule
  }

  override onTimer(_t: number, ctx: KeyedBroadcastProcessFunction.OnTimerContext<string>, out: Collector<string>): void {
    const state = ctx.getBroadcastState(RULES);
    const ended = ctx.timeDomain() === 'EVENT_TIME'; // the end of input: no rule comes any more
    const still: Event[] = [];
    for (const e of this.pending.get()) {
      const rule = state.get(e.group);
      if (rule) out.collect(`data,${e.n},${e.key},${e.n * rule.factor}`);
      else if (ended || Date.now() - e.at! > giveUp) out.collect(`missing,${e.n}`);
      else still.push(e);
    }
    this.pending.update(still);
    if (still.length > 0) ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 50);
  }
}

/** The non-keyed variant (--plain): waiting events are released by the rule that completes them. */
class ApplyRulesPlain extends BroadcastProcessFunction<Event, Rule, string> {
  private waiting: Event[] = [];
  private announced = false;

  private announce(state: { immutableEntries(): [number, Rule][] }, out: Collector<string>): void {
    if (!this.announced) this.announced = announceRules(state.immutableEntries(), this.getRuntimeContext(), out);
  }

  processElement(e: Event, ctx: BroadcastProcessFunction.ReadOnlyContext, out: Collector<string>): void {
    const state = ctx.getBroadcastState(RULES);
    this.announce(state, out);
    const rule = state.get(e.group);
    if (rule) out.collect(`data,${e.n},${e.key},${e.n * rule.factor}`);
    else this.waiting.push(e);
  }

  processBroadcastElement(r: Rule, ctx: BroadcastProcessFunction.Context, out: Collector<string>): void {
    ctx.getBroadcastState(RULES).put(r.group, r);
    this.announce(ctx.getBroadcastState(RULES), out); // also when every event came before the last rule
    const ready = this.waiting.filter((e) => e.group === r.group);
    this.waiting = this.waiting.filter((e) => e.group !== r.group);
    for (const e of ready) out.collect(`data,${e.n},${e.key},${e.n * r.factor}`);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const ruleStream = env
  .fromSource(new DataGeneratorSource((g): Rule => ({ group: g, factor: g + 2 }), rules, RateLimiterStrategy.perSecond(ruleRate)), undefined, 'Rules')
  .uid('rules')
  .setParallelism(1)
  .broadcast(RULES);
const events = env
  .fromSource(new DataGeneratorSource((n): Event => ({ n, key: `k${n % keys}`, group: n % rules }), count, RateLimiterStrategy.perSecond(rate)), undefined, 'Events')
  .uid('events');
(params.has('plain') ? events.connect(ruleStream).process(new ApplyRulesPlain()) : events.keyBy((e) => e.key).connect(ruleStream).process(new ApplyRules()))
  .uid('apply-rules')
  .name('Apply rules')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Broadcast state job');
