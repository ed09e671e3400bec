/**
 * Which engine runs TypeScript user functions inside a Flink job (issue 17), by measurement: the same bundled
 * user functions (bench/js-engines: WordCount's tokenizer flatMap, a keyed running sum over 1M string keys with
 * its state in the JVM, as Flink state) in
 *   (a) GraalJS 23.1 on Java 17 inside the JVM, interpreted (the stock JDK has no compiler for Truffle),
 *   (a') the same with Graal's compiler jar on the upgrade module path and JVMCI enabled (optimizing),
 *   (b) GraalJS 25 on Temurin 25, optimizing (the same two flags and jar),
 *   (c) a Node.js worker process fed by the JVM in batches (V8-serialized frames over pipes),
 *   (d) plain Node.js, no boundary (the ceiling),
 * plus the boundary's cost per batch (1, 64, 1024 records), start-up, peak RSS, and the Node API checks.
 *
 *   npm run bench:js-engines [-- --quick]      (builds jvm/js-engine-probe with Maven on first use)
 *
 * Records/s are min/median/max over the measured passes of one process (after its warm-up passes, which are
 * reported apart; the optimizing GraalJS designs warm up for at least jitWarmupMs); the load average is printed beside every row. Writes bench/recorded/<date>-js-engines.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { JVM_CACHE, JVM_DIR, ROOT } from '../test/support/services.js';
import { median } from './lib/median.js';

const quick = process.argv.includes('--quick');
const GRAAL_LINES = ['23.1.8', '25.0.3'] as const;
const JAVA17 = process.env.JAVA ?? 'java';
const JAVA25_HOME = process.env.JAVA25_HOME ?? '/usr/lib/jvm/temurin-25-jdk-amd64';
const JAVA25 = join(JAVA25_HOME, 'bin', 'java');
const PROBE = join(JVM_CACHE, 'js-engine-probe');
const SIZES = quick
  ? { lines: 10_000, sumRecords: 200_000, boundaryLines: 2_000, warmup: 1, measured: 2, jitWarmupMs: 20_000 }
  : { lines: 50_000, sumRecords: 2_000_000, boundaryLines: 10_000, warmup: 2, measured: 3, jitWarmupMs: 30_000 };
const KEYS = 1_000_000;

function fail(message: string): never {
  console.error(`bench:js-engines: ${message}`);
  process.exit(1);
}

/** Builds the probe jar and copies each GraalJS line's classpath and compiler jar (Maven, once). */
function ensureProbe(): void {
  const present = () => existsSync(join(PROBE, 'js-engine-probe.jar'))
    && GRAAL_LINES.every((v) => existsSync(join(PROBE, `graal-${v}`)) && existsSync(join(PROBE, `graal-${v}-compiler`, `compiler-${v}.jar`)));
  if (present()) return;
  for (const v of GRAAL_LINES) {
    console.log(`Fetching GraalJS ${v} from Maven Central into ${PROBE} (once) ...`);
    const r = spawnSync(process.env.MVN ?? 'mvn', ['-B', '-q', '-f', join(JVM_DIR, 'pom.xml'), '-pl', 'js-engine-probe', '-am',
      `-Djvm.cache=${JVM_CACHE}`, `-Dgraal.version=${v}`, 'package'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) fail(`cannot build jvm/js-engine-probe for GraalJS ${v} (mvn ${r.error?.message ?? `exited ${r.status}`}):\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-10).join('\n')}`);
  }
  if (!present()) fail(`mvn ran but ${PROBE} is incomplete`);
}

/** jit: Truffle compiles in the background after call counts; such a design warms up for jitWarmupMs too. */
interface Design { name: string; short: string; command: string; args: (workload: string) => string[]; jit?: boolean }
interface Run {
  design: string; workload: string; batch: number; records: number; engineStartMs: number; warmupMs: number[];
  passMs: number[]; perSecond: { min: number; median: number; max: number }; peakRssMb: { jvm: number; worker: number };
  check: string; runtime?: string; loadavg: string; wallMs: number;
}

function designs(dir: string): Design[] {
  const probeCp = join(PROBE, 'js-engine-probe.jar');
  const graalCp = (v: string) => `${probeCp}:${join(PROBE, `graal-${v}`, '*')}`;
  // On a stock JDK, Truffle optimizes only with Graal's compiler on the upgrade module path, the polyglot
  // jars on the module path (not the class path) and JVMCI switched on.
  const optimizing = (v: string) => ['-XX:+UnlockExperimentalVMOptions', '-XX:+EnableJVMCI',
    `--upgrade-module-path=${join(PROBE, `graal-${v}-compiler`, `compiler-${v}.jar`)}`,
    `--module-path=${join(PROBE, `graal-${v}`)}`, '--add-modules=org.graalvm.polyglot', '-cp', probeCp];
  const quiet25 = ['--enable-native-access=org.graalvm.truffle,ALL-UNNAMED', '--sun-misc-unsafe-memory-access=allow'];
  const graalArgs = ['--bundle', join(dir, 'graal.js')];
  return [
    { name: 'GraalJS 23.1.8, Java 17, interpreted (stock JDK)', short: 'graal-23.1-interpreted', command: JAVA17,
      args: (w) => ['-cp', graalCp('23.1.8'), 'dev.flinkts.jsprobe.Probe', 'graal', w, ...graalArgs] },
    { name: 'GraalJS 23.1.8, Java 17, optimizing (JVMCI + compiler jar)', short: 'graal-23.1-optimizing', command: JAVA17, jit: true,
      args: (w) => [...optimizing('23.1.8'), 'dev.flinkts.jsprobe.Probe', 'graal', w, ...graalArgs] },
    { name: 'GraalJS 25.0.3, Temurin 25, optimizing (JVMCI + compiler jar)', short: 'graal-25-optimizing', command: JAVA25, jit: true,
      args: (w) => [...quiet25, ...optimizing('25.0.3'), 'dev.flinkts.jsprobe.Probe', 'graal', w, ...graalArgs] },
    { name: 'Node.js 20 worker fed by the JVM (V8 frames over pipes)', short: 'node-worker', command: JAVA17,
      args: (w) => ['-cp', probeCp, 'dev.flinkts.jsprobe.Probe', 'node', w, '--node', process.execPath, '--worker', join(dir, 'worker.mjs')] },
    { name: 'plain Node.js 20, no boundary (ceiling)', short: 'plain-node', command: process.execPath,
      args: (w) => [join(dir, 'plain.mjs'), w] },
  ];
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

function run(d: Design, workload: string, batch: number, records: number): Run {
  const args = [...d.args(workload), '--batch', String(batch), '--records', String(records), '--keys', String(KEYS),
    '--warmup', String(SIZES.warmup), '--measured', String(SIZES.measured), '--warmup-ms', String(d.jit ? SIZES.jitWarmupMs : 0)];
  const loadBefore = load();
  const t0 = Date.now();
  const r = spawnSync(d.command, args, { encoding: 'utf8', maxBuffer: 1 << 26, timeout: 20 * 60_000 });
  const wallMs = Date.now() - t0;
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.error || r.status !== 0 || !last.startsWith('{')) fail(`${d.short} ${workload} batch ${batch} failed (${r.error?.message ?? `exit ${r.status}`}):\n${(r.stderr ?? '').trim().split('\n').slice(-8).join('\n')}`);
  const o = JSON.parse(last);
  const measured: number[] = o.passMs;
  const rates = measured.map((ms) => Math.round(records / (ms / 1000)));
  return {
    design: d.short, workload, batch, records, engineStartMs: o.engineStartMs, warmupMs: o.warmupMs, passMs: measured,
    perSecond: { min: Math.min(...rates), median: median(rates), max: Math.max(...rates) },
    peakRssMb: { jvm: Math.round(o.jvmPeakRssKb / 1024), worker: Math.round(o.childPeakRssKb / 1024) },
    check: o.check, runtime: o.truffleRuntime, loadavg: loadBefore, wallMs,
  };
}

interface ApiResult { ok: boolean; value?: string; error?: string }

function apiChecks(dir: string): Record<string, Record<string, string>> {
  const node = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(dir, 'checks.cjs'))});
    (async () => { const out = {}; for (const [k, f] of Object.entries(globalThis.apiChecks)) {
      try { out[k] = { ok: true, value: String(await f()) }; } catch (e) { out[k] = { ok: false, error: String(e) }; } }
      console.log(JSON.stringify(out)); })()`], { encoding: 'utf8' });
  const results: Record<string, Record<string, ApiResult>> = { node: JSON.parse(node.stdout.trim().split('\n').pop() ?? '{}') };
  for (const [label, command, cp] of [['graal-23.1', JAVA17, '23.1.8'], ['graal-25', JAVA25, '25.0.3']] as const) {
    const r = spawnSync(command, ['-cp', `${join(PROBE, 'js-engine-probe.jar')}:${join(PROBE, `graal-${cp}`, '*')}`, 'dev.flinkts.jsprobe.Probe', 'apis',
      '--bundle', join(dir, 'checks.cjs')], { encoding: 'utf8' });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !last.startsWith('{')) fail(`API checks in ${label} failed: ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
    results[label] = JSON.parse(last);
  }
  const table: Record<string, Record<string, string>> = {};
  for (const name of Object.keys(results.node)) {
    const expected = results.node[name];
    if (!expected.ok) fail(`API check "${name}" fails in Node.js itself: ${expected.error}`);
    table[name] = {};
    for (const [engine, res] of Object.entries(results)) {
      const r = res[name];
      table[name][engine] = r?.ok && r.value === expected.value ? 'works' : r?.ok ? `differs: ${r.value}` : `fails: ${r?.error ?? 'missing'}`;
    }
  }
  return table;
}

