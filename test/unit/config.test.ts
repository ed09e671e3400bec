import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { FlinkError, isFlinkError } from '../../src/core/FlinkError.js';
import { userDataDir } from '../../src/core/paths.js';
import { formatDuration, parseDuration } from '../../src/config/Duration.js';
import { Configuration, parseDynamicProperty } from '../../src/config/Configuration.js';
import {
  CheckpointingOptions, CoreOptions, ExecutionOptions, PipelineOptions, RestOptions, RestartStrategyOptions,
  StateBackendOptions, TaskManagerOptions, indexPath, legacyIndexPath, restartStrategyFor,
} from '../../src/config/ConfigOptions.js';

/** Runs `fn` with a fresh temp dir holding `files`, removed afterwards. */
function withConfDir(files: Record<string, string>, fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ts-config-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function configError(pattern: RegExp | string) {
  return (e: unknown) => {
    assert.ok(isFlinkError(e), `expected a FlinkError, got ${String(e)}`);
    assert.equal(e.kind, 'config');
    if (typeof pattern === 'string') assert.equal(e.message, pattern);
    else assert.match(e.message, pattern);
    return true;
  };
}

const cfg = (map: Record<string, string>) => Configuration.fromMap(map);

test('parseDuration accepts Flink spellings', () => {
  const cases: Array<[string, number]> = [
    ['10 s', 10_000], ['10s', 10_000], ['1 min', 60_000], ['1m', 60_000], ['500ms', 500], ['500', 500],
    ['2 h', 7_200_000], ['1d', 86_400_000], ['3 days', 259_200_000], ['1 second', 1000], ['5 secs', 5000],
    ['7 millis', 7], ['1 milliseconds', 1], ['2 minutes', 120_000], ['1 hour', 3_600_000], ['0', 0],
    ['  10 S ', 10_000], ['1000 us', 1], ['1000 µs', 1], ['2000000 ns', 2], ['500 us', 0.5],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration rejects what Flink rejects', () => {
  for (const text of ['', ' ', 'abc', 's', '-1 s', '1.5 s', '10 fortnights', '1 s 2', '10 s ago', '9'.repeat(20)]) {
    assert.throws(() => parseDuration(text), configError(/expected a duration such as '10 s'/), text);
  }
});

test('formatDuration uses the largest exact unit', () => {
  const cases: Array<[number, string]> = [
    [0, '0 ms'], [500, '500 ms'], [1000, '1 s'], [1500, '1500 ms'], [60_000, '1 min'], [90_000, '90 s'],
    [7_200_000, '2 h'], [86_400_000, '1 d'], [0.5, '500 us'],
  ];
  for (const [ms, text] of cases) assert.equal(formatDuration(ms), text);
  assert.throws(() => formatDuration(-1), RangeError);
});

test('property: formatDuration and parseDuration round-trip whole milliseconds', () => {
  fc.assert(fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (ms) => parseDuration(formatDuration(ms)) === ms));
});

test('property: parseDuration either returns a non-negative number or throws a config FlinkError', () => {
  const unit = fc.constantFrom('', ' ', 'ms', ' s', 'min', 'h', 'd', 'µs', 'x', '.5', '-');
  const text = fc.oneof(fc.string(), fc.tuple(fc.nat().map(String), unit).map(([n, u]) => n + u));
  fc.assert(fc.property(text, (s) => {
    try {
      const ms = parseDuration(s);
      return Number.isFinite(ms) && ms >= 0;
    } catch (e) {
      return e instanceof FlinkError && e.kind === 'config';
    }
  }));
});

test('embedded conf/flink-conf.yaml loads cleanly and validates', () => {
  const { config, warnings, confFile } = Configuration.load({ env: {} });
  assert.deepEqual(warnings, []);
  assert.match(confFile ?? '', /conf[/\\]flink-conf\.yaml$/);
  config.validate();
  assert.equal(config.get(CoreOptions.DEFAULT_PARALLELISM), 2);
  assert.equal(config.get(TaskManagerOptions.NUM_TASK_SLOTS), 4);
  assert.equal(config.get(CheckpointingOptions.CHECKPOINTING_INTERVAL), 2000);
  assert.equal(config.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY), join(homedir(), '.local', 'share', 'flink-ts', 'checkpoints'));
  assert.equal(config.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION), 'RETAIN_ON_CANCELLATION');
  // Nothing set: Flink 2.x's default for a checkpointed job.
  assert.equal(restartStrategyFor(config, true).type, 'exponential-delay');
});

