import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Configuration } from '../../src/config/Configuration.js';
import { FlinkTsOptions } from '../../src/config/ConfigOptions.js';
import { isFlinkError } from '../../src/core/FlinkError.js';
import { nextSavepointDelay, parseSavepointSchedule, PeriodicSavepointScheduler } from '../../src/checkpoint/PeriodicSavepoints.js';
import { configuredRetention } from '../../src/client/SavepointRetention.js';

const configError = (re: RegExp) => (e: unknown) => isFlinkError(e) && e.kind === 'config' && re.test(e.message);

test('periodic.savepoint.interval: a duration, a cron expression, or 0 for none', () => {
  assert.deepEqual(parseSavepointSchedule('1 h'), { type: 'interval', intervalMs: 3_600_000 });
  assert.deepEqual(parseSavepointSchedule('30min'), { type: 'interval', intervalMs: 1_800_000 });
  assert.equal(parseSavepointSchedule('0'), undefined);
  assert.equal(parseSavepointSchedule('0 s'), undefined);
  assert.equal(parseSavepointSchedule(' '), undefined);
  assert.deepEqual(parseSavepointSchedule('0 * * * *'), { type: 'cron', expression: '0 * * * *' });
  assert.deepEqual(parseSavepointSchedule('*/10 * * * * *'), { type: 'cron', expression: '*/10 * * * * *' });
  assert.throws(() => parseSavepointSchedule('hourly'), configError(/expected a duration .*or a cron expression/));
  assert.throws(() => parseSavepointSchedule('61 * * * *'), configError(/minute: 61/));
  assert.throws(() => parseSavepointSchedule('* * *'), configError(/cron expression/));
  // Read under the operator's full key too, and named in the error.
  const cfg = Configuration.fromMap({ 'kubernetes.operator.periodic.savepoint.interval': '10 min' });
  assert.deepEqual(cfg.getOptional(FlinkTsOptions.PERIODIC_SAVEPOINT_INTERVAL), { type: 'interval', intervalMs: 600_000 });
  assert.throws(() => Configuration.fromMap({ 'periodic.savepoint.interval': 'soon' }).validate(),
    configError(/^Invalid value 'soon' for configuration key 'periodic.savepoint.interval'/));
});

test('the next cron time is computed in local time, from the given moment', () => {
  const at = (h: number, m: number, s: number) => new Date(2026, 5, 1, h, m, s).getTime();
  assert.equal(nextSavepointDelay({ type: 'cron', expression: '0 * * * *' }, at(10, 59, 30)), 30_000);
  assert.equal(nextSavepointDelay({ type: 'cron', expression: '0 * * * *' }, at(11, 0, 0)), 3_600_000);
  assert.equal(nextSavepointDelay({ type: 'cron', expression: '30 2 * * *' }, at(2, 31, 0)), (24 * 60 - 1) * 60_000);
  assert.equal(nextSavepointDelay({ type: 'cron', expression: '*/15 * * * * *' }, at(8, 0, 14)), 1000);
  assert.equal(nextSavepointDelay({ type: 'interval', intervalMs: 5000 }, at(8, 0, 0)), 5000);
});

test('the scheduler triggers on schedule, goes on after a failed savepoint, and stops', async () => {
  let calls = 0;
  const failures: string[] = [];
  const s = new PeriodicSavepointScheduler({ type: 'interval', intervalMs: 20 }, async () => {
    calls++;
    if (calls === 2) throw new Error('savepoint declined');
  }, (e) => failures.push(e.message));
  s.start();
  s.start(); // idempotent: one schedule, not two
  const deadline = Date.now() + 10_000;
  while (calls < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  s.stop();
  const stoppedAt = calls;
  assert.ok(stoppedAt >= 4, `triggered ${stoppedAt} times`);
  assert.deepEqual(failures, ['savepoint declined']);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, stoppedAt, 'no savepoint after stop()');
});

test('stopped and started again while a savepoint is being taken: still one schedule, never two savepoints at once', async () => {
  let active = 0;
  let maxActive = 0;
  let calls = 0;
  let release!: () => void;
  const s = new PeriodicSavepointScheduler({ type: 'interval', intervalMs: 10 }, async () => {
    calls++;
    active++;
    maxActive = Math.max(maxActive, active);
    if (calls === 1) await new Promise<void>((r) => (release = r));
    else await new Promise((r) => setTimeout(r, 5));
    active--;
  }, () => {});
  s.start();
  const until = async (p: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!p() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  };
  await until(() => calls === 1);
  // As a failover and the RUNNING that follows it do, during the first savepoint.
  s.stop();
  s.start();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls, 1, 'no second savepoint while the first is in flight');
  release();
  await until(() => calls >= 5);
  s.stop();
  assert.equal(maxActive, 1);
  assert.ok(calls >= 5);
});

test('retention after periodic savepoints: only when max-count or max-age is set explicitly, the other from its default', () => {
  assert.equal(configuredRetention(new Configuration()), undefined);
  assert.deepEqual(configuredRetention(new Configuration([['state.savepoints.history.max-count', '2']])), { maxCount: 2, maxAgeMs: undefined });
  assert.deepEqual(configuredRetention(new Configuration([['state.savepoints.history.max-age', '7 d']])), { maxCount: 10, maxAgeMs: 7 * 86_400_000 });
});
