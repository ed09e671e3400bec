/**
 * The issue-17 benchmark: the keyed running sum (bench/jobs/KeyedSum.ts, 500k string keys) as a TypeScript job
 *   - on the local mini-cluster (`flink run bench/jobs/KeyedSum.ts`),
 *   - on a real Apache Flink 2.2.1 session cluster through the runner JAR (`flink run -m host:port …KeyedSum.ts`:
 *     Flink's DataGeneratorSource, keyBy and keyed state in the JVM; the reduce and the sink in the Node.js worker),
 *   - and its Java twin (jvm/js-engine-probe KeyedSumJob) on the same cluster,
 * all at parallelism 1, each through this project's CLI, which prints Flink's `Job Runtime: N ms` (the job's net
 * runtime: deployment, worker start-up and processing). The TypeScript runs also time their sink (MetricsSink:
 * first record to end of input), which leaves start-up out.
 *
 *   npm run bench:flink-runner [-- --quick] [-- --records N]      (starts and stops its own cluster)
 *
 * Runs are interleaved (mini, cluster TS, cluster Java, repeated) so that the shared machine's load hits all
 * alike; min/median/max and the load average are printed. Writes bench/recorded/<date>-flink-runner[-quick].json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFlinkCluster, type FlinkCluster } from '../test/support/flink.js';
import { JVM_CACHE, JVM_DIR, ROOT } from '../test/support/services.js';
import { ensureRunnerJar } from '../src/flink/RunnerSubmission.js';
import type { SinkReport } from './lib/MetricsSink.js';
import { median } from './lib/median.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const at = argv.indexOf('--records');
// Full mode is sized for the runner's measured ~5k records/s on the loaded 2-core machine (about 4 min a run).
const RECORDS = at >= 0 ? Number(argv[at + 1]) : quick ? 200_000 : 1_000_000;
const KEYS = quick ? 100_000 : 500_000;
const REPEATS = quick ? 1 : 3;
const PROBE_JAR = join(JVM_CACHE, 'js-engine-probe', 'js-engine-probe.jar');
const CLI = join(ROOT, 'bin', 'flink.js');

function fail(message: string): never {
  console.error(`bench:flink-runner: ${message}`);
  process.exit(1);
}

function ensureJars(): void {
  if (!existsSync(join(ROOT, 'dist', 'commands', 'index.js'))) fail('dist/ is missing: run `npx tsc -p tsconfig.json` first (npm run bench:flink-runner does)');
  ensureRunnerJar(undefined, (l) => console.log(l));
  if (!existsSync(PROBE_JAR)) {
    console.log('Building jvm/js-engine-probe (the Java twin job), once ...');
    const r = spawnSync(process.env.MVN ?? 'mvn', ['-B', '-q', '-f', join(JVM_DIR, 'pom.xml'), '-pl', 'js-engine-probe', '-am', `-Djvm.cache=${JVM_CACHE}`, 'package'], { encoding: 'utf8' });
    if (r.error || r.status !== 0 || !existsSync(PROBE_JAR)) fail(`cannot build jvm/js-engine-probe: ${r.error?.message ?? `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-8).join('\n')}`);
  }
}

interface Run { config: string; repeat: number; runtimeMs: number; perSecond: number; sinkPerSecond?: number; wallMs: number; loadavg: string }
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** One `flink run` (attached); its Job Runtime line, and the sink's reports when the job has MetricsSink. */
function flinkRun(config: string, repeat: number, args: string[], work: string, metrics?: string): Run {
  const loadBefore = load();
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'run', ...args], {
    encoding: 'utf8', cwd: ROOT, timeout: 30 * 60_000,
    env: { ...process.env, FLINK_CONF_DIR: join(work, 'conf'), NO_COLOR: '1' },
  });
  const wallMs = Date.now() - t0;
  const runtime = /Job Runtime: (\d+) ms/.exec(r.stdout ?? '');
  if (r.status !== 0 || !runtime) fail(`${config} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-12).join('\n')}`);
  const runtimeMs = Number(runtime[1]);
  const run: Run = { config, repeat, runtimeMs, perSecond: Math.round(RECORDS / (runtimeMs / 1000)), wallMs, loadavg: loadBefore };
  if (metrics) {
    const reports: SinkReport[] = readdirSync(metrics).map((f) => JSON.parse(readFileSync(join(metrics, f), 'utf8')));
    const count = reports.reduce((n, x) => n + x.count, 0);
    if (count !== RECORDS) fail(`${config}: the sink saw ${count} records, expected ${RECORDS}`);
    const span = Math.max(...reports.map((x) => x.last)) - Math.min(...reports.map((x) => x.first));
    run.sinkPerSecond = Math.round(RECORDS / (span / 1000));
  }
  console.log(`  ${config.padEnd(34)} #${repeat}  ${String(run.perSecond).padStart(8)} rec/s over Job Runtime ${runtimeMs} ms`
    + `${run.sinkPerSecond ? `  sink ${run.sinkPerSecond} rec/s` : ''}  (wall ${wallMs} ms, load ${loadBefore})`);
  return run;
}