test('embedded conf: snapshots, logs and the index go to the user data dir, never into the package', () => {
  const at = (env: NodeJS.ProcessEnv, dynamicProperties?: Record<string, string>) => {
    const { config } = Configuration.load({ env, dynamicProperties });
    return {
      checkpoints: config.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY),
      savepoints: config.get(CheckpointingOptions.SAVEPOINT_DIRECTORY),
      log: config.get(CoreOptions.FLINK_LOG_DIR),
      index: indexPath(config),
    };
  };
  assert.deepEqual(at({ FLINK_TS_HOME: '/srv/fts', XDG_DATA_HOME: '/xdg' }), {
    checkpoints: '/srv/fts/checkpoints', savepoints: '/srv/fts/savepoints', log: '/srv/fts/log',
    index: '/srv/fts/flink-index.sqlite',
  });
  assert.equal(at({ XDG_DATA_HOME: '/xdg' }).savepoints, '/xdg/flink-ts/savepoints');
  // A relative XDG_DATA_HOME is invalid per the XDG spec and ignored.
  assert.equal(at({ XDG_DATA_HOME: 'rel' }).log, join(homedir(), '.local', 'share', 'flink-ts', 'log'));
  // -D wins, under either of Flink's names; the catalog stays the user's one, whatever the checkpoint directory.
  assert.deepEqual(at({ FLINK_TS_HOME: '/srv/fts' }, { 'execution.checkpointing.dir': '/c', 'env.log.dir': '/l' }), {
    checkpoints: '/c', savepoints: '/srv/fts/savepoints', log: '/l', index: '/srv/fts/flink-index.sqlite',
  });
  // FLINK_CONF_DIR's file keeps Flink's meaning of an unset directory: nothing is filled in.
  withConfDir({ 'flink-conf.yaml': 'parallelism.default: 3\n' }, (dir) => {
    const { config } = Configuration.load({ env: { FLINK_CONF_DIR: dir, FLINK_TS_HOME: '/srv/fts' } });
    assert.equal(config.getOptional(CheckpointingOptions.CHECKPOINTS_DIRECTORY), undefined);
    assert.equal(config.getOptional(CheckpointingOptions.SAVEPOINT_DIRECTORY), undefined);
  });
});

test('flat flink-conf.yaml: values stay as written, defaults fill the rest', () => {
  const yaml = [
    '# comment',
    'parallelism.default: 3',
    'restart-strategy.fixed-delay.attempts: 010',
    'execution.checkpointing.unaligned: TRUE',
    'execution.checkpointing.interval: 10 s   # trailing comment',
    'pipeline.name: "my job"',
    'pipeline.max-parallelism:',
  ].join('\n');
  withConfDir({ 'flink-conf.yaml': yaml }, (dir) => {
    const { config, warnings, confFile } = Configuration.load({ confDir: dir, env: {} });
    assert.deepEqual(warnings, []);
    assert.equal(confFile, join(dir, 'flink-conf.yaml'));
    assert.equal(config.toMap()['restart-strategy.fixed-delay.attempts'], '010');
    assert.equal(config.get(CoreOptions.DEFAULT_PARALLELISM), 3);
    assert.equal(config.get(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS), 10);
    assert.equal(config.get(CheckpointingOptions.ENABLE_UNALIGNED), true);
    assert.equal(config.get(CheckpointingOptions.CHECKPOINTING_INTERVAL), 10_000);
    assert.equal(config.get(PipelineOptions.NAME), 'my job');
    assert.equal(config.contains(PipelineOptions.MAX_PARALLELISM), false);
    assert.equal(config.get(PipelineOptions.MAX_PARALLELISM), 128);
    assert.equal(config.get(CheckpointingOptions.CHECKPOINTING_TIMEOUT), 600_000);
    assert.equal(config.get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE), 'EXACTLY_ONCE');
    assert.equal(config.get(RestOptions.BIND_PORT), '0');
    assert.equal(config.get(CheckpointingOptions.SAVEPOINT_DIRECTORY), undefined);
    assert.equal(config.get(RestartStrategyOptions.RESTART_STRATEGY), undefined);
  });
});

