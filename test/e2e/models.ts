/**
 * Independent oracles for the exactly-once e2e tests: what each test job must commit, computed from its input
 * by a model written here — never by the engine. A test compares a run with failures, restores or rescaling
 * against this (a multiset: sorted, duplicates kept), so an engine bug that a failure-free run would share (a
 * double commit at end of input, a dropped first record, state trimmed wrongly) fails it.
 *
 * The input generators are the jobs' own (they define the input, not the processing); everything downstream of
 * the source is modelled here from the job's documented semantics.
 */
import { basename } from 'node:path';
import { eventGenerator } from '../../examples/lib/StateMachine.js';

type Model = (arg: (name: string, dflt: number) => number, flag: (name: string) => boolean) => string[];

/** StateMachineExample (and its variant): an alert per event invalid in the address's state, a line per cycle. */
const stateMachine: Model = (arg, flag) => {
  const count = arg('count', Number.NaN);
  if (!Number.isSafeInteger(count)) throw new Error('the state-machine model needs a bounded --count');
  const event = eventGenerator(arg('keys', 100), arg('error-every', 97));
  const out: string[] = [];
  if (flag('without-state-machine')) {
    for (let i = 0; i < count; i++) {
      const e = event(i);
      out.push(`event,${e.address},${e.type},${e.index}`);
    }
    return out;
  }
  const CYCLE = 'abcde';
  const NAMES = ['Initial', 'W', 'X', 'Y', 'Z'];
  const at = new Map<string, { state: number; cycles: number }>();
  for (let i = 0; i < count; i++) {
    const e = event(i);
    const m = at.get(e.address) ?? { state: 0, cycles: 0 };
    at.set(e.address, m);
    if (e.type !== CYCLE[m.state]) {
      out.push(`alert,${e.address},${NAMES[m.state]},${e.type},${e.index}`);
      continue;
    }
    m.state = (m.state + 1) % CYCLE.length;
    if (m.state === 0) out.push(`cycle,${e.address},${++m.cycles}`);
  }
  return out;
};

/** FailOnceJob: the running sum per key (i % 10) of 0..count-1, one line per record. */
const failOnce: Model = (arg) => {
  const sums = new Array<number>(10).fill(0);
  const out: string[] = [];
  for (let i = 0; i < arg('count', 10000); i++) out.push(String((sums[i % 10]! += i)));
  return out;
};

/** UnionJob: three sources of `count` values each (offsets 0, count, 2·count); `r,v` per value, `c,key,n` per key. */
const union: Model = (arg) => {
  const count = arg('count', 1000);
  const perKey = new Array<number>(10).fill(0);
  const out: string[] = [];
  for (let v = 0; v < 3 * count; v++) out.push(`r,${v}`, `c,${v % 10},${++perKey[v % 10]!}`);
  return out;
};

/**
 * KeyedCoProcessJob: order i (amount 3i) is paid (3i) unless i % 5 === 0; every paid order matches, every unpaid
 * one is reported by its timer (at time i) at the end of input. No watermarks before the end: no timer fires early.
 */
const keyedCoProcess: Model = (arg) => {
  const out: string[] = [];
  for (let i = 0; i < arg('count', 1000); i++) out.push(i % 5 === 0 ? `unmatched,${i},${i},order ${i * 3}` : `matched,${i},${i * 3},${i * 3}`);
  return out;
};

/** StateKindsJob: every keyed state kind per key, TTL of a century (never expires in a test nor in a committed fixture). */
const stateKinds: Model = (arg) => {
  const keys = arg('keys', 12);
  interface PerKey { n: number; recent: number[]; sum: bigint; seen: Set<number>; first: number; buckets: Map<string, { n: number; last: number }> }
  const at = new Map<string, PerKey>();
  const out: string[] = [];
  for (let i = 0; i < arg('count', 3000); i++) {
    const key = `key-${i % keys}`;
    const value = (i * 7919) % 101;
    let s = at.get(key);
    if (!s) at.set(key, (s = { n: 0, recent: [], sum: 0n, seen: new Set(), first: i, buckets: new Map() }));
    s.n++;
    s.recent = [...s.recent, value].slice(-3);
    s.sum += BigInt(value) * 1_000_000_000_000n;
    s.seen.add(value);
    const b = s.buckets.get(`b${value % 4}`) ?? { n: 0, last: 0 };
    s.buckets.set(`b${value % 4}`, { n: b.n + 1, last: i });
    if (s.n % 10 === 0) s.buckets.delete(`b${(value + 1) % 4}`);
    const hist = [...s.buckets].map(([k, v]) => `${k}=${v.n}/${v.last}`).sort().join(';');
    const distinct = `${s.seen.size}@${new Date(Date.UTC(2024, 0, 1) + s.first * 1000).toISOString()}`;
    out.push([key, i, s.n, s.recent.join('|'), s.sum, distinct, hist].join(','));
  }
  return out;
};

/**
 * AlignmentJob (test/jobs/AlignmentJob.ts): every record once, keyed by its half (0… or 1000…) and `i % 10`, with
 * that key's running count: `key,i,n`, sorted.
 */