ensureJars();
const work = mkdtempSync(join(tmpdir(), 'flink-ts-runner-bench-'));
mkdirSync(join(work, 'conf'));
// The mini-cluster's own files (state, catalog) go to the temporary folder.
writeFileSync(join(work, 'conf', 'config.yaml'), [
  `execution.checkpointing.dir: file://${join(work, 'checkpoints')}`,
  `execution.checkpointing.savepoint-dir: file://${join(work, 'savepoints')}`,
  `index.path: ${join(work, 'index.sqlite')}`,
].join('\n') + '\n');
let cluster: FlinkCluster | undefined;
const runs: Run[] = [];
try {
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}; node ${process.version}; ${RECORDS} records over ${KEYS} keys, p=1, ${REPEATS} repeats; load ${load()}`);
  const t0 = Date.now();
  cluster = await startFlinkCluster({ slots: 2, log: (l) => console.log(l) });
  console.log(`Flink 2.2.1 session cluster at ${cluster.address} (started in ${Date.now() - t0} ms)`);
  const job = ['bench/jobs/KeyedSum.ts'];
  const jobArgs = (metrics: string) => ['--keys', String(KEYS), '--records', String(RECORDS), '--metrics', metrics];
  for (let i = 1; i <= REPEATS; i++) {
    for (const where of ['mini-cluster', 'cluster'] as const) {
      const metrics = join(work, `metrics-${where}-${i}`);
      mkdirSync(metrics);
      const m = where === 'cluster' ? ['-m', cluster.address] : [];
      runs.push(flinkRun(where === 'cluster' ? 'TypeScript on Flink (runner)' : 'TypeScript on the mini-cluster', i, [...m, '-p', '1', ...job, ...jobArgs(metrics)], work, metrics));
    }
    runs.push(flinkRun('Java on Flink (KeyedSumJob)', i, ['-m', cluster.address, '-p', '1', '-c', 'dev.flinkts.jsprobe.KeyedSumJob', PROBE_JAR,
      '--records', String(RECORDS), '--keys', String(KEYS)], work));
  }
  const summary: Record<string, { min: number; median: number; max: number; sinkMedian?: number }> = {};
  console.log('\nrecords/s over the Job Runtime (min / median / max):');
  for (const config of [...new Set(runs.map((r) => r.config))]) {
    const rs = runs.filter((r) => r.config === config);
    const xs = rs.map((r) => r.perSecond);
    const sink = rs.map((r) => r.sinkPerSecond).filter((x): x is number => x !== undefined);
    summary[config] = { min: Math.min(...xs), median: median(xs), max: Math.max(...xs), ...(sink.length ? { sinkMedian: median(sink) } : {}) };
    console.log(`  ${config.padEnd(34)} ${summary[config].min} / ${summary[config].median} / ${summary[config].max}${sink.length ? `   sink median ${median(sink)}` : ''}`);
  }
  const java = summary['Java on Flink (KeyedSumJob)'].median, ts = summary['TypeScript on Flink (runner)'].median, mini = summary['TypeScript on the mini-cluster'].median;
  console.log(`\nTypeScript on Flink / Java on Flink: ${(ts / java).toFixed(2)}x; TypeScript on Flink / on the mini-cluster: ${(ts / mini).toFixed(2)}x`);
  mkdirSync(join(ROOT, 'bench', 'recorded'), { recursive: true });
  const file = join(ROOT, 'bench', 'recorded', `${new Date().toISOString().slice(0, 10)}-flink-runner${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model }, records: RECORDS, keys: KEYS, runs, summary }, null, 2)}\n`);
  console.log(`recorded ${file}`);
} finally {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
}