test('nested config.yaml (Flink 2.x stock layout) flattens to dotted keys', () => {
  const yaml = `
env:
  java:
    opts:
      all: --add-exports=java.base/sun.net.util=ALL-UNNAMED
jobmanager:
  bind-host: localhost
  rpc:
    address: localhost
    port: 6123
  memory:
    process:
      size: 1600m
  execution:
    failover-strategy: region
taskmanager:
  numberOfTaskSlots: 2
  memory:
    process.size: 1728m
parallelism:
  default: 4
execution:
  checkpointing:
    interval: 1 min
    dir: file:///tmp/ckpt
rest:
  address: localhost
  bind-address: 0.0.0.0
pipeline:
  jars: [a.jar, b.jar]
`;
  withConfDir({ 'config.yaml': yaml }, (dir) => {
    const { config, warnings, confFile } = Configuration.load({ confDir: dir, env: {} });
    assert.equal(confFile, join(dir, 'config.yaml'));
    assert.deepEqual(warnings, ["Unknown configuration key 'pipeline.jars' (ignored)"]);
    assert.equal(config.toMap()['pipeline.jars'], 'a.jar;b.jar');
    assert.equal(config.toMap()['taskmanager.memory.process.size'], '1728m');
    assert.equal(config.get(TaskManagerOptions.NUM_TASK_SLOTS), 2);
    assert.equal(config.get(CoreOptions.DEFAULT_PARALLELISM), 4);
    assert.equal(config.get(CheckpointingOptions.CHECKPOINTING_INTERVAL), 60_000);
    // Flink 2.x renamed state.checkpoints.dir; the new name is read too.
    assert.equal(config.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY), '/tmp/ckpt');
    assert.equal(config.get(RestOptions.BIND_ADDRESS), '0.0.0.0');
  });
});

test('flink-conf.yaml wins over config.yaml, with a warning', () => {
  withConfDir({ 'flink-conf.yaml': 'parallelism.default: 5\n', 'config.yaml': 'parallelism:\n  default: 6\n' }, (dir) => {
    const { config, warnings } = Configuration.load({ confDir: dir, env: {} });
    assert.equal(config.get(CoreOptions.DEFAULT_PARALLELISM), 5);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /using flink-conf\.yaml/);
  });
});

test('FLINK_CONF_DIR selects the conf dir; a missing one is an error; an empty one is fine', () => {
  withConfDir({ 'flink-conf.yaml': 'parallelism.default: 7\n' }, (dir) => {
    assert.equal(Configuration.load({ env: { FLINK_CONF_DIR: dir } }).config.get(CoreOptions.DEFAULT_PARALLELISM), 7);
    // An explicit confDir beats the environment.
    withConfDir({}, (empty) => {
      const { config, warnings, confFile } = Configuration.load({ confDir: empty, env: { FLINK_CONF_DIR: dir } });
      assert.deepEqual(config.toMap(), {});
      assert.deepEqual(warnings, []);
      assert.equal(confFile, undefined);
      assert.equal(config.get(CoreOptions.DEFAULT_PARALLELISM), 1);
    });
  });
  const missing = join(tmpdir(), 'flink-ts-config-does-not-exist');
  assert.throws(() => Configuration.load({ env: { FLINK_CONF_DIR: missing } }),
    configError(`FLINK_CONF_DIR '${missing}' does not exist or is not a directory`));
});

test('malformed YAML names the file and the line', () => {
  withConfDir({ 'flink-conf.yaml': 'parallelism.default: 1\nrest.port: [8081,\nrest.address: x\n' }, (dir) => {
    const file = join(dir, 'flink-conf.yaml');
    assert.throws(() => Configuration.load({ confDir: dir, env: {} }),
      configError(new RegExp(`^Malformed YAML in ${file.replace(/[.\\]/g, '\\$&')} at line \\d: [^\\n]+$`)));
  });
  withConfDir({ 'flink-conf.yaml': 'just a string\n' }, (dir) => {
    assert.throws(() => Configuration.load({ confDir: dir, env: {} }), configError(/expected 'key: value' entries/));
  });
});

