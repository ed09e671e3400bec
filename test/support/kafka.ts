/**
 * A real Apache Kafka broker for tests, examples and benchmarks: KRaft mode, one process that is broker and
 * controller, on free loopback ports, with its log directories in a temporary folder. The jars come from
 * Maven Central through jvm/pom.xml (copied once into jvm/.cache/kafka/lib, reused afterwards).
 *
 *   const kafka = await startKafka();   // formats the storage, starts, waits until it serves metadata
 *   kafka.bootstrapServers              // '127.0.0.1:<port>'
 *   await kafka.stop();                 // SIGTERM to its process group, SIGKILL after a grace period
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JVM_CACHE, JVM_DIR, freePort, javaMissing, stopProcessGroup, waitUntil } from './services.js';

const KAFKA_LIB = join(JVM_CACHE, 'kafka', 'lib');

function kafkaJarsPresent(): boolean {
  return existsSync(KAFKA_LIB) && readdirSync(KAFKA_LIB).some((f) => /^kafka_2\.13-.*\.jar$/.test(f));
}

/**
 * Fetches the broker's jars with Maven unless they are already in the cache folder. Throws with Maven's
 * last lines when it fails (no Maven, Maven Central unreachable).
 */
export function ensureKafkaJars(log: (line: string) => void = () => {}): void {
  if (kafkaJarsPresent()) return;
  log(`Fetching Apache Kafka from Maven Central into ${KAFKA_LIB} (once) ...`);
  const t0 = Date.now();
  const r = spawnSync(process.env.MVN ?? 'mvn', ['-B', '-q', '-f', join(JVM_DIR, 'pom.xml'), '-pl', 'kafka', '-am', `-Djvm.cache=${JVM_CACHE}`, 'package'], { encoding: 'utf8' });
  if (r.error) throw new Error(`Cannot fetch Kafka's jars: mvn is not available (${r.error.message})`);
  if (r.status !== 0 || !kafkaJarsPresent()) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`Cannot fetch Kafka's jars (mvn exited ${r.status}):\n${tail}`);
  }
  log(`Fetched Kafka's jars in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export interface KafkaBroker {
  readonly bootstrapServers: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;
  readonly pid: number;
  /** The broker's own log (stdout and stderr). */
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** Working directory (log dirs, config, broker log); a new temporary one by default, removed on stop. */
  dir?: string;
  /** Extra server.properties entries. */
  properties?: Record<string, string>;
  /** Upper bound for formatting + start-up; generous, a loaded 2-core machine needs 20-40 s. */
  timeoutMs?: number;
  /** Keep the process running after this Node process exits (npm run kafka -- start). */
  detached?: boolean;
  log?: (line: string) => void;
}

/** A base-64 UUID in Kafka's cluster-id form (16 random bytes, URL-safe, no padding). */
function clusterId(): string {
  return randomBytes(16).toString('base64url');
}

function classpath(): string {
  return join(KAFKA_LIB, '*');
}

function javaArgs(dir: string): string[] {
  return [
    '-Xms128m', '-Xmx512m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
    '-cp', classpath(),
  ];
}

/** The broker's configuration: combined roles, loopback listeners, replication factor 1 for every internal topic. */
export function serverProperties(dir: string, port: number, controllerPort: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'num.partitions': '1',
    // One broker: every internal topic has one replica (the defaults of 3 would leave them unavailable).
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '4',
    // Transactions (the exactly-once sink) need the transaction state log to be creatable on one broker.
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '4',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // Tests join groups right after start: no 3 s wait for more members.
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    ...extra,
  };
}

const LOG4J2 = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
`;

/** Runs a Java main from the broker's classpath to its end (StorageTool). */
function runJava(dir: string, main: string, args: string[], timeoutMs: number): { status: number | null; out: string } {
  const r = spawnSync(process.env.JAVA ?? 'java', [...javaArgs(dir), main, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/** Start-up attempts when the broker could not bind its free ports (see startKafka). */
const BIND_ATTEMPTS = 3;

/**
 * Formats the storage and starts the broker; resolves when a client can connect and the broker logs it has started.
 * The ports are free when chosen, but another process (a Flink cluster starting beside it binds ephemeral ports)
 * may take one before the JVM binds it: then the broker exits with a BindException, and it starts again on new ports.
 */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startKafkaOnce(opts);
    } catch (e) {
      if (attempt >= BIND_ATTEMPTS || !(e instanceof Error && /BindException|Address already in use/.test(e.message))) throw e;
      opts.log?.(`Kafka could not bind its ports (attempt ${attempt} of ${BIND_ATTEMPTS}): starting again on new ones`);
      if (opts.dir) rmSync(join(opts.dir, 'data'), { recursive: true, force: true }); // formatted again
    }
  }
}

async function startKafkaOnce(opts: StartKafkaOptions): Promise<KafkaBroker> {
  const log = opts.log ?? (() => {});
  const missing = javaMissing();
  if (missing) throw new Error(`Cannot start Kafka: ${missing}`);
  ensureKafkaJars(log);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'flink-ts-kafka-'));
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'log4j2.properties'), LOG4J2);
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const props = serverProperties(dir, port, controllerPort, opts.properties);
  const propsFile = join(dir, 'server.properties');
  writeFileSync(propsFile, Object.entries(props).map(([k, v]) => `${k}=${v}\n`).join(''));

  const t0 = Date.now();
  // `--cluster-id=<id>`: an id may start with '-' (URL-safe base 64), which as a separate argument parses as an option.
  const fmt = runJava(dir, 'kafka.tools.StorageTool', ['format', '--standalone', `--cluster-id=${clusterId()}`, '-c', propsFile], timeoutMs);
  if (fmt.status !== 0) throw new Error(`Cannot format Kafka's storage in ${dir} (exit ${fmt.status}): ${fmt.out.trim().split('\n').slice(-5).join(' | ')}`);
  log(`Formatted KRaft storage in ${Date.now() - t0} ms`);

  const logFile = join(dir, 'broker.log');
  const fd = openSync(logFile, 'a');
  // Its own process group: stop() signals the group, so nothing the JVM may start outlives it.
  const child: ChildProcess = spawn(process.env.JAVA ?? 'java', [...javaArgs(dir), 'kafka.Kafka', propsFile], {
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  if (opts.detached) child.unref();
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });

  const stop = async (): Promise<void> => {
    await stopProcessGroup(child.pid!, () => exited !== undefined);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  const cleanupOnExit = () => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } };
  if (!opts.detached) process.once('exit', cleanupOnExit);

  try {
    await waitUntil(deadline, async () => {
      if (exited !== undefined) throw new Error(`Kafka exited with code ${exited} during start-up:\n${bindError(logFile)}${tail(logFile)}`);
      return readFileSync(logFile, 'utf8').includes('Kafka Server started') && (await canConnect(port));
    }, () => `Kafka did not start within ${timeoutMs} ms:\n${tail(logFile)}`);
  } catch (e) {
    await stop();
    throw e;
  }
  log(`Kafka ${kafkaVersion()} started on 127.0.0.1:${port} in ${Date.now() - t0} ms (pid ${child.pid}, dir ${dir})`);
  return {
    bootstrapServers: `127.0.0.1:${port}`,
    port,
    controllerPort,
    dir,
    pid: child.pid!,
    logFile,
    stop: async () => {
      process.removeListener('exit', cleanupOnExit);
      await stop();
    },
  };
}

export function kafkaVersion(): string {
  const jar = existsSync(KAFKA_LIB) ? readdirSync(KAFKA_LIB).find((f) => /^kafka_2\.13-.*\.jar$/.test(f)) : undefined;
  return jar?.replace(/^kafka_2\.13-(.*)\.jar$/, '$1') ?? 'unknown';
}

/** The log's first BindException line, if any (the tail may show only its stack). */
function bindError(file: string): string {
  try {
    const line = readFileSync(file, 'utf8').split('\n').find((l) => /BindException|Address already in use/.test(l));
    return line ? `${line.trim()}\n` : '';
  } catch {
    return '';
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(2000);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

/** Why Kafka cannot start here (no Java, no jars and no Maven), or undefined. */
export function kafkaUnavailable(): string | undefined {
  const j = javaMissing();
  if (j) return j;
  if (kafkaJarsPresent()) return undefined;
  const m = spawnSync(process.env.MVN ?? 'mvn', ['-v'], { encoding: 'utf8' });
  if (m.error || m.status !== 0) return `Kafka's jars are not in ${KAFKA_LIB} and Maven is not available to fetch them (run .ci/run or install Maven)`;
  return undefined;
}
