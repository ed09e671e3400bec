import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Configuration } from '../../src/config/Configuration.js';
import { restartStrategyFor, type RestartStrategy } from '../../src/config/ConfigOptions.js';
import { isFlinkError } from '../../src/core/FlinkError.js';
import { newJobId } from '../../src/core/ids.js';
import { logFileFor, runJob } from '../../src/client/JobRunner.js';
import { RestartBackoffTimeStrategy } from '../../src/runtime/RestartBackoffTimeStrategy.js';

const exponential = (o: Partial<Extract<RestartStrategy, { type: 'exponential-delay' }>> = {}): RestartStrategy => ({
  type: 'exponential-delay', initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2, resetThresholdMs: 10_000,
  jitterFactor: 0, attempts: 100, ...o,
});

/** Backoffs of failures at the given times (one restart per failure while allowed). */
function backoffs(s: RestartBackoffTimeStrategy, times: number[]): Array<number | 'no restart'> {
  return times.map((t) => {
    s.notifyFailure(t);
    return s.canRestart() ? s.backoffTimeMs() : 'no restart';
  });
}

describe('restart strategy rules (a manual clock)', () => {
  test('fixed-delay allows its attempts, each after the same delay', () => {
    const s = new RestartBackoffTimeStrategy({ type: 'fixed-delay', attempts: 2, delayMs: 300 });
    assert.deepEqual(backoffs(s, [0, 1, 2]), [300, 300, 'no restart']);
  });

  test('none never restarts', () => {
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy({ type: 'none' }), [0]), ['no restart']);
  });

  test('failure-rate: max failures within one interval restart, one more fails; failures that left the interval do not count', () => {
    const rule: RestartStrategy = { type: 'failure-rate', maxFailuresPerInterval: 3, intervalMs: 1000, delayMs: 50 };
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy(rule), [0, 100, 200, 300]), [50, 50, 50, 'no restart']);
    // Spread out: never more than 3 inside any 1 s window.
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy(rule), [0, 400, 800, 1200, 1600, 2000, 2400]), [50, 50, 50, 50, 50, 50, 50]);
    // Exactly at the interval's end the first failure still counts (Flink: older than the interval to drop out).
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy(rule), [0, 1, 2, 1000]), [50, 50, 50, 'no restart']);
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy(rule), [0, 1, 2, 1001]), [50, 50, 50, 50]);
    // Flink's default of 1 per interval: the first failure restarts, a second within the minute fails.
    const one: RestartStrategy = { type: 'failure-rate', maxFailuresPerInterval: 1, intervalMs: 60_000, delayMs: 1000 };
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy(one), [0, 59_000]), [1000, 'no restart']);
  });

  test('exponential-delay grows by the multiplier up to max-backoff', () => {
    const s = new RestartBackoffTimeStrategy(exponential());
    // Each failure comes right after the previous restart.
    assert.deepEqual(backoffs(s, [0, 200, 600, 1500, 3000, 5000]), [100, 200, 400, 800, 1000, 1000]);
  });

  test('exponential-delay resets after running reset-backoff-threshold past the last restart without failing', () => {
    const s = new RestartBackoffTimeStrategy(exponential({ attempts: 3 }));
    assert.deepEqual(backoffs(s, [0, 200, 600]), [100, 200, 400]);
    // Restart was due at 1000; 9999 ms later is still within the threshold: a 4th attempt fails the job...
    const t = new RestartBackoffTimeStrategy(exponential({ attempts: 3 }));
    assert.deepEqual(backoffs(t, [0, 200, 600, 10_999]), [100, 200, 400, 'no restart']);
    // ...while 10 s after it the sequence starts over.
    assert.deepEqual(backoffs(s, [11_000, 11_200]), [100, 200]);
  });

  test('exponential-delay jitter stays within the factor and reaches both sides', () => {
    const rule = exponential({ initialBackoffMs: 1000, maxBackoffMs: 1000, jitterFactor: 0.1, attempts: 1000 });
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy(rule, () => 0), [0]), [900]);
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy(rule, () => 0.999_999), [0]), [1100]);
    assert.deepEqual(backoffs(new RestartBackoffTimeStrategy(rule, () => 0.5), [0]), [1000]);
    const seen = backoffs(new RestartBackoffTimeStrategy(rule), Array.from({ length: 200 }, (_, i) => i * 2000));
    for (const b of seen) assert.ok(typeof b === 'number' && b >= 900 && b <= 1100, `jittered backoff ${b}`);
  });
});