test('-D dynamic properties override the file, including under another name of the same option', () => {
  const yaml = 'parallelism.default: 3\nstate.backend.type: rocksdb\npipeline.name: from-file\n';
  withConfDir({ 'flink-conf.yaml': yaml }, (dir) => {
    const { config, warnings } = Configuration.load({
      confDir: dir, env: {},
      dynamicProperties: { 'parallelism.default': '8', 'state.backend': 'filesystem', 'my.custom.key': 'x' },
    });
    assert.equal(config.get(CoreOptions.DEFAULT_PARALLELISM), 8);
    assert.equal(config.get(StateBackendOptions.STATE_BACKEND), 'hashmap');
    assert.equal(config.get(PipelineOptions.NAME), 'from-file');
    assert.deepEqual(warnings.sort(), [
      "Configuration key 'state.backend' is deprecated; use 'state.backend.type' instead",
      "Unknown configuration key 'my.custom.key' (ignored)",
    ]);
  });
});

test('unknown keys warn; ignored Flink keys and deprecated keys are accepted', () => {
  const yaml = 'jobmanager.rpc.address: localhost\nhigh-availability.type: NONE\nweb.submit.enable: false\n'
    + 'state.backend: jobmanager\nrestart-strategy: fixeddelay\nexecution.checkpointing.intervall: 5 s\n';
  withConfDir({ 'flink-conf.yaml': yaml }, (dir) => {
    const { config, warnings } = Configuration.load({ confDir: dir, env: {} });
    assert.deepEqual(warnings, [
      "Configuration key 'state.backend' is deprecated; use 'state.backend.type' instead",
      "Configuration key 'restart-strategy' is deprecated; use 'restart-strategy.type' instead",
      "Unknown configuration key 'execution.checkpointing.intervall' (ignored)",
    ]);
    assert.equal(config.get(StateBackendOptions.STATE_BACKEND), 'hashmap');
    assert.equal(config.get(RestartStrategyOptions.RESTART_STRATEGY), 'fixed-delay');
    assert.equal(config.get(CheckpointingOptions.CHECKPOINTING_INTERVAL), undefined);
    config.validate();
  });
});

test('invalid values name the key and what was expected', () => {
  assert.throws(() => cfg({ 'execution.checkpointing.interval': 'abc' }).get(CheckpointingOptions.CHECKPOINTING_INTERVAL),
    configError("Invalid value 'abc' for configuration key 'execution.checkpointing.interval': "
      + "expected a duration such as '10 s', '1 min' or '500 ms'"));

  assert.throws(() => cfg({ 'parallelism.default': '0' }).get(CoreOptions.DEFAULT_PARALLELISM),
    configError("Invalid value '0' for configuration key 'parallelism.default': expected an integer >= 1"));
  assert.throws(() => cfg({ 'parallelism.default': 'two' }).get(CoreOptions.DEFAULT_PARALLELISM),
    configError(/'parallelism.default': expected an integer >= 1$/));
  assert.throws(() => cfg({ 'pipeline.max-parallelism': '40000' }).get(PipelineOptions.MAX_PARALLELISM),
    configError(/'pipeline.max-parallelism': expected an integer between 1 and 32768$/));
  assert.throws(() => cfg({ 'execution.checkpointing.unaligned': 'yes' }).get(CheckpointingOptions.ENABLE_UNALIGNED),
    configError(/'execution.checkpointing.unaligned': expected 'true' or 'false'$/));
  assert.throws(() => cfg({ 'execution.checkpointing.mode': 'ONCE' }).get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE),
    configError(/'execution.checkpointing.mode': expected one of EXACTLY_ONCE, AT_LEAST_ONCE$/));
  // The key named is the one the value was read from.
  assert.throws(() => cfg({ 'state.backend': 'memory' }).get(StateBackendOptions.STATE_BACKEND),
    configError(/^Invalid value 'memory' for configuration key 'state.backend': expected one of hashmap, rocksdb, embedded$/));
  assert.throws(() => cfg({ 'rest.bind-port': '50200-50100' }).get(RestOptions.BIND_PORT),
    configError(/'rest.bind-port': expected a port/));
  assert.equal(cfg({ 'rest.bind-port': '50100-50200' }).get(RestOptions.BIND_PORT), '50100-50200');
  assert.equal(cfg({ 'execution.checkpointing.mode': 'at_least_once' }).get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE), 'AT_LEAST_ONCE');
});

