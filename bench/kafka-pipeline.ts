/**
 * Kafka → keyed running sum (1M keys) → Kafka on a real broker (issue 12), with checkpoints every second:
 * EXACTLY_ONCE and AT_LEAST_ONCE at p=1 and p=2, each through the CLI (`flink run`, attached, bounded at the
 * input's end), as a ratio to the limit: a hand loop doing the same parse and running sum with the connector's
 * own read path and the sink's producer settings on one thread (handLoop), against the same broker in the same
 * run; and beside it the client's plain consume → produce loop (MessagesStream, the library's convenience path).
 *
 * Throughput is measured on the output, identically for the loop and the jobs: records written divided by
 * the span of their Kafka timestamps (set by the producer at send), so JVM-free process start-up, the client
 * import and the broker round trips of job start-up are not counted, only the steady pipeline.
 *
 *   npm run bench:kafka-pipeline [-- --quick] [-- --records 2000000]   (own broker; or KAFKA_BOOTSTRAP=host:port)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { startKafka, type KafkaBroker } from '../test/support/kafka.js';
import { ROOT } from '../test/support/services.js';
import { KafkaSource } from '../src/connectors/kafka/KafkaSource.js';
import { OffsetsInitializer } from '../src/connectors/kafka/OffsetsInitializer.js';
import { SimpleStringSchema } from '../src/connectors/kafka/serialization.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const at = argv.indexOf('--records');
const N = at >= 0 ? Number(argv[at + 1]) : quick ? 300_000 : 2_000_000;
const KEYS = 1_000_000;
const PARTITIONS = 4;
const work = mkdtempSync(join(tmpdir(), 'flink-ts-kafka-bench-'));

interface Result { run: string; records: number; seconds: number; perSecond: number; ratio?: number; ratioToPlain?: number; wallSeconds?: number }
const results: Result[] = [];
/** The machine is shared and loaded: patient clients (a 5 s connect timeout failed a run). */
const patient = { connectTimeout: 30_000, timeout: 60_000, retries: 10, retryDelay: 500 };

async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: [bootstrap], ...patient });
  try {
    await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** N records "k<key>,<amount>" over KEYS keys (deterministic), keyed by the key. */
async function fillInput(bootstrap: string, topic: string): Promise<void> {
  const p = new Producer({ clientId: 'bench-fill', bootstrapBrokers: [bootstrap], serializers: stringSerializers, ...patient });
  let x = 7;
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += 1000) {
    const messages = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const key = `k${x % KEYS}`;
      messages.push({ topic, key, value: `${key},${(j % 10) + 1}` });
    }
    const sent = p.send({ messages });
    sent.catch(() => {}); // awaited below; never an unhandled rejection that skips the broker's stop
    inflight.push(sent);
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  await p.close();
}

/** Count and timestamp span of what `topic` holds (read_committed), through the KafkaSource's reader. */
async function measureOutput(bootstrap: string, topic: string): Promise<{ records: number; seconds: number }> {
  const source = KafkaSource.builder<string>().setBootstrapServers(bootstrap).setTopics(topic)
    .setStartingOffsets(OffsetsInitializer.earliest()).setBounded(OffsetsInitializer.latest())
    .setValueOnlyDeserializer(new SimpleStringSchema()).setProperty('isolation.level', 'read_committed')
    .setProperty('request.timeout.ms', '60000').build();
  const reader = source.createReader({ subtask: 0, parallelism: 1 });
  reader.addSplits(source.initialSplits(1));
  let n = 0;
  let lo = Infinity;
  let hi = -Infinity;
  try {
    for (;;) {
      const r = reader.pollNext((_v, ts) => {
        n++;
        if (ts! < lo) lo = ts!;
        if (ts! > hi) hi = ts!;
      }, 50_000);
      if (r === 'end') break;
      if (r > 0) await new Promise((res) => setTimeout(res, r));
    }
  } finally {
    reader.close?.();
  }
  return { records: n, seconds: Math.max(0.001, (hi - lo) / 1000) };
}

