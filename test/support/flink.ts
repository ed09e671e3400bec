/**
 * A real Apache Flink session cluster for tests and `npm run flink-cluster`: Flink's MiniCluster behind a small
 * launcher (jvm/flink-cluster, dev.flinkts.cluster.SessionCluster), REST on a free loopback port, its
 * checkpoint, savepoint, upload and tmp directories in a temporary folder. The jars come from Maven Central
 * through jvm/pom.xml (copied once into jvm/.cache/flink-cluster/lib, reused afterwards); the test job
 * (jvm/flink-test-job, dev.flinkts.testjob.CountingJob) is built beside it.
 *
 *   const flink = await startFlinkCluster();   // resolves once REST answers /overview
 *   flink.address                               // '127.0.0.1:<port>' (for -m), flink.rest = 'http://…'
 *   await flinkCli(['list', '-m', flink.address]);   // Flink's own CLI (CliFrontend) from the same jars
 *   await flink.stop();                         // SIGTERM, SIGKILL after a grace period; the folder removed
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JVM_CACHE, JVM_DIR, javaMissing, serviceSkipReason, stopProcessGroup, waitUntil } from './services.js';

export const FLINK_VERSION = '2.2.1';
const CLUSTER_DIR = join(JVM_CACHE, 'flink-cluster');
const FLINK_LIB = join(CLUSTER_DIR, 'lib');
const LAUNCHER_JAR = join(CLUSTER_DIR, 'flink-cluster-launcher.jar');
/** The test job: see jvm/flink-test-job/src/main/java/dev/flinkts/testjob/CountingJob.java for its arguments. */
export const TEST_JOB_JAR = join(JVM_CACHE, 'flink-test-job', 'flink-test-job.jar');

/** Flink's Java 17 module flags (the env.java.opts.all of Flink's shipped config.yaml). */
export const JAVA17_FLAGS: readonly string[] = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  ...['api', 'file', 'parser', 'tree', 'util'].map((p) => `--add-exports=jdk.compiler/com.sun.tools.javac.${p}=ALL-UNNAMED`),
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  ...['java.lang', 'java.net', 'java.io', 'java.nio', 'sun.nio.ch', 'java.lang.reflect', 'java.text', 'java.time', 'java.util',
    'java.util.concurrent', 'java.util.concurrent.atomic', 'java.util.concurrent.locks'].map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`),
];

const LOG4J2 = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.netty.name = org.apache.flink.shaded
logger.netty.level = WARN
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
# The real CLI warns that the YARN CLI and the plugins folder are missing: neither is part of this cluster.
logger.cli.name = org.apache.flink.client.cli.CliFrontend
logger.cli.level = ERROR
logger.plugins.name = org.apache.flink.core.plugin
logger.plugins.level = ERROR
`;

/** Our two jars, each no older than its sources and pom (an edited launcher or job is rebuilt). */
const BUILT_FROM: ReadonlyArray<[string, string[]]> = [
  [LAUNCHER_JAR, ['flink-cluster/pom.xml', 'flink-cluster/src/main/java/dev/flinkts/cluster/SessionCluster.java']],
  [TEST_JOB_JAR, ['flink-test-job/pom.xml', 'flink-test-job/src/main/java/dev/flinkts/testjob/CountingJob.java']],
];

function jarsPresent(): boolean {
  const fresh = BUILT_FROM.every(([jar, sources]) => existsSync(jar)
    && sources.every((src) => !existsSync(join(JVM_DIR, src)) || statSync(join(JVM_DIR, src)).mtimeMs <= statSync(jar).mtimeMs));
  return fresh && existsSync(FLINK_LIB) && readdirSync(FLINK_LIB).some((f) => f === `flink-runtime-web-${FLINK_VERSION}.jar`);
}