test('validate() reports the first invalid option before anything starts', () => {
  cfg({ 'parallelism.default': '4', 'execution.checkpointing.interval': '1 min' }).validate();
  assert.throws(() => cfg({ 'execution.checkpointing.timeout': 'soon' }).validate(),
    configError(/'execution.checkpointing.timeout': expected a duration/));
  assert.throws(() => cfg({ 'restart-strategy.failure-rate.delay': 'later' }).validate(), configError(/'restart-strategy.failure-rate.delay': expected a duration/));
});

test('path options: file: URIs, relative paths, and non-local file systems', () => {
  const dir = (v: string) => cfg({ 'state.checkpoints.dir': v }).get(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
  assert.equal(dir('file:///tmp/a/b'), '/tmp/a/b');
  assert.equal(dir('file:/tmp/a/b/'), '/tmp/a/b');
  assert.equal(dir('file://localhost/tmp/a'), '/tmp/a');
  assert.equal(dir('/tmp/x'), '/tmp/x');
  assert.equal(dir('rel/dir'), resolve(process.cwd(), 'rel/dir'));
  assert.equal(dir('~/ckpt'), join(homedir(), 'ckpt'));
  assert.throws(() => dir('hdfs://namenode:8020/flink/checkpoints'),
    configError("Invalid value 'hdfs://namenode:8020/flink/checkpoints' for configuration key 'state.checkpoints.dir': "
      + "expected a local file path; the 'hdfs' file system is not supported"));
  assert.throws(() => cfg({ 'state.savepoints.dir': 's3://bucket/sp' }).get(CheckpointingOptions.SAVEPOINT_DIRECTORY),
    configError(/'state.savepoints.dir'.*'s3' file system is not supported/));
  assert.throws(() => dir('file://otherhost/x'), configError(/not one on host 'otherhost'/));
});

test('restartStrategyFor follows Flink 2.x\'s defaults', () => {
  assert.deepEqual(restartStrategyFor(cfg({}), false), { type: 'none' });
  // Flink 1.19+/2.x: exponential-delay when checkpointing is on and nothing is set.
  assert.deepEqual(restartStrategyFor(cfg({}), true), {
    type: 'exponential-delay', initialBackoffMs: 1000, maxBackoffMs: 60_000, multiplier: 1.5,
    resetThresholdMs: 3_600_000, jitterFactor: 0.1, attempts: 2 ** 31 - 1,
  });
  for (const t of ['none', 'off', 'disable', 'NONE']) {
    assert.deepEqual(restartStrategyFor(cfg({ 'restart-strategy.type': t }), true), { type: 'none' });
  }
  assert.deepEqual(restartStrategyFor(cfg({ 'restart-strategy.type': 'fixeddelay' }), false),
    { type: 'fixed-delay', attempts: 1, delayMs: 1000 });
  assert.deepEqual(restartStrategyFor(cfg({
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': '5',
    'restart-strategy.fixed-delay.delay': '10 s',
  }), false), { type: 'fixed-delay', attempts: 5, delayMs: 10_000 });
  assert.deepEqual(restartStrategyFor(cfg({ 'restart-strategy.type': 'failurerate' }), true),
    { type: 'failure-rate', maxFailuresPerInterval: 1, intervalMs: 60_000, delayMs: 1000 });
  assert.deepEqual(restartStrategyFor(cfg({
    'restart-strategy.type': 'failure-rate',
    'restart-strategy.failure-rate.max-failures-per-interval': '3',
    'restart-strategy.failure-rate.failure-rate-interval': '5 min',
    'restart-strategy.failure-rate.delay': '10 s',
  }), true), { type: 'failure-rate', maxFailuresPerInterval: 3, intervalMs: 300_000, delayMs: 10_000 });
  assert.deepEqual(restartStrategyFor(cfg({
    'restart-strategy.type': 'exponential-delay',
    'restart-strategy.exponential-delay.initial-backoff': '10 ms',
    'restart-strategy.exponential-delay.max-backoff': '2 s',
    'restart-strategy.exponential-delay.backoff-multiplier': '2.0',
    'restart-strategy.exponential-delay.reset-backoff-threshold': '30 s',
    'restart-strategy.exponential-delay.jitter-factor': '0',
    'restart-strategy.exponential-delay.attempts-before-reset-backoff': '4',
  }), false), {
    type: 'exponential-delay', initialBackoffMs: 10, maxBackoffMs: 2000, multiplier: 2,
    resetThresholdMs: 30_000, jitterFactor: 0, attempts: 4,
  });
  assert.throws(() => restartStrategyFor(cfg({ 'restart-strategy.type': 'sometimes' }), true),
    configError(/'restart-strategy.type': expected one of none, fixed-delay/));
  assert.throws(() => restartStrategyFor(cfg({ 'restart-strategy.exponential-delay.backoff-multiplier': '0.5' }), true),
    configError(/'restart-strategy.exponential-delay.backoff-multiplier': expected a number >= 1/));
  assert.throws(() => restartStrategyFor(cfg({ 'restart-strategy.exponential-delay.jitter-factor': 'lots' }), true),
    configError(/'restart-strategy.exponential-delay.jitter-factor': expected a number between 0 and 1/));
  assert.throws(() => restartStrategyFor(cfg({ 'restart-strategy.failure-rate.max-failures-per-interval': '0', 'restart-strategy.type': 'failure-rate' }), true),
    configError(/max-failures-per-interval': expected an integer >= 1/));
  assert.throws(() => restartStrategyFor(cfg({
    'restart-strategy.exponential-delay.initial-backoff': '1 min', 'restart-strategy.exponential-delay.max-backoff': '1 s',
  }), true), configError(/initial-backoff \(60000 ms\) must not exceed/));
});

test('indexPath: index.path, else one catalog in the user data dir whatever state.checkpoints.dir says', () => {
  assert.equal(indexPath(cfg({ 'index.path': 'file:///var/idx.sqlite', 'state.checkpoints.dir': '/c' })), '/var/idx.sqlite');
  assert.equal(indexPath(cfg({ 'state.checkpoints.dir': 'file:///c' })), join(userDataDir(), 'flink-index.sqlite'));
  assert.equal(indexPath(cfg({})), join(userDataDir(), 'flink-index.sqlite'));
  // Where an older flink-ts kept it: merged into the catalog once.
  assert.equal(legacyIndexPath(cfg({ 'state.checkpoints.dir': 'file:///c' })), '/c/flink-index.sqlite');
  assert.equal(legacyIndexPath(cfg({})), undefined);
});

test('buffer timeout is read under either Flink name', () => {
  assert.equal(cfg({}).get(ExecutionOptions.BUFFER_TIMEOUT), 100);
  assert.equal(cfg({ 'execution.buffer-timeout': '5 ms' }).get(ExecutionOptions.BUFFER_TIMEOUT), 5);
  assert.equal(cfg({ 'execution.buffer-timeout.interval': '7 ms' }).get(ExecutionOptions.BUFFER_TIMEOUT), 7);
  assert.equal(cfg({}).get(PipelineOptions.AUTO_WATERMARK_INTERVAL), 200);
});

test('toMap/fromMap round-trip, set, contains, getOptional', () => {
  const a = cfg({ 'state.backend': 'rocksdb' }).set('parallelism.default', '6');
  const b = Configuration.fromMap(JSON.parse(JSON.stringify(a.toMap())));
  assert.deepEqual(b.toMap(), { 'state.backend': 'rocksdb', 'parallelism.default': '6' });
  assert.equal(b.contains(StateBackendOptions.STATE_BACKEND), true);
  assert.equal(b.contains('state.backend.type'), false);
  assert.equal(b.getOptional(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS), undefined);
  b.set('state.backend.type', 'hashmap');
  assert.deepEqual(b.toMap(), { 'parallelism.default': '6', 'state.backend.type': 'hashmap' });
});

test('parseDynamicProperty splits at the first =', () => {
  assert.deepEqual(parseDynamicProperty('execution.checkpointing.interval=10 s'), ['execution.checkpointing.interval', '10 s']);
  assert.deepEqual(parseDynamicProperty('pipeline.name=a=b'), ['pipeline.name', 'a=b']);
  assert.deepEqual(parseDynamicProperty('pipeline.name='), ['pipeline.name', '']);
  for (const bad of ['parallelism.default', '=5', ' =5', '']) {
    assert.throws(() => parseDynamicProperty(bad), (e: unknown) => isFlinkError(e) && e.kind === 'invalid-argument');
  }
});