export function alignmentModel(count: number): string[] {
  const KEYS = 10;
  const half = Math.floor(count / 2);
  const counts = new Map<number, number>();
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = (i < half ? 0 : 1000) + (i % KEYS);
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    out.push(`${key},${i},${n}`);
  }
  return out.sort();
}

/**
 * WindowJob: Flink's event-time window semantics over the job's events, watermark max(ts) - 301 after each event.
 * An element goes to each of its windows that is not late (maxTimestamp + allowedLateness > watermark); when all
 * are late and the element itself is (ts + allowedLateness <= watermark), to the late output. A window fires when
 * the watermark passes its maxTimestamp, again on every element added after that (within the lateness), and is
 * dropped at maxTimestamp + allowedLateness; the end of input fires everything left. Session windows merge.
 */
export function windowModel(kind: string, count: number, keys = 5): { main: string[]; late: string[] } {
  const SIZE = { tumbling: 500, sliding: 600, session: 400 }[kind];
  if (SIZE === undefined) throw new Error(`no window model for kind ${kind}`);
  const lateness = kind === 'tumbling' ? 200 : 0;
  const floorTo = (t: number, size: number) => t - (((t % size) + size) % size);
  interface Win { key: number; start: number; end: number; events: [number, number, number][]; fired: boolean }
  const live = new Map<string, Win>(); // by key/start (sessions: by key/start of the merged window)
  const main: string[] = [];
  const late: string[] = [];
  const fire = (w: Win) => {
    w.fired = true;
    if (kind === 'tumbling') {
      const r = w.events.reduce((a, b) => [a[0], Math.max(a[1], b[1]), a[2] + b[2]]);
      main.push(`tumbling,${w.key},${w.start},${w.end},${JSON.stringify([r])}`);
    } else if (kind === 'sliding') {
      main.push(`sliding,${w.key},${w.start},${w.end},${JSON.stringify([[w.events.length, w.events.reduce((n, e) => n + e[2], 0)]])}`);
    } else {
      const values = w.events.map((e) => e[2]).sort((a, b) => a - b);
      main.push(`session,${w.key},${w.start},${w.end},${values.length},${values.join(' ')}`);
    }
  };
  let wm = Number.MIN_SAFE_INTEGER;
  let max = Number.MIN_SAFE_INTEGER + 301;
  const advance = (to: number) => {
    wm = to;
    for (const [id, w] of [...live].sort((a, b) => a[1].end - b[1].end)) {
      if (!w.fired && w.end - 1 <= wm) fire(w);
      if (w.end - 1 + lateness <= wm) live.delete(id);
    }
  };
  for (let i = 0; i < count; i++) {
    const ts = i * 10 + Math.floor(i / 60) * 1000 - ((i * 7919) % 13) * 10 - (i % 97 === 50 ? 2000 : 0);
    const e: [number, number, number] = [i % keys, ts, i];
    const key = e[0];
    const isLate = (end: number) => end - 1 + lateness <= wm;
    let added = false;
    if (kind === 'session') {
      let start = ts;
      let end = ts + SIZE;
      const merged: Win[] = [];
      for (const w of live.values()) if (w.key === key && w.start < end && start < w.end) merged.push(w);
      for (const w of merged) {
        start = Math.min(start, w.start);
        end = Math.max(end, w.end);
      }
      if (!isLate(end)) {
        for (const w of merged) live.delete(`${key}/${w.start}`);
        const w: Win = { key, start, end, events: [...merged.flatMap((m) => m.events), e], fired: false };
        live.set(`${key}/${start}`, w);
        added = true;
      }
    } else {
      const slide = kind === 'sliding' ? 200 : SIZE;
      for (let start = floorTo(ts, slide); start > ts - SIZE; start -= slide) {
        const end = start + SIZE;
        if (isLate(end)) continue;
        const id = `${key}/${start}`;
        let w = live.get(id);
        if (!w) live.set(id, (w = { key, start, end, events: [], fired: false }));
        w.events.push(e);
        added = true;
        if (w.end - 1 <= wm) fire(w); // a late firing, within the allowed lateness
      }
    }
    if (!added && ts + lateness <= wm) late.push(`late,${e.join(',')}`);
    if (ts > max) max = ts;
    if (max - 301 > wm) advance(max - 301);
  }
  advance(Number.MAX_SAFE_INTEGER);
  return { main: main.sort(), late: late.sort() };
}

const MODELS: Record<string, Model> = {
  'StateMachineExample.ts': stateMachine,
  'StateMachineVariant.ts': stateMachine,
  'FailOnceJob.ts': failOnce,
  'UnionJob.ts': union,
  'KeyedCoProcessJob.ts': keyedCoProcess,
  'StateKindsJob.ts': stateKinds,
};

/** The sorted lines `jobFile` run with `args` must commit, or undefined when no model is written for it. */
export function modelOutput(jobFile: string, args: string[]): string[] | undefined {
  const model = MODELS[basename(jobFile)];
  if (!model) return undefined;
  const arg = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  return model(arg, (name) => args.includes(`--${name}`)).sort();
}