function record(run: string, m: { records: number; seconds: number }, wallSeconds?: number): Result {
  const r: Result = { run, records: m.records, seconds: +m.seconds.toFixed(2), perSecond: Math.round(m.records / m.seconds), wallSeconds };
  results.push(r);
  return r;
}

/** The limit: the client's own consume → produce loop, no state, no checkpoints. */
async function plainLoop(bootstrap: string, input: string): Promise<Result> {
  const output = `loop-out-${Date.now()}`;
  await createTopic(bootstrap, output);
  const consumer = new Consumer({ clientId: 'bench-loop-c', groupId: `bench-loop-${Date.now()}`, bootstrapBrokers: [bootstrap], deserializers: stringDeserializers, ...patient });
  const producer = new Producer({ clientId: 'bench-loop-p', bootstrapBrokers: [bootstrap], serializers: stringSerializers, ...patient });
  const t0 = performance.now();
  const stream = await consumer.consume({ topics: [input], mode: 'earliest', autocommit: false, maxWaitTime: 200 });
  let seen = 0;
  let batch: { topic: string; key: string; value: string }[] = [];
  const inflight: Promise<unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('data', (m: { key: string; value: string }) => {
      batch.push({ topic: output, key: m.key, value: m.value });
      seen++;
      if (batch.length >= 1000 || seen === N) {
        const sent = producer.send({ messages: batch });
        sent.catch(reject);
        inflight.push(sent);
        batch = [];
        if (inflight.length >= 8) {
          stream.pause();
          void inflight.shift()!.then(() => stream.resume(), () => {});
        }
      }
      if (seen === N) resolve();
    });
  });
  await Promise.all(inflight);
  const wall = (performance.now() - t0) / 1000;
  await stream.close();
  await consumer.close(true);
  await producer.close();
  return record('plain consume → produce loop (@platformatic/kafka)', await measureOutput(bootstrap, output), +wall.toFixed(1));
}

/**
 * The limit: the same computation with the connector's own read path (KafkaSourceReader: raw Fetch responses,
 * decoded per batch) and the sink's producer settings (Buffers, idempotent, acks=all, batches of 2000 sent in
 * order), on one thread: parse, running sum in one Map, produce. No workers, exchange, state backend or
 * checkpoints, so the engine at p=1 cannot beat it; at p=2 it may, with a second core.
 */
async function handLoop(bootstrap: string, input: string): Promise<Result> {
  const output = `hand-out-${Date.now()}`;
  await createTopic(bootstrap, output);
  const source = KafkaSource.builder<string>()
    .setBootstrapServers(bootstrap).setTopics(input)
    .setStartingOffsets(OffsetsInitializer.earliest()).setBounded(OffsetsInitializer.latest())
    .setValueOnlyDeserializer(new SimpleStringSchema()).build();
  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
    clientId: 'bench-hand-p', bootstrapBrokers: [bootstrap], idempotent: true, acks: -1, ...patient,
  });
  const reader = source.createReader({ subtask: 0, parallelism: 1 });
  reader.addSplits(source.initialSplits(1));
  const sums = new Map<string, number>();
  let batch: { topic: string; key: Buffer; value: Buffer }[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  let inFlight = 0;
  const t0 = performance.now();
  const emit = (line: string) => {
    const comma = line.indexOf(',');
    const k = line.slice(0, comma);
    const sum = (sums.get(k) ?? 0) + Number(line.slice(comma + 1));
    sums.set(k, sum);
    batch.push({ topic: output, key: Buffer.from(k), value: Buffer.from(`${k},${sum}`) });
  };
  const flush = () => {
    if (batch.length === 0) return;
    const messages = batch;
    batch = [];
    inFlight += messages.length;
    chain = chain.then(() => producer.send({ messages })).then(() => { inFlight -= messages.length; });
  };
  for (;;) {
    const r = reader.pollNext(emit, 1024);
    if (batch.length >= 2000) flush();
    while (inFlight >= 20_000) await chain; // the sink's bound on unacknowledged records
    if (r === 'end') break;
    if (r > 0) await new Promise((res) => setTimeout(res, r));
    else await new Promise((res) => setImmediate(res));
  }
  flush();
  await chain;
  const wall = (performance.now() - t0) / 1000;
  reader.close?.();
  await producer.close();
  const m = await measureOutput(bootstrap, output);
  if (m.records < N) throw new Error(`hand loop: ${m.records} output records for ${N} input records`);
  return record('hand loop (same read path and producer, one Map)', m, +wall.toFixed(1));
}