/** Builds jvm/flink-cluster and jvm/flink-test-job with Maven unless they are in the cache folder already. */
export function ensureFlinkJars(log: (line: string) => void = () => {}): void {
  if (jarsPresent()) return;
  log(`Fetching Apache Flink ${FLINK_VERSION} from Maven Central into ${CLUSTER_DIR} (once) ...`);
  const t0 = Date.now();
  const r = spawnSync(process.env.MVN ?? 'mvn', ['-B', '-q', '-f', join(JVM_DIR, 'pom.xml'), '-pl', 'flink-cluster,flink-test-job', '-am', `-Djvm.cache=${JVM_CACHE}`, 'package'], { encoding: 'utf8' });
  if (r.error) throw new Error(`Cannot build the Flink cluster: mvn is not available (${r.error.message})`);
  // Maven leaves an up-to-date jar untouched: mark what it built as newer than its sources.
  const now = new Date();
  for (const [jar] of BUILT_FROM) if (r.status === 0 && existsSync(jar)) utimesSync(jar, now, now);
  if (r.status !== 0 || !jarsPresent()) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`Cannot build the Flink cluster (mvn exited ${r.status}):\n${tail}`);
  }
  log(`Fetched and built Flink's jars in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Why a Flink cluster cannot start here (no Java; no jars and no Maven), or undefined. */
export function flinkUnavailable(): string | undefined {
  const j = javaMissing();
  if (j) return j.replace('Kafka needs', 'Flink needs');
  if (jarsPresent()) return undefined;
  const m = spawnSync(process.env.MVN ?? 'mvn', ['-v'], { encoding: 'utf8' });
  if (m.error || m.status !== 0) return `Flink's jars are not in ${CLUSTER_DIR} and Maven is not available to build them (run .ci/run or install Maven)`;
  return undefined;
}

/** For `describe(…, { skip: flinkSkip() })`: throws under CI=true, else prints and returns the reason. */
export function flinkSkip(): string | undefined {
  return serviceSkipReason('Apache Flink cluster', flinkUnavailable());
}

