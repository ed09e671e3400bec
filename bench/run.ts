/**
 * The benchmark suite (issue 5): every scenario next to the same computation as a hand-written
 * single-threaded loop, in one run, on this machine.
 *
 *   npm run bench              full mode (several minutes)
 *   npm run bench -- --quick   quick mode (under two minutes)
 *   npm run bench -- --only stateless,keyed,checkpoint,latency,naive
 *
 * Prints a table and writes bench/results/<timestamp>-<mode>.json.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { checkpointCost, type CheckpointCost } from './lib/checkpointCost.js';
import { keyedSumLoop, nexmarkLoop } from './lib/handloops.js';
import type { SinkReport } from './lib/MetricsSink.js';
import { naivePipeline } from './lib/naive.js';
import type { Query } from './lib/nexmark.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg = argv.find((a) => a.startsWith('--only='))?.slice(7) ?? (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined);
const only = new Set((onlyArg ?? 'stateless,keyed,checkpoint,latency,naive').split(','));

const SIZES = quick
  ? { nexmarkRecords: 100_000_000, keyedRecords: 2_000_000, keys: 1_000_000, stateKeys: [10_000, 100_000, 1_000_000], latencySeconds: 5, naiveRecords: 500_000, repeats: 1 }
  : { nexmarkRecords: 300_000_000, keyedRecords: 6_000_000, keys: 1_000_000, stateKeys: [10_000, 100_000, 1_000_000, 5_000_000], latencySeconds: 15, naiveRecords: 2_000_000, repeats: 3 };

interface JobRun {
  recordsPerSec: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  peakRssMb: number;
  checkpoints: { bytes: number; durationMs: number; syncMs: number; asyncMs: number }[];
}

interface Row {
  scenario: string;
  parameters: Record<string, unknown>;
  recordsPerSec?: number;
  handLoopRecordsPerSec?: number;
  ratioToHandLoop?: number;
  ratioToNaive?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  peakRssMb?: number;
  checkpoints?: JobRun['checkpoints'];
  checkpointCost?: CheckpointCost;
}

const work = mkdtempSync(join(tmpdir(), 'flink-ts-bench-'));
const confDir = join(work, 'conf');
mkdirSync(confDir);
writeFileSync(
  join(confDir, 'flink-conf.yaml'),
  [
    `state.checkpoints.dir: ${join(work, 'checkpoints')}`,
    `state.savepoints.dir: ${join(work, 'savepoints')}`,
    'state.checkpoints.num-retained: 1',
    'execution.checkpointing.interval: 0', // per run with -D
    'parallelism.default: 1',
    'taskmanager.numberOfTaskSlots: 4',
    'restart-strategy.type: none',
  ].join('\n') + '\n',
);
let runNo = 0;

/** Runs one job through the real CLI (`flink run`, attached) and collects what its sinks measured. */
async function runJob(job: string, opts: { p: number; checkpointMs?: number; args: Record<string, string | number>; sourceRecords: number }): Promise<JobRun> {
  const metrics = join(work, `metrics-${++runNo}`);
  const logDir = join(work, `log-${runNo}`);
  mkdirSync(metrics);
  const args = ['bin/flink.js', 'run', '-p', String(opts.p), '-D', `env.log.dir=${logDir}`];
  args.push('-D', `execution.checkpointing.interval=${opts.checkpointMs ? `${opts.checkpointMs}ms` : '0'}`);
  args.push(join('bench', 'jobs', job));
  for (const [k, v] of Object.entries({ ...opts.args, metrics })) args.push(`--${k}`, String(v));
  await execa('node', args, { cwd: ROOT, env: { FLINK_CONF_DIR: confDir, NO_COLOR: '1' }, stdout: 'ignore', stderr: 'pipe' });
  const reports: SinkReport[] = readdirSync(metrics).map((f) => JSON.parse(readFileSync(join(metrics, f), 'utf8')));
  if (reports.length === 0) throw new Error(`${job}: no sink reported`);
  const first = Math.min(...reports.filter((r) => r.count > 0).map((r) => r.first));
  const last = Math.max(...reports.map((r) => r.last));
  const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const run: JobRun = {
    recordsPerSec: opts.sourceRecords / ((last - first) / 1000),
    peakRssMb: Math.max(...reports.map((r) => r.maxRssKb)) / 1024,
    checkpoints: completedCheckpoints(logDir),
  };
  if (latencies.length > 0) {
    run.latencyP50Ms = percentile(latencies, 0.5);
    run.latencyP99Ms = percentile(latencies, 0.99);
  }
  rmSync(metrics, { recursive: true, force: true });
  return run;
}

