/**
 * Apache Flink as the benchmark's peer (issue 13): runs jvm/flink-bench's FlinkBench, the same jobs as
 * bench/jobs/KeyedSum.ts and bench/jobs/Nexmark.ts on Flink 2.2.1 in a MiniCluster, one JVM per configuration
 * (as flink-ts runs one `flink run` process per configuration). The jar is built with Maven on first use and
 * runs on jvm/flink-cluster's classpath (which holds flink-statebackend-rocksdb and its frocksdbjni).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureFlinkJars, flinkUnavailable, JAVA17_FLAGS } from '../../test/support/flink.js';
import { JVM_CACHE, JVM_DIR } from '../../test/support/services.js';
import type { GeneratorChecksums } from './generatorChecksum.js';

const BENCH_JAR = join(JVM_CACHE, 'flink-bench', 'flink-bench.jar');
const SOURCES = join(JVM_DIR, 'flink-bench', 'src', 'main', 'java', 'dev', 'flinkts', 'bench');
const FLINK_LIB = join(JVM_CACHE, 'flink-cluster', 'lib');
/** Heap for the MiniCluster JVM: enough for 1M keys on the HashMap backend with room to copy on write. */
const JAVA_OPTS = ['-Xms512m', '-Xmx2g', '-XX:+UseG1GC', '-Djava.awt.headless=true', ...JAVA17_FLAGS];

export type FlinkBackend = 'hashmap' | 'rocksdb';

export interface FlinkSinkReport { subtask: number; attempt: number; count: number; first: number; last: number; marks?: number[] }

export interface FlinkCheckpoint {
  id: number;
  /** Full state size (Flink's "Full Checkpoint Data Size"). */
  bytes: number;
  /** What this checkpoint wrote ("Checkpointed Data Size"; equal to bytes without incremental checkpoints). */
  checkpointedBytes: number;
  durationMs: number;
  syncMs: number;
  asyncMs: number;
  alignmentMs: number;
}

export interface FlinkRun { sinks: FlinkSinkReport[]; checkpoints: FlinkCheckpoint[]; peakRssKb: number }

function jarFresh(): boolean {
  if (!existsSync(BENCH_JAR)) return false;
  const built = statSync(BENCH_JAR).mtimeMs;
  const sources = [join(JVM_DIR, 'flink-bench', 'pom.xml'), ...readdirSync(SOURCES).map((f) => join(SOURCES, f))];
  return sources.every((s) => statSync(s).mtimeMs <= built);
}

/** Why the peer cannot run here (no Java, no jars and no Maven), or undefined. */
export function flinkPeerUnavailable(): string | undefined {
  return flinkUnavailable();
}

/** Builds jvm/flink-cluster (Flink's jars) and jvm/flink-bench unless both are in the cache already. */
export function ensureFlinkBenchJar(log: (line: string) => void): void {
  ensureFlinkJars(log);
  if (jarFresh()) return;
  log(`Building ${BENCH_JAR} ...`);
  const r = spawnSync(process.env.MVN ?? 'mvn', ['-B', '-q', '-f', join(JVM_DIR, 'pom.xml'), '-pl', 'flink-bench', '-am', `-Djvm.cache=${JVM_CACHE}`, 'package'], { encoding: 'utf8' });
  if (r.error) throw new Error(`Cannot build jvm/flink-bench: mvn is not available (${r.error.message})`);
  if (r.status === 0 && existsSync(BENCH_JAR)) { const now = new Date(); utimesSync(BENCH_JAR, now, now); }
  if (r.status !== 0 || !jarFresh()) throw new Error(`Cannot build jvm/flink-bench (mvn exited ${r.status}):\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n')}`);
}

async function java(args: string[], timeoutMs: number): Promise<string> {
  const cp = `${join(FLINK_LIB, '*')}:${BENCH_JAR}`;
  const r = await execa(process.env.JAVA ?? 'java', [...JAVA_OPTS, '-cp', cp, 'dev.flinkts.bench.FlinkBench', ...args], { reject: false, timeout: timeoutMs });
  if (r.exitCode !== 0) throw new Error(`FlinkBench ${args.join(' ')} exited ${r.exitCode ?? r.signal}:\n${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-20).join('\n')}`);
  return r.stdout;
}

function line(stdout: string, prefix: string): string {
  const l = stdout.split('\n').find((x) => x.startsWith(`${prefix} `));
  if (!l) throw new Error(`FlinkBench printed no ${prefix} line:\n${stdout.slice(-2000)}`);
  return l.slice(prefix.length + 1);
}

/** The Java generator's checksums of the first n records (compare with generatorChecksums). */
export async function flinkGeneratorChecksums(n: number, keys: number): Promise<GeneratorChecksums> {
  return JSON.parse(line(await java(['--checksum', String(n), '--keys', String(keys)], 120_000), 'FLINK_BENCH_CHECKSUM')) as GeneratorChecksums;
}

export interface FlinkJob {
  job: 'keyed' | 'q1' | 'q2';
  records: number;
  keys?: number;
  p: number;
  checkpointMs: number;
  backend: FlinkBackend;
  /** execution.checkpointing.incremental (RocksDB only). */
  incremental?: boolean;
  /** pipeline.object-reuse (Flink's default is off: records are copied between chained operators). */
  objectReuse?: boolean;
}

/** Runs one configuration in a fresh JVM and MiniCluster; its work folder is removed afterwards. */
export async function runFlinkJob(j: FlinkJob): Promise<FlinkRun> {
  const dir = mkdtempSync(join(tmpdir(), 'flink-ts-bench-flink-'));
  try {
    const out = await java([
      '--job', j.job, '--records', String(j.records), '--keys', String(j.keys ?? 1_000_000), '--parallelism', String(j.p),
      '--checkpoint-ms', String(j.checkpointMs), '--backend', j.backend, '--dir', dir, ...(j.incremental ? ['--incremental'] : []), ...(j.objectReuse ? ['--object-reuse'] : []),
    ], 30 * 60_000);
    const run = JSON.parse(line(out, 'FLINK_BENCH')) as FlinkRun;
    if (run.sinks.length === 0) throw new Error(`FlinkBench ${j.job}: no sink reported`);
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
