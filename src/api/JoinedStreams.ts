/**
 * Flink's window join and coGroup: `a.join(b).where(k1).equalTo(k2).window(assigner).apply(fn)`. As in Flink,
 * both inputs are tagged, unioned, keyed by their own selector and windowed; each fired window pairs the
 * elements of the two sides (join) or hands both groups over (coGroup). The window's contents are keyed
 * state like any window's, so they are in every checkpoint and restore with rescaling.
 */
import type { Collector, KeySelector } from './functions.js';
import type { DataStream, SingleOutputStreamOperator } from './DataStream.js';
import { toMillis, type TimeLike, type WindowAssigner } from './windows.js';

export interface JoinFunction<IN1, IN2, OUT> {
  join(first: IN1, second: IN2): OUT;
}
export interface FlatJoinFunction<IN1, IN2, OUT> {
  join(first: IN1, second: IN2, out: Collector<OUT>): void;
}
export interface CoGroupFunction<IN1, IN2, OUT> {
  coGroup(first: IN1[], second: IN2[], out: Collector<OUT>): void;
}

type Key<T, K> = KeySelector<T, K> | ((value: T) => K);
const keyFn = <T, K>(k: Key<T, K>): ((v: T) => K) => (typeof k === 'function' ? k : (v) => k.getKey(v));

/** A record of either side on the shared, keyed and windowed stream. */
interface Tagged<T1, T2> {
  side: 1 | 2;
  value: T1 | T2;
}

export class JoinedStreams<T1, T2> {
  constructor(private readonly first: DataStream<T1>, private readonly second: DataStream<T2>, private readonly kind: 'join' | 'coGroup') {}

  where<K>(key1: Key<T1, K>): { equalTo(key2: Key<T2, K>): { window(assigner: WindowAssigner): WindowedJoin<T1, T2, K> } } {
    return {
      equalTo: (key2) => ({
        window: (assigner) => new WindowedJoin<T1, T2, K>(this.first, this.second, keyFn(key1), keyFn(key2), assigner, this.kind),
      }),
    };
  }
}

export class WindowedJoin<T1, T2, K> {
  private lateness = 0;

  constructor(
    private readonly first: DataStream<T1>,
    private readonly second: DataStream<T2>,
    private readonly key1: (v: T1) => K,
    private readonly key2: (v: T2) => K,
    private readonly assigner: WindowAssigner,
    private readonly kind: 'join' | 'coGroup',
  ) {}

  allowedLateness(lateness: TimeLike): this {
    this.lateness = toMillis(lateness, 'allowedLateness');
    return this;
  }

  /** join: a JoinFunction (one result per pair) or FlatJoinFunction; coGroup: a CoGroupFunction. */
  apply<OUT>(
    fn: JoinFunction<T1, T2, OUT> | FlatJoinFunction<T1, T2, OUT> | CoGroupFunction<T1, T2, OUT> | ((a: any, b: any, out: Collector<OUT>) => OUT | void),
  ): SingleOutputStreamOperator<OUT> {
    const { key1, key2, kind } = this;
    const call = typeof fn === 'function' ? fn : kind === 'join' ? (fn as JoinFunction<T1, T2, OUT>).join.bind(fn) : (fn as CoGroupFunction<T1, T2, OUT>).coGroup.bind(fn);
    // A function declared with three parameters collects its results itself (FlatJoinFunction).
    const flat = call.length >= 3;
    const tagged = this.first
      .map((value: T1): Tagged<T1, T2> => ({ side: 1, value }))
      .name('Join: tag first')
      .union(this.second.map((value: T2): Tagged<T1, T2> => ({ side: 2, value })).name('Join: tag second'));
    return tagged
      .keyBy((t: Tagged<T1, T2>) => (t.side === 1 ? key1(t.value as T1) : key2(t.value as T2)))
      .window(this.assigner)
      .allowedLateness(this.lateness)
      .process<OUT>((_key, _ctx, elements: Tagged<T1, T2>[], out: Collector<OUT>) => {
        const left = elements.filter((e) => e.side === 1).map((e) => e.value as T1);
        const right = elements.filter((e) => e.side === 2).map((e) => e.value as T2);
        if (kind === 'coGroup') {
          (call as (a: T1[], b: T2[], o: Collector<OUT>) => void)(left, right, out);
          return;
        }
        for (const l of left) {
          for (const r of right) {
            if (flat) (call as (a: T1, b: T2, o: Collector<OUT>) => void)(l, r, out);
            else out.collect((call as (a: T1, b: T2) => OUT)(l, r));
          }
        }
      })
      .name(kind === 'join' ? 'Window Join' : 'Window CoGroup');
  }
}
