/**
 * Test job for `connect` of two keyed streams: orders and payments, each keyed by order id, matched by a
 * KeyedCoProcessFunction that keeps whichever side came first in keyed state. An order or payment still
 * unmatched at the end is reported by an event-time timer (they fire at the end of the bounded input), so
 * timers registered before a failure or a restore must fire after it. Orders whose id is a multiple of 5
 * are never paid; payments arrive in reverse order from another source with another parallelism. The
 * committed lines do not depend on how the inputs interleave. With --fail-at, the function throws once
 * (first attempt) at that order.
 */
import {
  DataGeneratorSource, FileSink, KeyedCoProcessFunction, ParameterTool, RateLimiterStrategy, StreamExecutionEnvironment, ValueStateDescriptor,
  type Collector, type ValueState,
} from 'flink-ts';

interface Order { id: number; amount: number }
interface Payment { order: number; paid: number }

const params = ParameterTool.fromArgs(process.argv.slice(2));
const count = params.getInt('count', 1000);
const rate = params.getInt('rate', 5000);
const failAt = params.getInt('fail-at', -1);

class Matcher extends KeyedCoProcessFunction<number, Order, Payment, string> {
  private order!: ValueState<Order>;
  private payment!: ValueState<Payment>;
  override open(): void {
    this.order = this.getRuntimeContext().getState(new ValueStateDescriptor<Order>('order'));
    this.payment = this.getRuntimeContext().getState(new ValueStateDescriptor<Payment>('payment'));
  }
  processElement1(o: Order, ctx: KeyedCoProcessFunction.Context<number>, out: Collector<string>): void {
    if (o.id === failAt && this.getRuntimeContext().getAttemptNumber() === 0) throw new Error(`Injected failure at order ${o.id}`);
    const p = this.payment.value();
    if (p) {
      out.collect(`matched,${ctx.getCurrentKey()},${o.amount},${p.paid}`);
      this.payment.clear();
      ctx.timerService().deleteEventTimeTimer(o.id);
    } else {
      this.order.update(o);
      ctx.timerService().registerEventTimeTimer(o.id);
    }
  }
  processElement2(p: Payment, ctx: KeyedCoProcessFunction.Context<number>, out: Collector<string>): void {
    const o = this.order.value();
    if (o) {
      out.collect(`matched,${ctx.getCurrentKey()},${o.amount},${p.paid}`);
      this.order.clear();
      ctx.timerService().deleteEventTimeTimer(p.order);
    } else {
      this.payment.update(p);
      ctx.timerService().registerEventTimeTimer(p.order);
    }
  }
  override onTimer(ts: number, ctx: KeyedCoProcessFunction.OnTimerContext<number>, out: Collector<string>): void {
    const o = this.order.value();
    out.collect(`unmatched,${ctx.getCurrentKey()},${ts},${o ? `order ${o.amount}` : `payment ${this.payment.value()?.paid}`}`);
    this.order.clear();
    this.payment.clear();
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const orders = env
  .fromSource(new DataGeneratorSource((i): Order => ({ id: i, amount: i * 3 }), count, RateLimiterStrategy.perSecond(rate)), undefined, 'orders')
  .uid('orders')
  .setParallelism(1);
const payments = env
  .fromSource(new DataGeneratorSource((i): Payment => ({ order: count - 1 - i, paid: (count - 1 - i) * 3 }), count, RateLimiterStrategy.perSecond(rate)), undefined, 'payments')
  .uid('payments')
  .setParallelism(2)
  .filter((p: Payment) => p.order % 5 !== 0)
  .uid('unpaid-orders');
orders
  .keyBy((o: Order) => o.id)
  .connect(payments.keyBy((p: Payment) => p.order))
  .process(new Matcher())
  .uid('matcher')
  .sinkTo(FileSink.forRowFormat<string>(params.getRequired('output')).build())
  .uid('sink');
await env.execute('Keyed co-process job');
