import { MAX_WATERMARK } from '../api/eventtime.js';
import type { IOMetrics, SubtaskMetrics } from './Dispatcher.js';
import type { IOMetricsBody } from './messages.js';

/** Flink's metric value strings: counters as longs, rates as Java doubles ("12.0"). */
const COUNTERS = new Set(['numRecordsIn', 'numRecordsOut', 'numBytesIn', 'numBytesOut', 'accumulateBusyTimeMs', 'accumulateIdleTimeMs', 'accumulateBackPressuredTimeMs']);
const WATERMARK = 'currentInputWatermark';
const LONG_MIN = '-9223372036854775808';
const LONG_MAX = '9223372036854775807';

function javaDouble(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

function valueString(name: string, x: number): string {
  return COUNTERS.has(name) ? String(Math.round(x)) : javaDouble(x);
}

/** The watermark as Flink's long: Long.MIN_VALUE before the first one, Long.MAX_VALUE at the end of input. */
function watermarkString(w: number): string {
  if (w <= Number.MIN_SAFE_INTEGER) return LONG_MIN;
  return w >= MAX_WATERMARK ? LONG_MAX : String(Math.trunc(w));
}

/** Every metric of one subtask by name, the watermark included, as the numbers the aggregations use. */
function named(s: SubtaskMetrics): Map<string, { text: string; value: number }> {
  const m = new Map<string, { text: string; value: number }>();
  for (const [k, v] of Object.entries(s.values)) m.set(k, { text: valueString(k, v), value: v });
  if (s.watermark !== undefined) m.set(WATERMARK, { text: watermarkString(s.watermark), value: s.watermark });
  return m;
}

function selected(get: string | null): string[] | undefined {
  return get === null ? undefined : get.split(',').map((x) => x.trim()).filter(Boolean);
}

/** GET /jobs/:id/vertices/:vid/metrics[?get=]: "<subtask>.<metric>" ids, with values when asked for by name. */
export function toVertexMetrics(subtasks: SubtaskMetrics[], get: string | null): Array<{ id: string; value?: string }> {
  const all = new Map<string, string>();
  for (const s of subtasks) for (const [k, v] of named(s)) all.set(`${s.subtask}.${k}`, v.text);
  const wanted = selected(get);
  if (!wanted) return [...all.keys()].map((id) => ({ id }));
  return wanted.filter((id) => all.has(id)).map((id) => ({ id, value: all.get(id)! }));
}

/** GET /jobs/:id/vertices/:vid/watermarks: each subtask's currentInputWatermark (none for a source, as in Flink). */
export function toVertexWatermarks(subtasks: SubtaskMetrics[]): Array<{ id: string; value: string }> {
  return subtasks.flatMap((s) => (s.watermark === undefined ? [] : [{ id: `${s.subtask}.${WATERMARK}`, value: watermarkString(s.watermark) }]));
}

const AGGREGATIONS = ['min', 'max', 'avg', 'sum', 'skew'] as const;
type Aggregation = (typeof AGGREGATIONS)[number];

/** Flink's "1,3,5-9" subtask ranges; undefined: all. */
function subtaskFilter(spec: string | null): ((i: number) => boolean) | undefined {
  if (spec === null || spec.trim() === '') return undefined;
  const ranges = spec.split(',').map((p) => p.trim()).filter(Boolean).map((p) => {
    const [a, b] = p.split('-').map((x) => Number(x.trim()));
    return [a, b ?? a] as const;
  });
  return (i) => ranges.some(([a, b]) => i >= a && i <= b);
}

/**
 * GET /jobs/:id/vertices/:vid/subtasks/metrics[?get=&agg=&subtasks=]: metric names without a subtask
 * prefix; with `get`, each metric aggregated over the (selected) subtasks: min, max, avg, sum and skew (how far
 * the largest is above the average, in percent of it; 0 for one subtask), all by default.
 */
export function toAggregatedSubtaskMetrics(
  subtasks: SubtaskMetrics[], get: string | null, agg: string | null, subtaskSpec: string | null,
): Array<{ id: string } & Partial<Record<Aggregation, number>>> {
  const pick = subtaskFilter(subtaskSpec);
  const chosen = subtasks.filter((s) => !pick || pick(s.subtask)).map(named);
  const names = new Set<string>();
  for (const m of chosen) for (const k of m.keys()) names.add(k);
  const wanted = selected(get);
  if (!wanted) return [...names].map((id) => ({ id }));
  const aggs = agg === null ? AGGREGATIONS : AGGREGATIONS.filter((a) => agg.split(',').map((x) => x.trim().toLowerCase()).includes(a));
  return wanted.filter((id) => names.has(id)).map((id) => {
    const xs = chosen.map((m) => m.get(id)?.value).filter((x): x is number => x !== undefined);
    const sum = xs.reduce((a, b) => a + b, 0);
    const max = Math.max(...xs), avg = sum / xs.length;
    const all: Record<Aggregation, number> = { min: Math.min(...xs), max, avg, sum, skew: avg > 0 ? ((max - avg) / avg) * 100 : 0 };
    return { id, ...Object.fromEntries(aggs.map((a) => [a, all[a]])) };
  });
}

export type BackPressureLevel = 'ok' | 'low' | 'high';

/** Flink's thresholds on the share of time backpressured: at most 10% ok, at most 50% low, above high. */
export function backPressureLevel(ratio: number): BackPressureLevel {
  return ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high';
}

export interface JobVertexBackPressureBody {
  status: 'ok' | 'deprecated';
  backpressureLevel?: BackPressureLevel;
  'end-timestamp'?: number;
  subtasks?: Array<{ subtask: number; backpressureLevel: BackPressureLevel; ratio: number; idleRatio: number; busyRatio: number; 'backpressure-level': BackPressureLevel }>;
  /** Flink 2.x sends the level under both names. */
  'backpressure-level'?: BackPressureLevel;
}

/**
 * GET /jobs/:id/vertices/:vid/backpressure, from backPressuredTimeMsPerSecond as Flink 1.13+ measures it
 * (no stack sampling): each subtask's share of time backpressured, idle and busy; the vertex's level is its
 * worst subtask's. "deprecated" (Flink's word for "no metrics yet") until a subtask reported.
 */
export function toVertexBackPressure(subtasks: SubtaskMetrics[], now = Date.now()): JobVertexBackPressureBody {
  if (subtasks.length === 0) return { status: 'deprecated' };
  const infos = subtasks.map((s) => {
    const ratio = (s.values.backPressuredTimeMsPerSecond ?? 0) / 1000;
    const level = backPressureLevel(ratio);
    return {
      subtask: s.subtask, backpressureLevel: level, ratio,
      idleRatio: (s.values.idleTimeMsPerSecond ?? 0) / 1000, busyRatio: (s.values.busyTimeMsPerSecond ?? 0) / 1000, 'backpressure-level': level,
    };
  });
  const level = backPressureLevel(Math.max(...infos.map((i) => i.ratio)));
  return { status: 'ok', backpressureLevel: level, 'end-timestamp': now, subtasks: infos, 'backpressure-level': level };
}

/** A vertex's IOMetricsInfo in the job details; all zero and incomplete where the cluster measures nothing. */
export function toIOMetricsBody(m: IOMetrics | undefined): IOMetricsBody {
  const c = m?.complete ?? false;
  return {
    'read-bytes': m?.readBytes ?? 0, 'read-bytes-complete': c, 'write-bytes': m?.writeBytes ?? 0, 'write-bytes-complete': c,
    'read-records': m?.readRecords ?? 0, 'read-records-complete': c, 'write-records': m?.writeRecords ?? 0, 'write-records-complete': c,
    'accumulated-backpressured-time': m?.accumulatedBackPressuredTime ?? 0, 'accumulated-idle-time': m?.accumulatedIdleTime ?? 0,
    'accumulated-busy-time': m?.accumulatedBusyTime ?? 0,
  };
}