/** The coordinator logs each completed checkpoint with its size, duration and slowest sync/async parts. */
function completedCheckpoints(logDir: string): JobRun['checkpoints'] {
  const out: JobRun['checkpoints'] = [];
  for (const f of readdirSync(logDir)) {
    for (const m of readFileSync(join(logDir, f), 'utf8').matchAll(/Completed checkpoint \d+ .*?\((\d+) bytes, (\d+) ms, sync (\d+) ms, async (\d+) ms\)/g)) {
      out.push({ bytes: Number(m[1]), durationMs: Number(m[2]), syncMs: Number(m[3]), asyncMs: Number(m[4]) });
    }
  }
  return out;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The median run by throughput, over `repeats` runs. */
async function median(repeats: number, f: () => Promise<JobRun>): Promise<JobRun> {
  const runs: JobRun[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await f());
  runs.sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  return runs[Math.floor(runs.length / 2)];
}

function medianOf(repeats: number, f: () => number): number {
  const xs = Array.from({ length: repeats }, f).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

const rows: Row[] = [];
const log = (s: string) => process.stderr.write(`${s}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  log(`flink-ts benchmarks (${quick ? 'quick' : 'full'} mode) on ${cpus().length} CPUs, Node ${process.version}`);

  let naive: number | undefined;
  if (only.has('naive')) {
    naive = await naivePipeline(SIZES.naiveRecords);
    rows.push({ scenario: '5 naive: postMessage per record, 2 threads', parameters: { records: SIZES.naiveRecords }, recordsPerSec: naive });
    log(`  naive pipeline: ${fmt(naive)} rec/s`);
  }

  if (only.has('stateless')) {
    for (const query of ['q0', 'q1', 'q2'] as Query[]) {
      nexmarkLoop(query, 200_000); // warm up the JIT
      const loop = medianOf(3, () => nexmarkLoop(query, SIZES.nexmarkRecords));
      for (const p of [1, 2]) {
        const r = await median(SIZES.repeats, () => runJob('Nexmark.ts', { p, args: { query, records: SIZES.nexmarkRecords }, sourceRecords: SIZES.nexmarkRecords }));
        rows.push({ scenario: `1 stateless ${query}`, parameters: { parallelism: p, records: SIZES.nexmarkRecords }, ...r, handLoopRecordsPerSec: loop });
        log(`  nexmark ${query} p=${p}: ${fmt(r.recordsPerSec)} rec/s (hand loop ${fmt(loop)})`);
      }
    }
  }

  let keyedMaxCheckpointed: number | undefined;
  if (only.has('keyed') || only.has('latency')) {
    keyedSumLoop(10_000, 200_000);
    const loop = medianOf(3, () => keyedSumLoop(SIZES.keys, SIZES.keyedRecords));
    for (const checkpointMs of [0, 1000]) {
      for (const p of [1, 2]) {
        if (!only.has('keyed') && (p !== 1 || checkpointMs !== 1000)) continue;
        const r = await median(SIZES.repeats, () =>
          runJob('KeyedSum.ts', { p, checkpointMs, args: { keys: SIZES.keys, records: SIZES.keyedRecords }, sourceRecords: SIZES.keyedRecords }),
        );
        if (p === 1 && checkpointMs === 1000) keyedMaxCheckpointed = r.recordsPerSec;
        rows.push({
          scenario: `2 keyed running sum${checkpointMs ? ', checkpoints 1 s' : ''}`,
          parameters: { parallelism: p, keys: SIZES.keys, records: SIZES.keyedRecords, checkpointIntervalMs: checkpointMs },
          ...r, handLoopRecordsPerSec: loop,
        });
        log(`  keyed p=${p} checkpoints=${checkpointMs}ms: ${fmt(r.recordsPerSec)} rec/s (hand loop ${fmt(loop)}), ${r.checkpoints.length} checkpoints`);
      }
    }
  }

  if (only.has('checkpoint')) {
    for (const keys of SIZES.stateKeys) {
      const c = await checkpointCost(keys);
      rows.push({ scenario: '3 checkpoint cost (heap backend)', parameters: { keys }, checkpointCost: c });
      log(`  state ${fmt(keys)} keys: sync ${c.syncMs.toFixed(1)} ms, async ${c.asyncMs.toFixed(0)} ms, ${fmt(c.bytes)} B, restore ${c.restoreMs.toFixed(0)} ms (+${c.decodeAllMs.toFixed(0)} ms lazy decode) vs raw read ${c.rawReadMs.toFixed(1)} ms, heap ${c.heapBytesPerKey.toFixed(0)} B/key vs ${c.serializedBytesPerKey.toFixed(1)} B/key serialized`);
    }
  }

  // At half of what the pipeline sustains with checkpoints every 1 s, with and without those checkpoints.
  if (only.has('latency') && keyedMaxCheckpointed) {
    const rate = Math.floor(keyedMaxCheckpointed / 2);
    const records = rate * SIZES.latencySeconds;
    for (const checkpointMs of [0, 1000]) {
      const r = await runJob('KeyedSum.ts', { p: 1, checkpointMs, args: { keys: SIZES.keys, records, rate }, sourceRecords: records });
      rows.push({ scenario: `4 latency at half max throughput${checkpointMs ? ', checkpoints 1 s' : ''}`, parameters: { parallelism: 1, keys: SIZES.keys, ratePerSec: rate, records }, ...r });
      log(`  latency at ${fmt(rate)} rec/s, checkpoints=${checkpointMs}ms: p50 ${r.latencyP50Ms?.toFixed(1)} ms, p99 ${r.latencyP99Ms?.toFixed(1)} ms`);
    }
  }

  for (const row of rows) {
    if (row.recordsPerSec && row.handLoopRecordsPerSec) row.ratioToHandLoop = row.recordsPerSec / row.handLoopRecordsPerSec;
    // Rate-limited (latency) runs say nothing about speed.
    if (row.recordsPerSec && naive && !row.scenario.startsWith('5') && !row.scenario.startsWith('4')) row.ratioToNaive = row.recordsPerSec / naive;
  }

  const result = {
    mode: quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
    durationSec: Math.round((Date.now() - started) / 1000),
    rows,
    targets: targets(),
  };
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `${result.date.replace(/[:.]/g, '-')}-${result.mode}.json`);
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  printTable();
  console.log(`\nTargets:`);
  for (const t of result.targets) console.log(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.target}: ${t.value}`);
  console.log(`\nWrote ${out} (${result.durationSec} s)`);
}

/** The issue's targets, each as a ratio measured in this run. */
function targets(): { target: string; value: string; met: boolean }[] {
  const find = (scenario: string, p: Record<string, unknown>) =>
    rows.find((r) => r.scenario === scenario && Object.entries(p).every(([k, v]) => r.parameters[k] === v));
  const out: { target: string; value: string; met: boolean }[] = [];
  const add = (target: string, v: number | undefined, ok: (v: number) => boolean) => {
    if (v !== undefined && Number.isFinite(v)) out.push({ target, value: v.toFixed(2), met: ok(v) });
  };
  for (const q of ['q0', 'q1', 'q2']) {
    const p1 = find(`1 stateless ${q}`, { parallelism: 1 });
    const p2 = find(`1 stateless ${q}`, { parallelism: 2 });
    add(`stateless ${q} p=1 / hand loop >= 0.5`, p1?.ratioToHandLoop, (v) => v >= 0.5);
    add(`stateless ${q} p=2 / p=1 >= 1.7`, p2 && p1 ? p2.recordsPerSec! / p1.recordsPerSec! : undefined, (v) => v >= 1.7);
  }
  const k1 = find('2 keyed running sum', { parallelism: 1 });
  const k2 = find('2 keyed running sum', { parallelism: 2 });
  const k1c = find('2 keyed running sum, checkpoints 1 s', { parallelism: 1 });
  add('keyed p=1 no checkpoints / hand loop >= 0.5', k1?.ratioToHandLoop, (v) => v >= 0.5);
  add('keyed p=2 / p=1 >= 1.7', k2 && k1 ? k2.recordsPerSec! / k1.recordsPerSec! : undefined, (v) => v >= 1.7);
  add('keyed 1M keys, checkpoints 1 s / none >= 0.9', k1c && k1 ? k1c.recordsPerSec! / k1.recordsPerSec! : undefined, (v) => v >= 0.9);
  const l0 = rows.find((r) => r.scenario === '4 latency at half max throughput');
  const l1 = rows.find((r) => r.scenario === '4 latency at half max throughput, checkpoints 1 s');
  add('p99 latency with checkpoints / without <= 2', l0?.latencyP99Ms && l1?.latencyP99Ms ? l1.latencyP99Ms / l0.latencyP99Ms : undefined, (v) => v <= 2);
  const c1m = rows.find((r) => r.checkpointCost?.keys === 1_000_000)?.checkpointCost;
  add('restore 1M keys / raw read <= 2', c1m ? c1m.restoreMs / c1m.rawReadMs : undefined, (v) => v <= 2);
  add('heap bytes per key / serialized bytes per key <= 3', c1m ? c1m.heapBytesPerKey / c1m.serializedBytesPerKey : undefined, (v) => v <= 3);
  const slowest = rows.filter((r) => r.ratioToNaive !== undefined).sort((a, b) => a.ratioToNaive! - b.ratioToNaive!)[0];
  add(`every scenario / naive >= 10 (slowest: ${slowest?.scenario} p=${slowest?.parameters.parallelism})`, slowest?.ratioToNaive, (v) => v >= 10);
  return out;
}

function printTable(): void {
  const header = ['scenario', 'params', 'rec/s', 'x hand loop', 'x naive', 'p50 ms', 'p99 ms', 'peak RSS MB', 'checkpoints'];
  const lines = rows.map((r) => [
    r.scenario,
    Object.entries(r.parameters).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`).join(' '),
    r.recordsPerSec ? fmt(r.recordsPerSec) : '',
    r.ratioToHandLoop?.toFixed(2) ?? '',
    r.ratioToNaive?.toFixed(1) ?? '',
    r.latencyP50Ms?.toFixed(1) ?? '',
    r.latencyP99Ms?.toFixed(1) ?? '',
    r.peakRssMb?.toFixed(0) ?? '',
    r.checkpointCost
      ? `sync ${r.checkpointCost.syncMs.toFixed(1)} ms, async ${r.checkpointCost.asyncMs.toFixed(0)} ms, ${fmt(r.checkpointCost.bytes)} B, restore ${r.checkpointCost.restoreMs.toFixed(0)} ms + ${r.checkpointCost.decodeAllMs.toFixed(0)} ms lazy decode (raw read ${r.checkpointCost.rawReadMs.toFixed(1)} ms), heap ${r.checkpointCost.heapBytesPerKey.toFixed(0)} B/key`
      : r.checkpoints?.length
        ? `${r.checkpoints.length}, median ${fmt(medianNum(r.checkpoints.map((c) => c.bytes)))} B in ${medianNum(r.checkpoints.map((c) => c.durationMs))} ms (sync ${medianNum(r.checkpoints.map((c) => c.syncMs))}, async ${medianNum(r.checkpoints.map((c) => c.asyncMs))})`
        : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(row(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(row(l));
}

function medianNum(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)}k`;
  return n.toFixed(0);
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
