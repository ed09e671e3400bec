/**
 * Which Kafka client (issue 12): each candidate produces N records to a fresh topic on a real broker (plain,
 * then inside one transaction per batch of BATCH), then consumes them back (read_committed). Prints records/s.
 *
 *   npm run bench:kafka-clients [-- --records 200000]   (starts its own broker; or KAFKA_BOOTSTRAP=host:port)
 */
import { Admin, Consumer, Producer, stringSerializers, stringDeserializers } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { startKafka, type KafkaBroker } from '../test/support/kafka.js';
import { readTopic } from '../test/support/kafka-data.js';

const argv = process.argv.slice(2);
const N = Number(argv[argv.indexOf('--records') + 1]) || 200_000;
const BATCH = 1000;
const VALUE = 'x'.repeat(90);

interface Result { client: string; scenario: string; records: number; seconds: number; perSecond: number; note?: string }
const results: Result[] = [];
function record(client: string, scenario: string, records: number, t0: number, note?: string): void {
  const seconds = (performance.now() - t0) / 1000;
  results.push({ client, scenario, records, seconds: +seconds.toFixed(2), perSecond: Math.round(records / seconds), note });
  console.log(`${client.padEnd(20)} ${scenario.padEnd(24)} ${records} records in ${seconds.toFixed(2)} s = ${Math.round(records / seconds)}/s${note ? ` (${note})` : ''}`);
}

async function withTimeout<T>(what: string, p: Promise<T>, ms = 120_000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(t);
  }
}

async function platformatic(bootstrap: string): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: [bootstrap] });
  const plain = `pf-plain-${Date.now()}`;
  const txn = `pf-txn-${Date.now()}`;
  await admin.createTopics({ topics: [plain, txn], partitions: 4, replicas: 1 });
  await admin.close();

  const producer = new Producer({ clientId: 'bench-p', bootstrapBrokers: [bootstrap], serializers: stringSerializers });
  let t0 = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += BATCH) {
    const messages = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) messages.push({ topic: plain, key: String(j), value: VALUE });
    inflight.push(producer.send({ messages }));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  record('@platformatic/kafka', 'produce', N, t0);
  await producer.close();

  const tp = new Producer({ clientId: 'bench-tp', bootstrapBrokers: [bootstrap], serializers: stringSerializers, idempotent: true, transactionalId: `bench-${Date.now()}` });
  t0 = performance.now();
  for (let i = 0; i < N; i += BATCH * 10) {
    const tx = await tp.beginTransaction();
    // One send at a time: concurrent sends of an idempotent producer can reach the broker out of sequence.
    for (let k = i; k < Math.min(N, i + BATCH * 10); k += BATCH) {
      const messages = [];
      for (let j = k; j < Math.min(N, k + BATCH); j++) messages.push({ topic: txn, key: String(j), value: VALUE });
      await tx.send({ messages });
    }
    await tx.commit();
  }
  record('@platformatic/kafka', 'produce transactional', N, t0, `a transaction per ${BATCH * 10} records`);
  await tp.close();

  // The KafkaSource's own path: raw Fetch batches decoded by its reader (what a flink-ts job uses).
  for (const [topic, label] of [[plain, 'consume'], [txn, 'consume read_committed']] as const) {
    t0 = performance.now();
    const n = (await readTopic(bootstrap, topic, label === 'consume' ? 'read_uncommitted' : 'read_committed')).length;
    record('flink-ts KafkaSource', label, n, t0, 'raw Fetch on @platformatic/kafka');
  }

  for (const [topic, label] of [[plain, 'consume'], [txn, 'consume read_committed']] as const) {
    const consumer = new Consumer({ clientId: 'bench-c', groupId: `bench-${topic}`, bootstrapBrokers: [bootstrap], deserializers: stringDeserializers, isolationLevel: 1 });
    t0 = performance.now();
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 });
    let n = 0;
    await withTimeout(`platformatic ${label}`, new Promise<void>((resolve) => {
      stream.on('data', () => { if (++n === N) resolve(); });
    }));
    record('@platformatic/kafka', label, n, t0);
    await stream.close();
    await consumer.close(true);
  }
}

async function kafkaJs(bootstrap: string): Promise<void> {
  const kafka = new kafkajs.Kafka({ clientId: 'bench-kjs', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const plain = `kjs-plain-${Date.now()}`;
  const txn = `kjs-txn-${Date.now()}`;
  await admin.createTopics({ topics: [{ topic: plain, numPartitions: 4 }, { topic: txn, numPartitions: 4 }] });
  await admin.disconnect();

  const producer = kafka.producer();
  await producer.connect();
  let t0 = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += BATCH) {
    const messages = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) messages.push({ key: String(j), value: VALUE });
    inflight.push(producer.send({ topic: plain, messages }));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  record('kafkajs', 'produce', N, t0);
  await producer.disconnect();

  const tp = kafka.producer({ transactionalId: `kjs-${Date.now()}`, idempotent: true, maxInFlightRequests: 1 });
  await tp.connect();
  t0 = performance.now();
  for (let i = 0; i < N; i += BATCH * 10) {
    const tx = await tp.transaction();
    for (let k = i; k < Math.min(N, i + BATCH * 10); k += BATCH) {
      const messages = [];
      for (let j = k; j < Math.min(N, k + BATCH); j++) messages.push({ key: String(j), value: VALUE });
      await tx.send({ topic: txn, messages });
    }
    await tx.commit();
  }
  record('kafkajs', 'produce transactional', N, t0, `a transaction per ${BATCH * 10} records`);
  await tp.disconnect();

  for (const [topic, label] of [[plain, 'consume'], [txn, 'consume read_committed']] as const) {
    const consumer = kafka.consumer({ groupId: `bench-${topic}`, readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    t0 = performance.now();
    let n = 0;
    await withTimeout(`kafkajs ${label}`, new Promise<void>((resolve) => {
      void consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => { n += batch.messages.length; if (n >= N) resolve(); } });
    }));
    record('kafkajs', label, n, t0);
    await consumer.disconnect();
  }
}

let broker: KafkaBroker | undefined;
try {
  const bootstrap = process.env.KAFKA_BOOTSTRAP ?? (broker = await startKafka({ log: (l) => console.log(l) })).bootstrapServers;
  for (const [name, run] of [['@platformatic/kafka', platformatic], ['kafkajs', kafkaJs]] as const) {
    try {
      await run(bootstrap);
    } catch (e) {
      const errs = (e as { errors?: Error[] }).errors?.map((x) => x.message).join('; ');
      console.log(`${name}: FAILED: ${(e as Error).message}${errs ? ` (${errs})` : ''}`);
      results.push({ client: name, scenario: 'error', records: 0, seconds: 0, perSecond: 0, note: (e as Error).message });
    }
  }
  console.log(JSON.stringify({ records: N, results }));
} finally {
  await broker?.stop();
}