// --- main ---
if (!existsSync(JAVA25)) fail(`no Java 21+ for GraalJS 25 at ${JAVA25} (set JAVA25_HOME)`);
ensureProbe();
const dir = mkdtempSync(join(tmpdir(), 'flink-ts-js-engines-'));
try {
  const here = join(ROOT, 'bench', 'js-engines');
  buildSync({ entryPoints: [join(here, 'graalEntry.ts')], bundle: true, format: 'iife', platform: 'neutral', target: 'es2022', outfile: join(dir, 'graal.js'), logLevel: 'error' });
  buildSync({ entryPoints: [join(here, 'nodeWorker.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile: join(dir, 'worker.mjs'), logLevel: 'error' });
  buildSync({ entryPoints: [join(here, 'plainNode.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile: join(dir, 'plain.mjs'), logLevel: 'error' });
  buildSync({ entryPoints: [join(here, 'apiChecks.ts')], bundle: true, format: 'iife', platform: 'node', target: 'es2022', outfile: join(dir, 'checks.cjs'), logLevel: 'error' });

  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}; node ${process.version}; sizes ${JSON.stringify(SIZES)}; keys ${KEYS}`);
  const apis = apiChecks(dir);
  console.log('\nNode APIs used by jobs (checked by running them; "works" = same result as Node.js):');
  for (const [name, row] of Object.entries(apis)) console.log(`  ${name.padEnd(38)} ${Object.entries(row).map(([e, v]) => `${e}: ${v.slice(0, 60)}`).join(' | ')}`);

  const runs: Run[] = [];
  const row = (r: Run) => {
    runs.push(r);
    console.log(`  ${r.design.padEnd(24)} ${r.workload.padEnd(8)} batch ${String(r.batch).padStart(4)}  ${String(r.perSecond.median).padStart(9)} rec/s`
      + ` (min ${r.perSecond.min}, max ${r.perSecond.max})  warm-up ${r.warmupMs.join('/')} ms  start ${r.engineStartMs} ms`
      + `  RSS jvm ${r.peakRssMb.jvm} MB + worker ${r.peakRssMb.worker} MB  ${r.runtime ?? ''}  check ${r.check}  load ${r.loadavg}`);
  };
  console.log('\nThroughput (records in per second):');
  for (const d of designs(dir)) {
    row(run(d, 'tokenize', 1024, SIZES.lines));
    row(run(d, 'sum', 1024, SIZES.sumRecords));
  }
  console.log('\nThe boundary per batch size (tokenize):');
  for (const d of designs(dir)) for (const b of [1, 64]) row(run(d, 'tokenize', b, SIZES.boundaryLines));
  for (const d of designs(dir)) row(run(d, 'tokenize', 1024, SIZES.boundaryLines));

  // The same user code must give the same answer everywhere.
  for (const w of ['tokenize', 'sum']) {
    const checks = new Set(runs.filter((r) => r.workload === w && r.records === (w === 'sum' ? SIZES.sumRecords : SIZES.lines)).map((r) => r.check));
    if (checks.size !== 1) fail(`designs disagree on ${w}: ${[...checks].join(', ')}`);
  }
  // µs the boundary adds per batch: (time at batch b - time at batch 1024) / (batches at b - batches at 1024).
  console.log('\nBoundary cost per batch (µs, from the medians):');
  const perBatch: Record<string, Record<string, number>> = {};
  for (const d of designs(dir)) {
    const at = (b: number) => runs.find((r) => r.design === d.short && r.workload === 'tokenize' && r.batch === b && r.records === SIZES.boundaryLines)!;
    const secs = (r: Run) => SIZES.boundaryLines / r.perSecond.median;
    perBatch[d.short] = {};
    for (const b of [1, 64]) {
      const us = ((secs(at(b)) - secs(at(1024))) / (Math.ceil(SIZES.boundaryLines / b) - Math.ceil(SIZES.boundaryLines / 1024))) * 1e6;
      perBatch[d.short][String(b)] = Math.round(us * 10) / 10;
    }
    console.log(`  ${d.short.padEnd(24)} batch 1: ${perBatch[d.short]['1']} µs/batch   batch 64: ${perBatch[d.short]['64']} µs/batch`);
  }
  mkdirSync(join(ROOT, 'bench', 'recorded'), { recursive: true });
  const file = join(ROOT, 'bench', 'recorded', `${new Date().toISOString().slice(0, 10)}-js-engines${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model }, sizes: SIZES, keys: KEYS, apis, runs, perBatchUs: perBatch }, null, 2)}\n`);
  console.log(`\nrecorded ${file}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