// ---- jobs on the in-process mini-cluster, failing on every attempt ----

const root = mkdtempSync(join(tmpdir(), 'flink-ts-restarts-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ALWAYS_FAILING_JOB = join(root, 'always-failing.ts');
writeFileSync(ALWAYS_FAILING_JOB, `
import { StreamExecutionEnvironment } from 'flink-ts';
const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.fromSequence(1, 100)
  .map((x: number) => { if (x === 42) throw new Error('boom at record ' + x); return x; })
  .print();
await env.execute('always failing job');
`);

function config(extra: Record<string, string>): Configuration {
  return Configuration.fromMap({
    'state.checkpoints.dir': join(root, 'checkpoints'),
    'state.savepoints.dir': join(root, 'savepoints'),
    'env.log.dir': join(root, 'log'),
    'index.path': join(root, 'index.sqlite'),
    'execution.buffer-timeout': '10 ms',
    ...extra,
  });
}

/** Runs the job to its end; returns the failure message and the job's log. */
async function runToFailure(extra: Record<string, string>): Promise<{ message: string; log: string }> {
  const jobId = newJobId();
  const cfg = config(extra);
  let message = '';
  await assert.rejects(runJob({ jobFile: ALWAYS_FAILING_JOB, programArgs: [], config: cfg, jobId, stdout: () => {} }), (e: unknown) => {
    assert.ok(isFlinkError(e) && e.kind === 'job-failed', `expected job-failed, got ${String(e)}`);
    message = e.message;
    return true;
  });
  return { message, log: readFileSync(logFileFor(cfg, jobId), 'utf8') };
}

/** Milliseconds of a log line's `yyyy-MM-dd HH:mm:ss,SSS` timestamp. */
function logTime(line: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3})/.exec(line);
  assert.ok(m, `no timestamp in ${line}`);
  return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]).getTime();
}

describe('restart strategies on a running job', { timeout: 120_000 }, () => {
  test('failure-rate: the failure after max-failures-per-interval within the interval ends the job FAILED', async () => {
    const { message, log } = await runToFailure({
      'restart-strategy.type': 'failure-rate',
      'restart-strategy.failure-rate.max-failures-per-interval': '2',
      'restart-strategy.failure-rate.failure-rate-interval': '10 min',
      'restart-strategy.failure-rate.delay': '20 ms',
    });
    assert.match(message, /boom at record 42 \(recovery is suppressed: failure-rate restart strategy allows 2 failure\(s\) per 600000 ms; 3 happened within it\)/);
    assert.equal(log.match(/Restarting job \w+ in 20 ms/g)?.length, 2, log);
  });

  test('exponential-delay: the delays grow by the multiplier (measured between the job\'s own log events), then attempts run out', async () => {
    const { message, log } = await runToFailure({
      'restart-strategy.type': 'exponential-delay',
      'restart-strategy.exponential-delay.initial-backoff': '100 ms',
      'restart-strategy.exponential-delay.backoff-multiplier': '2',
      'restart-strategy.exponential-delay.max-backoff': '10 s',
      'restart-strategy.exponential-delay.jitter-factor': '0',
      'restart-strategy.exponential-delay.attempts-before-reset-backoff': '3',
    });
    assert.match(message, /recovery is suppressed: exponential-delay restart strategy allowed 3 attempt\(s\)/);
    const lines = log.split('\n');
    const announced = lines.flatMap((l) => /Restarting job \w+ in (\d+) ms/.exec(l)?.[1] ?? []).map(Number);
    assert.deepEqual(announced, [100, 200, 400]);
    // Each restart deploys only after its delay: from "switched to RESTARTING" to the next attempt's deployment.
    const restarting = lines.filter((l) => /switched from state RUNNING to RESTARTING/.test(l)).map(logTime);
    const redeployed = lines.filter((l) => /switched from state RESTARTING to RUNNING/.test(l)).map(logTime);
    assert.equal(restarting.length, 3, log);
    assert.equal(redeployed.length, 3, log);
    restarting.forEach((t, i) => {
      // Log timestamps are whole milliseconds; a timer may fire up to 1 ms early.
      assert.ok(redeployed[i] - t >= announced[i] - 2, `restart ${i + 1} came ${redeployed[i] - t} ms after the failure, expected >= ${announced[i]}`);
    });
  });
});

test('checkpointing on and no restart-strategy set: the job restarts by exponential-delay (Flink 2.x default)', () => {
  assert.equal(restartStrategyFor(config({}), true).type, 'exponential-delay');
});