async function job(bootstrap: string, input: string, guarantee: string, p: number, limit: number): Promise<Result> {
  const output = `job-out-${guarantee}-${p}-${Date.now()}`;
  await createTopic(bootstrap, output);
  const conf = join(work, `conf-${output}`);
  mkdirSync(conf);
  writeFileSync(join(conf, 'flink-conf.yaml'), [
    `state.checkpoints.dir: ${join(work, 'checkpoints')}`,
    `state.savepoints.dir: ${join(work, 'savepoints')}`,
    `env.log.dir: ${join(work, 'log')}`,
    `index.path: ${join(work, 'index.sqlite')}`,
    'rest.bind-address: 127.0.0.1',
    'state.checkpoints.num-retained: 1',
    'execution.checkpointing.interval: 1s',
    'taskmanager.numberOfTaskSlots: 4',
    'restart-strategy.type: none',
  ].join('\n') + '\n');
  const t0 = performance.now();
  await execa('node', ['bin/flink.js', 'run', '-p', String(p), join('bench', 'jobs', 'KafkaKeyedSum.ts'),
    '--bootstrap', bootstrap, '--input', input, '--output', output, '--guarantee', guarantee, '--prefix', output],
  { cwd: ROOT, env: { FLINK_CONF_DIR: conf, NO_COLOR: '1' }, stdout: 'ignore', stderr: 'pipe' });
  const wall = (performance.now() - t0) / 1000;
  const m = await measureOutput(bootstrap, output);
  if (m.records < N) throw new Error(`${guarantee} p=${p}: ${m.records} output records for ${N} input records`);
  const r = record(`${guarantee} p=${p}`, m, +wall.toFixed(1));
  r.ratio = +(r.perSecond / limit).toFixed(2);
  return r;
}

let broker: KafkaBroker | undefined;
process.on('unhandledRejection', (e) => {
  console.error(`unhandled: ${(e as Error).message}`);
  process.exitCode = 1;
});
try {
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`# ${N} records over ${KEYS} keys, ${PARTITIONS} partitions, ${cpus().length} cores, load ${load()}${quick ? ' (--quick)' : ''}`);
  const bootstrap = process.env.KAFKA_BOOTSTRAP ?? (broker = await startKafka({ timeoutMs: 240_000 })).bootstrapServers;
  const input = `bench-in-${Date.now()}`;
  await createTopic(bootstrap, input);
  await fillInput(bootstrap, input);
  const plain = (await plainLoop(bootstrap, input)).perSecond;
  const limit = (await handLoop(bootstrap, input)).perSecond;
  for (const guarantee of ['EXACTLY_ONCE', 'AT_LEAST_ONCE']) {
    for (const p of [1, 2]) await job(bootstrap, input, guarantee, p, limit);
  }
  // The limit again at the end: the machine is shared, its load changes during the run.
  const limitAfter = (await handLoop(bootstrap, input)).perSecond;
  for (const r of results) if (r.ratio !== undefined) r.ratioToPlain = +(r.perSecond / plain).toFixed(2);
  for (const r of results) console.log(`${r.run.padEnd(52)} ${String(r.records).padStart(8)} records  ${String(r.perSecond).padStart(7)}/s${r.ratio !== undefined ? `  ${r.ratio}x limit, ${r.ratioToPlain}x plain loop` : ''}${r.wallSeconds !== undefined ? `  (wall ${r.wallSeconds} s)` : ''}`);
  console.log(`# limit (hand loop) before ${limit}/s, after ${limitAfter}/s; plain loop ${plain}/s; load at the end ${load()}`);
  console.log(JSON.stringify({ records: N, keys: KEYS, partitions: PARTITIONS, quick, loadEnd: loadavg(), results }));
} finally {
  await broker?.stop();
  rmSync(work, { recursive: true, force: true });
}