export interface FlinkCluster {
  /** 'http://127.0.0.1:<port>' */
  readonly rest: string;
  /** '127.0.0.1:<port>', what -m/--jobmanager takes. */
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  /** The cluster's execution.checkpointing.dir and .savepoint-dir (local paths; Flink reports them as file:<path>). */
  readonly checkpointsDir: string;
  readonly savepointsDir: string;
  readonly pid: number;
  /** The JVM's log (stdout and stderr). */
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface StartFlinkOptions {
  /** Working directory (checkpoints/, savepoints/, uploads/, tmp/, cluster.log); a new temporary one by default, removed on stop. */
  dir?: string;
  /** TaskManager slots (default 4). */
  slots?: number;
  /** Fixed REST port; 0 (a free one, chosen by the cluster) by default. */
  port?: number;
  /** Extra Flink configuration (-Dkey=value for the cluster). */
  conf?: Record<string, string>;
  /** Upper bound for start-up; generous, a loaded 2-core machine needs 10-30 s. */
  timeoutMs?: number;
  /** Keep the JVM running after this Node process exits (npm run flink-cluster -- start). */
  detached?: boolean;
  log?: (line: string) => void;
}

interface ReadyLine { rest: string; port: number; pid: number; dir: string; checkpoints: string; savepoints: string }

function javaArgs(dir: string, heap = '768m'): string[] {
  return [
    '-Xms128m', `-Xmx${heap}`, '-XX:+UseG1GC', '-Djava.awt.headless=true', ...JAVA17_FLAGS,
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
    '-cp', `${LAUNCHER_JAR}:${join(FLINK_LIB, '*')}`,
  ];
}

/** Starts a session cluster; resolves when it printed its REST address and /overview answers. */
export async function startFlinkCluster(opts: StartFlinkOptions = {}): Promise<FlinkCluster> {
  const log = opts.log ?? (() => {});
  const missing = javaMissing();
  if (missing) throw new Error(`Cannot start Flink: ${missing}`);
  ensureFlinkJars(log);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'flink-ts-flink-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J2);
  const logFile = join(dir, 'cluster.log');
  const fd = openSync(logFile, 'a');
  const args = [
    ...javaArgs(dir), 'dev.flinkts.cluster.SessionCluster', '--dir', dir, '--slots', String(opts.slots ?? 4), '--port', String(opts.port ?? 0),
    // Attached: the JVM exits when our end of its stdin closes, so a crashed test never leaks a cluster.
    ...(opts.detached ? [] : ['--watch-stdin']),
    ...Object.entries(opts.conf ?? {}).map(([k, v]) => `-D${k}=${v}`),
  ];
  const t0 = Date.now();
  // Its own process group: stop() signals the group.
  const child: ChildProcess = spawn(process.env.JAVA ?? 'java', args, { stdio: [opts.detached ? 'ignore' : 'pipe', fd, fd], detached: true });
  closeSync(fd);
  if (opts.detached) child.unref();
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.stdin?.on('error', () => { /* the JVM is gone */ });

  const stop = async (): Promise<void> => {
    child.stdin?.end();
    await stopProcessGroup(child.pid!, () => exited !== undefined);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  const cleanupOnExit = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
  if (!opts.detached) process.once('exit', cleanupOnExit);

  let ready: ReadyLine | undefined;
  try {
    await waitUntil(deadline, async () => {
      if (exited !== undefined) throw new Error(`Flink exited with code ${exited} during start-up:\n${tail(logFile)}`);
      const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.startsWith('FLINK_TS_CLUSTER '));
      if (!line) return false;
      ready = JSON.parse(line.slice('FLINK_TS_CLUSTER '.length)) as ReadyLine;
      try {
        const r = await fetch(`${ready.rest}/overview`, { signal: AbortSignal.timeout(5000) });
        return r.ok;
      } catch {
        return false;
      }
    }, () => `Flink did not start within ${timeoutMs} ms:\n${tail(logFile)}`);
  } catch (e) {
    await stop();
    throw e;
  }
  const r = ready!;
  log(`Flink ${FLINK_VERSION} session cluster started at ${r.rest} in ${Date.now() - t0} ms (pid ${child.pid}, dir ${dir})`);
  return {
    rest: r.rest,
    address: `127.0.0.1:${r.port}`,
    port: r.port,
    dir,
    checkpointsDir: r.checkpoints,
    savepointsDir: r.savepoints,
    pid: child.pid!,
    logFile,
    stop: async () => {
      process.removeListener('exit', cleanupOnExit);
      await stop();
    },
  };
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

export interface FlinkCliOptions {
  /** Entries of the CLI's config.yaml (flat keys), e.g. { 'rest.address': '127.0.0.1', 'rest.port': '8081' }. */
  conf?: Record<string, string>;
  timeoutMs?: number;
  cwd?: string;
}

/**
 * Runs Apache Flink's own CLI (org.apache.flink.client.cli.CliFrontend, what bin/flink runs) from the cluster's
 * jars, with FLINK_CONF_DIR at a temporary folder holding a config.yaml of `conf`. The reference for option
 * parsing, output lines and exit codes.
 */
export async function flinkCli(args: string[], opts: FlinkCliOptions = {}): Promise<CliResult> {
  ensureFlinkJars();
  const confDir = mkdtempSync(join(tmpdir(), 'flink-ts-flink-cli-'));
  try {
    writeFileSync(join(confDir, 'log4j2.properties'), LOG4J2.replace('rootLogger.level = INFO', 'rootLogger.level = WARN').replace('Console', 'Console\nappender.out.target = SYSTEM_ERR'));
    writeFileSync(join(confDir, 'config.yaml'), Object.entries(opts.conf ?? {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join(''));
    const child = spawn(process.env.JAVA ?? 'java', [...javaArgs(confDir, '256m'), 'org.apache.flink.client.cli.CliFrontend', ...args], {
      cwd: opts.cwd,
      env: { ...process.env, FLINK_CONF_DIR: confDir, FLINK_LIB_DIR: FLINK_LIB },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    return { code, stdout, stderr };
  } finally {
    rmSync(confDir, { recursive: true, force: true });
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** What the test job's output file says; see CountingJob: the line for element i is "i,i%keys,floor(i/keys)+1". */
export interface CountingOutput {
  /** Distinct elements seen, and the highest one. */
  readonly distinct: number;
  readonly max: number;
  /** Lines written twice (after a restore, what came after the savepoint); each identical to its first. */
  readonly duplicates: number;
  /** Elements the restored run wrote that had been written before, as seen in order. */
  readonly lines: readonly string[];
}

/**
 * Checks that the test job's output "continues exactly": elements 0..max all present, each line the one the
 * job's formula gives (a lost or reset count gives a different line), a repeated element only as the same line.
 * Throws with the first offending line. `withoutCount` lines (from --without-count) carry "-" as the count.
 */
export function checkCountingOutput(text: string, keys = 4): CountingOutput {
  const lines = text.split('\n').filter((l) => l !== '');
  const seen = new Map<number, string>();
  let duplicates = 0;
  for (const line of lines) {
    const [iS, keyS, countS] = line.split(',');
    const i = Number(iS);
    if (!Number.isInteger(i) || Number(keyS) !== i % keys) throw new Error(`malformed line '${line}'`);
    if (countS !== '-' && Number(countS) !== Math.floor(i / keys) + 1) throw new Error(`element ${i}: count ${countS}, expected ${Math.floor(i / keys) + 1} (state lost or reset): '${line}'`);
    const prior = seen.get(i);
    if (prior !== undefined) {
      if (prior !== line && countS !== '-' && prior.split(',')[2] !== '-') throw new Error(`element ${i} written twice, differently: '${prior}' then '${line}'`);
      duplicates++;
    } else seen.set(i, line);
  }
  let max = -1;
  for (const i of seen.keys()) if (i > max) max = i;
  for (let i = 0; i <= max; i++) if (!seen.has(i)) throw new Error(`element ${i} missing (output has ${seen.size} distinct elements up to ${max})`);
  return { distinct: seen.size, max, duplicates, lines };
}
