/**
 * The events and the per-address state machine of StateMachineExample, shared with the test variant of
 * that job. The event stream is a pure function of its index, so any run can be compared with any other.
 */
import { KeyedProcessFunction, ValueStateDescriptor, type Collector, type ValueState } from 'flink-ts';

export interface Event {
  address: string;
  type: string;
  index: number;
}

/** The valid path through the machine: Initial -a-> W -b-> X -c-> Y -d-> Z -e-> (cycle complete). */
const CYCLE = 'abcde';
const STATES = ['Initial', 'W', 'X', 'Y', 'Z'];

/** The i-th event: the j-th event of each address follows the cycle, except injected invalid ones. */
export function eventGenerator(keys: number, errorEvery: number): (i: number) => Event {
  return (i) => {
    const k = i % keys;
    const j = Math.floor(i / keys);
    const invalid = (i * 2654435761) % errorEvery === 0;
    return { address: `10.0.${Math.floor(k / 256)}.${k % 256}`, type: invalid ? 'g' : CYCLE[j % CYCLE.length], index: i };
  };
}

/** Alerts on events invalid in the current state; counts completed cycles. */
export class StateMachineMapper extends KeyedProcessFunction<string, Event, string> {
  private state!: ValueState<number>;
  private cycles!: ValueState<number>;

  override open(): void {
    this.state = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('state'));
    this.cycles = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('cycles'));
  }

  processElement(e: Event, _ctx: KeyedProcessFunction.Context<string>, out: Collector<string>): void {
    const current = this.state.value() ?? 0;
    if (e.type !== CYCLE[current]) {
      out.collect(`alert,${e.address},${STATES[current]},${e.type},${e.index}`);
      return; // an invalid event leaves the machine where it was
    }
    const next = (current + 1) % CYCLE.length;
    this.state.update(next);
    if (next === 0) {
      const n = (this.cycles.value() ?? 0) + 1;
      this.cycles.update(n);
      out.collect(`cycle,${e.address},${n}`);
    }
  }
}
