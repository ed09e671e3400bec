import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WATERMARK } from '../../src/api/eventtime.js';
import type { SubtaskMetrics } from '../../src/rest/Dispatcher.js';
import {
  backPressureLevel, toAggregatedSubtaskMetrics, toIOMetricsBody, toVertexBackPressure, toVertexMetrics, toVertexWatermarks,
} from '../../src/rest/vertexMetrics.js';

const sub = (subtask: number, values: Record<string, number>, watermark?: number): SubtaskMetrics => ({ subtask, attempt: 0, values, ...(watermark === undefined ? {} : { watermark }) });

test("backpressure levels: Flink's thresholds on the share of time backpressured", () => {
  assert.deepEqual([0, 0.1, 0.1001, 0.5, 0.51, 1].map(backPressureLevel), ['ok', 'ok', 'low', 'low', 'high', 'high']);
});

test('the vertex level is its worst subtask; ratios are per second shares; no subtasks is "deprecated"', () => {
  const b = toVertexBackPressure([
    sub(0, { backPressuredTimeMsPerSecond: 50, idleTimeMsPerSecond: 900, busyTimeMsPerSecond: 50 }),
    sub(1, { backPressuredTimeMsPerSecond: 800, idleTimeMsPerSecond: 100, busyTimeMsPerSecond: 100 }),
  ], 42);
  assert.equal(b.backpressureLevel, 'high');
  assert.equal(b['backpressure-level'], 'high');
  assert.deepEqual(b.subtasks!.map((s) => [s.subtask, s.backpressureLevel, s.ratio, s.idleRatio, s.busyRatio]), [[0, 'ok', 0.05, 0.9, 0.05], [1, 'high', 0.8, 0.1, 0.1]]);
  assert.deepEqual(toVertexBackPressure([]), { status: 'deprecated' });
});

test('aggregates over selected subtasks, only the asked aggregations; names without a get', () => {
  const subs = [sub(0, { numRecordsIn: 10 }), sub(1, { numRecordsIn: 30 }), sub(2, { numRecordsIn: 50 })];
  assert.deepEqual(toAggregatedSubtaskMetrics(subs, null, null, null), [{ id: 'numRecordsIn' }]);
  assert.deepEqual(toAggregatedSubtaskMetrics(subs, 'numRecordsIn,unknown', null, null), [{ id: 'numRecordsIn', min: 10, max: 50, avg: 30, sum: 90, skew: ((50 - 30) / 30) * 100 }]);
  assert.deepEqual(toAggregatedSubtaskMetrics(subs, 'numRecordsIn', 'sum,MAX', '0,2'), [{ id: 'numRecordsIn', max: 50, sum: 60 }]);
  assert.deepEqual(toAggregatedSubtaskMetrics(subs, 'numRecordsIn', 'min', '1-2'), [{ id: 'numRecordsIn', min: 30 }]);
});

test("metric values as Flink's strings: counters as longs, rates as doubles, watermarks as Java longs", () => {
  const subs = [sub(0, { numRecordsIn: 7, busyTimeMsPerSecond: 53, numRecordsInPerSecond: 16.5 }, Number.MIN_SAFE_INTEGER), sub(1, { numRecordsIn: 1 }, MAX_WATERMARK)];
  assert.deepEqual(toVertexMetrics(subs, '0.numRecordsIn,0.busyTimeMsPerSecond,0.numRecordsInPerSecond,0.currentInputWatermark,1.currentInputWatermark'), [
    { id: '0.numRecordsIn', value: '7' }, { id: '0.busyTimeMsPerSecond', value: '53.0' }, { id: '0.numRecordsInPerSecond', value: '16.5' },
    { id: '0.currentInputWatermark', value: '-9223372036854775808' }, { id: '1.currentInputWatermark', value: '9223372036854775807' },
  ]);
  assert.deepEqual(toVertexWatermarks([sub(0, {}, 1_700_000_000_123), sub(1, {})]), [{ id: '0.currentInputWatermark', value: '1700000000123' }]);
});

test('IOMetricsInfo: zero and incomplete where nothing is measured', () => {
  const none = toIOMetricsBody(undefined);
  assert.equal(none['read-records'], 0);
  assert.equal(none['read-records-complete'], false);
  const m = toIOMetricsBody({ readRecords: 4, writeRecords: 3, readBytes: 2, writeBytes: 1, complete: true, accumulatedBusyTime: 5, accumulatedIdleTime: 6, accumulatedBackPressuredTime: 7 });
  assert.deepEqual([m['read-records'], m['write-records'], m['read-bytes'], m['write-bytes'], m['write-bytes-complete'], m['accumulated-backpressured-time']], [4, 3, 2, 1, true, 7]);
});
